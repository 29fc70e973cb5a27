import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../infra/local/dev-token.ts';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'chat-restart-'));
const secret = 'restart-test-secret-0123456789abcdef012345';
let stack: DevStack | undefined;

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function post(url: string, path: string, token: string, method: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the API's JSON as it is
  return { status: response.status, body: (await response.json()) as any };
}

describe('npm run dev', () => {
  it('keeps history and stored keys across a restart, and stops everything on Ctrl-C', async () => {
    const env = { DATA_DIR: dataDir, JWT_SECRET: secret };
    const token = await signDevToken('restart-user', secret);
    stack = await startDevStack(env);
    await post(stack.url, '/api/chat/ai/api-key', token, 'PUT', { api_key: 'sk-survives-restart' });
    const first = await post(stack.url, '/api/chat/ai/send', token, 'POST', {
      message: 'remember me',
    });
    expect(first.status).toBe(200);

    const code = await stack.stop();
    expect(code).toBe(0);
    expect(stack.output()).not.toContain('sk-survives-restart');
    stack = await startDevStack(env);
    const page = await post(stack.url, '/api/chat/ai/history/restart-user', token, 'GET');
    const second = await post(stack.url, '/api/chat/ai/send', token, 'POST', {
      message: 'still there?',
    });

    expect(page.body.messages.map((m: { id: string }) => m.id)).toEqual([
      first.body.user_message.id,
      first.body.ai_message.id,
    ]);
    expect(second.status).toBe(200);
    expect(second.body.ai_message.content).toContain('I can see 2 earlier messages');
  });
});
