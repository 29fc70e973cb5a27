import * as z from 'zod';
import type { RouteContract, RouteSpec } from './route-spec.ts';
import { routes } from './routes.ts';
import { errorSchema, healthFailure, streamEvents } from './schemas.ts';

/**
 * The API as an OpenAPI 3.1 document, made from the route table (paths, methods, auth, and each
 * route's contract: parameters, bodies, answers) and the zod schemas the contracts name, so it
 * cannot drift from the code. `npm run openapi` writes it to `openapi.json`; the local stack serves it.
 */
export function buildOpenApi(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = operation(
      route,
      route.contract,
    );
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'AI chat history',
      version,
      description:
        'Stores a user’s chat with an AI assistant, calls the model with the conversation as context, and streams, pages, exports and clears the history. Errors are `{ "success": false, "error": "..." }`.',
    },
    servers: [{ url: 'http://127.0.0.1:3000', description: 'The local stack (npm run dev)' }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'HS256 (flask-jwt-extended) or RS256/ES256 from an OIDC issuer; `sub` is the user.',
        },
      },
      schemas: componentSchemas(),
    },
  };
}

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
};

/** Every answer with an `id` (zod's `.meta({ id })`), as a named component. */
function componentSchemas(): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    target: 'draft-2020-12',
    io: 'output',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  return Object.fromEntries(
    Object.entries(schemas)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, { $schema: _, $id: __, ...schema }]) => [id, schema]),
  );
}

const ref = (schema: z.ZodType) => {
  const id = schema.meta()?.id as string | undefined;
  return id ? { $ref: `#/components/schemas/${id}` } : jsonSchema(schema, 'output');
};

const ERRORS: Record<number, string> = {
  400: 'Bad request: a malformed body, query or path value',
  401: 'Missing, malformed or invalid bearer token',
  403: "Another user's id",
  404: 'Not found (another user’s resources are not found either)',
  409: 'Conflicts with a request still in progress, or the conversation’s state',
  410: 'A replayed request whose messages were deleted since',
  413: 'The body or the message is too large',
  422: 'An Idempotency-Key reused with a different request',
  429: 'Over a per-user limit',
  500: 'A bug',
  503: 'A dependency is unavailable (or the service is misconfigured)',
};

const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before trying again',
    schema: { type: 'integer', minimum: 1 },
  },
};

const REQUEST_HEADERS = {
  'Idempotency-Key': {
    description:
      'Makes a retry safe: a repeat with the same key and body within an hour gets the first answer',
    schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
  },
  'Last-Event-ID': {
    description: 'The `id` of the last event received: the reply’s length in code points',
    schema: { type: 'string', pattern: '^\\d{1,9}$' },
  },
};

function operation(route: RouteSpec, contract: RouteContract) {
  const parameters = [
    ...fields(contract.params, 'path'),
    ...fields(contract.query, 'query'),
    ...(contract.headers ?? []).map((name) => ({
      name,
      in: 'header',
      required: false,
      ...REQUEST_HEADERS[name],
    })),
  ];
  const statuses = [...(route.auth ? [401] : []), ...contract.errors, 500, 503].sort();
  return {
    operationId: route.handler.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()),
    summary: contract.summary,
    ...(contract.description ? { description: contract.description } : {}),
    security: route.auth ? [{ bearer: [] }] : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(contract.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(contract.body, 'input') } },
          },
        }
      : {}),
    responses: {
      200: success(contract),
      ...Object.fromEntries(
        statuses.map((status) => [
          status,
          {
            description: ERRORS[status],
            ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
            content: {
              'application/json': {
                schema: ref(
                  route.handler === 'health' && status === 503 ? healthFailure : errorSchema,
                ),
              },
            },
          },
        ]),
      ),
    },
  };
}

function success(contract: RouteContract) {
  const { success: answer } = contract;
  const headers =
    'replayable' in answer && answer.replayable
      ? {
          headers: {
            'Idempotent-Replayed': {
              description: '`true` when this is the first answer to an earlier request',
              schema: { type: 'string', enum: ['true'] },
            },
          },
        }
      : {};
  if ('json' in answer) {
    return {
      description: 'OK',
      ...headers,
      content: { 'application/json': { schema: ref(answer.json) } },
    };
  }
  if ('events' in answer) {
    return {
      description: `Server-sent events: ${answer.events.join(', ')}. A delta's \`id\` is the reply's length so far, in code points.`,
      ...headers,
      content: {
        'text/event-stream': {
          schema: { type: 'string' },
          // Each event as an object: `event`, its `id` if any, and the JSON of its `data` line
          // (OpenAPI 3.2 calls this itemSchema).
          'x-item-schema': {
            oneOf: answer.events.map((event) => ({
              type: 'object',
              required: ['event', 'data'],
              properties: {
                event: { const: event },
                id: { type: 'string' },
                data: ref(streamEvents[event]),
              },
              additionalProperties: false,
            })),
          },
        },
      },
    };
  }
  return {
    description: 'A download',
    headers: {
      'Content-Disposition': {
        description: '`attachment; filename="..."`',
        schema: { type: 'string' },
      },
    },
    content: Object.fromEntries(
      Object.entries(answer.file).map(([type, description]) => [
        type,
        { schema: { type: 'string', description } },
      ]),
    ),
  };
}

/** A zod object's fields as OpenAPI parameters. */
function fields(schema: z.ZodObject | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const { description, ...described } = jsonSchema(field as z.ZodType, 'input');
    // A number in a query string arrives as text; the document says what it means.
    const rest =
      described.type === 'string' && described.pattern === '^\\d{1,9}$'
        ? {
            type: 'integer',
            minimum: 0,
            ...(described.default ? { default: described.default } : {}),
          }
        : described;
    return {
      name,
      in: where,
      required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}
