import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../infra/local/dev-token.ts';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';
import { type FakeSecretsManager, startFakeSecretsManager } from '../support/secrets-manager.ts';

/** A deployment whose JWT secret in Secrets Manager is a short Flask `JWT_SECRET_KEY`. */
const SHORT_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:flask-jwt';
const SHORT_SECRET = 'super-secret';
const dataDir = mkdtempSync(join(tmpdir(), 'chat-misconfigured-'));
let secrets: FakeSecretsManager;
let stack: DevStack;

beforeAll(async () => {
  secrets = await startFakeSecretsManager({ [SHORT_ARN]: SHORT_SECRET });
  stack = await startDevStack({
    DATA_DIR: dataDir,
    JWT_SECRET_ARN: SHORT_ARN,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  });
});

afterAll(async () => {
  await stack?.stop();
  await secrets?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a deployed JWT secret that is too short', () => {
  it('makes /health answer 503 naming the problem, never the secret', async () => {
    const response = await fetch(`${stack.url}/health`);
    const text = await response.text();

    expect(response.status).toBe(503);
    expect(JSON.parse(text)).toEqual({
      success: false,
      status: 'misconfigured',
      error: expect.stringMatching(/JWT secret .*Secrets Manager.* shorter than 32 characters/),
    });
    expect(text).not.toContain(SHORT_SECRET);
  });

  it('makes authenticated routes answer 503 saying the service is misconfigured', async () => {
    // Signed with the (short) secret itself: the service must refuse to trust it either way.
    const token = await signDevToken('flask-user', SHORT_SECRET);

    const response = await fetch(`${stack.url}/api/chat/ai/rooms`, {
      headers: { Authorization: `Bearer ${token}` },
    });

    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      success: false,
      error: expect.stringMatching(/misconfigured/),
    });
    expect(stack.output()).toContain('service misconfigured');
    expect(stack.output()).not.toContain(SHORT_SECRET);
  });
});
