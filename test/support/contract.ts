import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { routes } from '#api/routes.ts';

/**
 * Checks responses against the committed OpenAPI document: the status must be one the
 * operation declares, the headers it names must be there, and the body (or each server-sent
 * event) must match its schema. Every integration test's calls go through it, so a response
 * that drifts from the contract fails a test.
 */
const document = JSON.parse(
  readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8'),
) as { paths: Record<string, Record<string, Operation>> };

interface Operation {
  responses: Record<
    string,
    {
      headers?: Record<string, unknown>;
      content?: Record<string, { schema?: unknown; 'x-item-schema'?: unknown }>;
    }
  >;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(document, 'openapi');
const compiled = new Map<string, ValidateFunction>();

const pointer = (...parts: string[]) =>
  `openapi#/${parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

function validator(ref: string): ValidateFunction {
  let validate = compiled.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    compiled.set(ref, validate);
  }
  return validate;
}

const patterns = routes.map((route) => ({
  route,
  pattern: new RegExp(`^${route.path.replace(/\{\w+\}/g, '[^/]+')}$`),
}));

/** The route a request went to, or undefined for a path the API does not have. */
function routeOf(method: string, url: string) {
  const path = new URL(url, 'http://local').pathname;
  return patterns.find(({ route, pattern }) => route.method === method && pattern.test(path))
    ?.route;
}

function fail(what: string, errors?: unknown): never {
  throw new Error(
    `Response breaks the OpenAPI contract: ${what} ${errors ? JSON.stringify(errors) : ''}`,
  );
}

/** Checks one response (a JSON body, or the events of an event stream). */
export function checkResponse(
  method: string,
  url: string,
  response: { status: number; headers: Headers },
  body: { json?: unknown; events?: { event: string; id?: string; data: unknown }[] },
) {
  const route = routeOf(method, url);
  // Paths the API does not have (a 404 from the gateway, the local extras) are not in it.
  if (!route) return;
  const status = String(response.status);
  const where = `${method} ${route.path} ${status}`;
  const declared = document.paths[route.path]?.[route.method.toLowerCase()]?.responses[status];
  if (!declared) fail(`${where} is not a status this operation declares`);
  for (const name of Object.keys(declared.headers ?? {})) {
    if (name === 'Idempotent-Replayed') {
      const value = response.headers.get(name);
      if (value !== null && value !== 'true') fail(`${where}: ${name} is "${value}"`);
    } else if (response.headers.get(name) === null) {
      fail(`${where}: missing header ${name}`);
    }
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0] as string;
  const media = declared.content?.[type];
  if (!media) fail(`${where}: undeclared content type ${type}`);
  const base = [
    'paths',
    route.path,
    route.method.toLowerCase(),
    'responses',
    status,
    'content',
    type,
  ];
  if (body.events) {
    const validate = validator(pointer(...base, 'x-item-schema'));
    for (const event of body.events) {
      const valid: boolean = validate(event);
      if (!valid) fail(`${where}: event ${event.event}`, validate.errors);
    }
  } else if (body.json !== undefined && type === 'application/json') {
    const validate = validator(pointer(...base, 'schema'));
    const valid: boolean = validate(body.json);
    if (!valid) fail(`${where}: body`, validate.errors);
  }
}
