import { setTimeout as sleep } from 'node:timers/promises';
import type { APIGatewayProxyResult } from 'aws-lambda';
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
  handler: () => Promise<APIGatewayProxyResult>,
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
});
