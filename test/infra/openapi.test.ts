import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { routes } from '#api/routes.ts';
import {
  CLIENT_TYPES_FILE,
  clientTypesText,
  OPENAPI_FILE,
  openApiText,
} from '../../infra/generate-openapi.ts';

const REGENERATE = 'it is out of date with the code: run `npm run openapi` and commit the result';

describe('the OpenAPI document', () => {
  it('is what the code generates (openapi.json and lib/client/api.d.ts)', async () => {
    const generated = openApiText();

    expect(readFileSync(OPENAPI_FILE, 'utf8'), `openapi.json: ${REGENERATE}`).toBe(generated);
    expect(readFileSync(CLIENT_TYPES_FILE, 'utf8'), `lib/client/api.d.ts: ${REGENERATE}`).toBe(
      await clientTypesText(generated),
    );
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(JSON.parse(openApiText()));

    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes every route in the route table, with its method and auth, and nothing else', () => {
    const document = JSON.parse(openApiText());

    for (const route of routes) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation.security, route.handler).toEqual(route.auth ? [{ bearer: [] }] : []);
      expect(Object.keys(operation.responses), route.handler).toContain(route.auth ? '401' : '200');
    }
    const operations = Object.values(document.paths).flatMap((p) => Object.keys(p as object));
    expect(operations).toHaveLength(routes.length);
  });
});
