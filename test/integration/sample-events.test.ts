import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { signDevToken } from '../../infra/local/dev-token.ts';
import { routes } from '../../lib/routes.ts';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const context = {
  awsRequestId: 'sample',
  functionName: 'sample',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

/** The order a user would go in: store a key, send, read, clear, then remove the key. */
const ORDER = [
  'health',
  'put-api-key',
  'get-api-key',
  'send-message',
  'get-history',
  'clear-history',
  'delete-api-key',
];

beforeAll(() => {
  // What `sam local invoke --env-vars` would hand the function: the local stack's endpoints.
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
    AWS_ENDPOINT_URL_KMS: inject('kmsEndpoint'),
    TABLE_NAME: inject('tableName'),
    KMS_KEY_ID: 'alias/ai-chat-history',
    JWT_SECRET: inject('jwtSecret'),
    OPENAI_BASE_URL: inject('modelBaseUrl'),
  });
});

describe('the sample events in test/events (for sam local invoke)', () => {
  it('exist for every route and name its method and path', () => {
    expect([...routes.map((r) => r.handler)].sort()).toEqual([...ORDER].sort());
    for (const route of routes) {
      const event = JSON.parse(readFileSync(`test/events/${route.handler}.json`, 'utf8'));
      expect(event).toMatchObject({ httpMethod: route.method, resource: route.path });
    }
  });

  it('each run through its handler against the local stack and succeed', async () => {
    const token = await signDevToken('sample-user', inject('jwtSecret'));
    const results: Record<string, { statusCode: number; body: { success: boolean } }> = {};
    for (const name of ORDER) {
      const event = JSON.parse(
        readFileSync(`test/events/${name}.json`, 'utf8'),
      ) as APIGatewayProxyEvent;
      if (event.headers.Authorization) event.headers.Authorization = `Bearer ${token}`;
      const { handler } = (await import(`../../functions/${name}.ts`)) as { handler: Handler };
      const result = await handler(event, context);
      results[name] = { statusCode: result.statusCode, body: JSON.parse(result.body) };
    }

    for (const name of ORDER) {
      expect(results[name], name).toMatchObject({ statusCode: 200, body: { success: true } });
    }
    expect(results['clear-history']?.body).toMatchObject({ deleted_count: 2 });
  });
});
