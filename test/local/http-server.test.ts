import { setTimeout as sleep } from 'node:timers/promises';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type LoadedRoute,
  type LocalHttpServer,
  startHttpServer,
} from '../../infra/local/http-server.ts';
import type { RouteSpec } from '../../lib/routes.ts';

let server: LocalHttpServer | undefined;
afterEach(async () => {
  await server?.close();
});

function route(
  spec: Partial<RouteSpec>,
  handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>,
): LoadedRoute {
  return {
    spec: {
      method: 'GET',
      path: '/slow',
      handler: 'slow',
      auth: false,
      dynamodb: [],
      kms: [],
      model: false,
      timeoutSeconds: 1,
      ...spec,
    },
    handler: handler as LoadedRoute['handler'],
    pattern: /^\/slow$/,
    params: [],
  };
}

describe('the local HTTP server', () => {
  it('answers 504 in the API error shape when a route runs past its timeout, as API Gateway does', async () => {
    server = await startHttpServer({
      routes: [
        route({}, async () => {
          await sleep(3_000);
          return { statusCode: 200, body: '{}' };
        }),
      ],
      allowedOrigins: ['*'],
    });
    const started = Date.now();

    const response = await fetch(`${server.url}/slow`);

    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ success: false, error: 'Endpoint request timed out' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('answers a handler that throws with 502 in the API error shape', async () => {
    server = await startHttpServer({
      routes: [
        route({}, async () => {
          throw new Error('boom');
        }),
      ],
      allowedOrigins: ['*'],
    });

    const response = await fetch(`${server.url}/slow`);

    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ success: false, error: 'Internal server error' });
  });

  it('hands `__proto__` and `constructor` query names and headers to the handler as plain data', async () => {
    let seen: APIGatewayProxyEvent | undefined;
    server = await startHttpServer({
      routes: [
        route({}, async (event) => {
          seen = event;
          return { statusCode: 200, body: '{}' };
        }),
      ],
      allowedOrigins: ['*'],
    });

    const response = await fetch(`${server.url}/slow?__proto__=a&constructor=b&x=1`, {
      headers: { constructor: 'c', 'x-test': 'd' },
    });

    expect(response.status).toBe(200);
    expect(Object.getPrototypeOf(seen?.queryStringParameters)).toBe(Object.prototype);
    expect(seen?.queryStringParameters).toMatchObject({ x: '1' });
    expect(Object.hasOwn(seen?.queryStringParameters ?? {}, '__proto__')).toBe(true);
    expect(Object.hasOwn(seen?.headers ?? {}, 'constructor')).toBe(true);
  });

  it('answers a path parameter with malformed %-encoding with 400, not a crash', async () => {
    server = await startHttpServer({
      routes: [
        {
          ...route({}, async () => ({ statusCode: 200, body: '{}' })),
          pattern: /^\/items\/([^/]+)$/,
          params: ['id'],
        },
      ],
      allowedOrigins: ['*'],
    });

    const response = await fetch(`${server.url}/items/%E0%A4%A`);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      success: false,
      error: 'Malformed %-encoding in the path',
    });
  });
});
