import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { buildOpenApi } from '#api/openapi.ts';
import { routes } from '#api/routes.ts';
import { EVENTS_DIR, sampleEventText } from './sample-events.ts';

/**
 * `npm run openapi`: writes the OpenAPI document (`openapi.json`) and the TypeScript types a
 * frontend uses with openapi-fetch (`lib/client/api.d.ts`), both generated from the code, and
 * the sample events (`test/events/`) made from the route table. A test fails when any differs
 * from what the code generates.
 */
const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** The document as committed. */
export function openApiText(): string {
  const { version } = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { version: string };
  return `${JSON.stringify(buildOpenApi(version), null, 2)}\n`;
}

/** The client types as committed. */
export async function clientTypesText(document: string): Promise<string> {
  const ast = await openapiTS(JSON.parse(document));
  return `${astToString(ast)}`;
}

export const OPENAPI_FILE = root('openapi.json');
export const CLIENT_TYPES_FILE = root('lib/client/api.d.ts');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const document = openApiText();
  writeFileSync(OPENAPI_FILE, document);
  writeFileSync(CLIENT_TYPES_FILE, await clientTypesText(document));
  for (const route of routes) {
    writeFileSync(`${EVENTS_DIR}${route.handler}.json`, sampleEventText(route));
  }
  console.log('wrote openapi.json, lib/client/api.d.ts and test/events/*.json');
}
