import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTAGE, OUTAGE_AFTER_SAVE } from '#chat/wording.ts';
import { signDevToken } from '../../infra/local/dev-token.ts';
import {
  type DynamoDbLocal,
  ensureTable,
  startDynamoDbLocal,
} from '../../infra/local/dynamodb-local.ts';
import { type LocalKms, startLocalKms } from '../../infra/local/kms-server.ts';
import type { OpenAICompatibleServer } from '../../infra/local/openai-compatible.ts';
import { checkResponse } from '../support/contract.ts';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';
import { startFakeModel } from '../support/fake-model.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { type FakeSecretsManager, startFakeSecretsManager } from '../support/secrets-manager.ts';

/**
 * Outages are not bugs: each dependency goes away mid-test, behind a proxy that refuses, hangs,
 * fails or throttles, and the service answers 503 with Retry-After, never 500.
 */
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:jwt';
const SECRET = 'outage-test-secret-0123456789abcdef01234567';
const dataDir = mkdtempSync(join(tmpdir(), 'chat-outages-'));
let db: DynamoDbLocal;
let kms: LocalKms;
let dynamo: FaultProxy;
let keys: FaultProxy;
let secrets: FakeSecretsManager;
let model: OpenAICompatibleServer;
let stack: DevStack;

beforeAll(async () => {
  db = await startDynamoDbLocal({});
  await ensureTable(db.endpoint, 'outages');
  kms = await startLocalKms({ aliases: ['alias/ai-chat-history'] });
  dynamo = await startFaultProxy(db.endpoint, 'ProvisionedThroughputExceededException');
  keys = await startFaultProxy(kms.endpoint, 'ThrottlingException');
  secrets = await startFakeSecretsManager({ [SECRET_ARN]: SECRET });
  // Down from the start: the secret cannot be fetched at cold start.
  secrets.down(true);
  model = await startFakeModel();
  stack = await startDevStack({
    DATA_DIR: dataDir,
    TABLE_NAME: 'outages',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_KMS: keys.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    JWT_SECRET_ARN: SECRET_ARN,
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'fallback-key',
    RATE_LIMIT_PER_MINUTE: '0',
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await model?.close();
  await secrets?.close();
  await dynamo?.close();
  await keys?.close();
  await kms?.close();
  await db?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(user: string, method: string, path: string, body?: unknown, headers = {}) {
  const started = Date.now();
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${await signDevToken(user, SECRET)}`,
      'Content-Type': 'application/json',
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the API's JSON as it is
  const json = (await response.json()) as any;
  checkResponse(method, path, response, { json });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    replayed: response.headers.get('idempotent-replayed'),
    body: json,
    ms: Date.now() - started,
  };
}

const unavailable = { success: false, error: OUTAGE };

describe('when a dependency goes away', () => {
  it('answers 503 with Retry-After while Secrets Manager is down, then recovers', async () => {
    const down = await call('sm-user', 'GET', '/api/chat/ai/rooms');
    const health = await fetch(`${stack.url}/health`);
    secrets.down(false);
    const up = await call('sm-user', 'GET', '/api/chat/ai/rooms');

    expect(down.status).toBe(503);
    expect(down.retryAfter).toBe('5');
    expect(down.body.success).toBe(false);
    expect(health.status).toBe(503);
    expect(up.status).toBe(200);
  });

  it('answers 503 with Retry-After whether DynamoDB refuses, fails, throttles or hangs, and recovers', async () => {
    secrets.down(false);
    for (const fault of ['refuse', 'error', 'throttle', 'hang'] as const) {
      dynamo.set(fault);
      const reply = await call('db-user', 'GET', '/api/chat/ai/history/db-user');
      dynamo.set('none');

      expect(reply.status, fault).toBe(503);
      expect(reply.body, fault).toEqual(unavailable);
      expect(reply.retryAfter, fault).toBe('5');
      // A hung database is given up on inside the route's 10 seconds.
      expect(reply.ms, fault).toBeLessThan(9_000);
    }
    expect((await call('db-user', 'GET', '/api/chat/ai/history/db-user')).status).toBe(200);
    expect(stack.output()).not.toContain('unhandled error');
  }, 60_000);

  it('says the message was saved when DynamoDB fails after the question was stored, and an Idempotency-Key retry replays it', async () => {
    const headers = { 'Idempotency-Key': 'during-the-outage' };
    const send = (message: string) =>
      call('saved-user', 'POST', '/api/chat/ai/send', { message }, headers);
    expect(
      (await call('saved-user', 'POST', '/api/chat/ai/send', { message: 'first' })).status,
    ).toBe(200);
    // The context read comes after the question and the empty reply are written.
    dynamo.set('error', (operation) => operation === 'Query');
    const failed = await send('hello');
    dynamo.set('none');
    const retried = await send('hello');
    const history = await call('saved-user', 'GET', '/api/chat/ai/history/saved-user');

    expect(failed.status).toBe(503);
    expect(failed.body).toEqual({ success: false, error: OUTAGE_AFTER_SAVE });
    expect(failed.retryAfter).toBe('5');
    expect(retried.status).toBe(200);
    expect(retried.replayed).toBe('true');
    expect(history.body.pagination.total).toBe(4);
    expect(history.body.messages[2]).toMatchObject({
      content: 'hello',
      id: retried.body.user_message.id,
    });
    expect(history.body.messages[3]).toMatchObject({
      status: 'error',
      id: retried.body.ai_message.id,
    });
  });

  it('answers 503 and stores nothing when KMS cannot decrypt the key, and a key cannot be saved while it hangs', async () => {
    const saved = await call('kms-user', 'PUT', '/api/chat/ai/api-key', {
      api_key: 'sk-test-0123456789',
    });
    keys.set('refuse');
    const send = await call('kms-user', 'POST', '/api/chat/ai/send', { message: 'hello' });
    keys.set('hang');
    const put = await call('kms-user', 'PUT', '/api/chat/ai/api-key', {
      api_key: 'sk-test-9876543210',
    });
    keys.set('none');
    const history = await call('kms-user', 'GET', '/api/chat/ai/history/kms-user');

    expect(saved.status).toBe(200);
    expect(send.status).toBe(503);
    expect(send.body).toEqual(unavailable);
    expect(put.status).toBe(503);
    expect(put.ms).toBeLessThan(9_000);
    expect(history.body.pagination.total).toBe(0);
    expect((await call('kms-user', 'POST', '/api/chat/ai/send', { message: 'hi' })).status).toBe(
      200,
    );
  }, 60_000);
});
