import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { STALE_MARGIN_MS } from '#chat/liveness.ts';
import { signDevToken } from '../../infra/local/dev-token.ts';
import type { OpenAICompatibleServer } from '../../infra/local/openai-compatible.ts';
import { readEvents } from '../support/api.ts';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';
import { startFakeModel } from '../support/fake-model.ts';

const secret = 'writer-death-secret-0123456789abcdef012345';
const dataDir = mkdtempSync(join(tmpdir(), 'chat-death-'));
/** Short patience, so the bound is seconds: a reply is dead 2 s + 0.5 s + the margin after its last save. */
const PATIENCE_MS = 2_000;
const FLUSH_MS = 500;
const env = {
  DATA_DIR: dataDir,
  JWT_SECRET: secret,
  OPENAI_API_KEY: 'fallback-key',
  STREAM_FIRST_TOKEN_TIMEOUT_MS: String(PATIENCE_MS),
  STREAM_IDLE_TIMEOUT_MS: String(PATIENCE_MS),
  STREAM_FLUSH_MS: String(FLUSH_MS),
};
const stacks: DevStack[] = [];
let model: OpenAICompatibleServer;

afterAll(async () => {
  for (const stack of stacks) await stack.stop();
  await model?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function javaRunning() {
  try {
    return execFileSync('pgrep', ['-f', join(dataDir, 'dynamodb')], { encoding: 'utf8' }) !== '';
  } catch {
    return false;
  }
}

async function get(stack: DevStack, path: string, token: string) {
  const response = await fetch(`${stack.url}${path}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the API's JSON as it is
  return (await response.json()) as any;
}

async function exported(stack: DevStack, token: string, format: string) {
  const response = await fetch(`${stack.url}/api/chat/ai/export?format=${format}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  return response.text();
}

describe('a writer that dies mid-reply', () => {
  it('leaves no reply streaming past the documented bound: every operation treats it as error, with what was saved', async () => {
    model = await startFakeModel();
    const first = await startDevStack({ ...env, OPENAI_BASE_URL: model.baseUrl });
    stacks.push(first);
    // One reply is followed after the crash, the other is only looked at and regenerated.
    const follower = await signDevToken('victim', secret);
    const regenerator = await signDevToken('regenerator', secret);
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    for (const token of [follower, regenerator]) {
      void readEvents(`${first.url}/api/chat/ai/stream`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: `${words} [[slow:100]]` }),
      }).catch(() => undefined);
    }
    let saved = '';
    for (let i = 0; i < 50 && saved.length < 20; i++) {
      await sleep(100);
      saved =
        (await get(first, '/api/chat/ai/history/regenerator', regenerator)).messages?.[1]
          ?.content ?? '';
    }

    // Kill the stack as a crash would: no chance to store anything more. Its DynamoDB Local
    // goes with it (the watchdog), so the next start finds the data dir free.
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    for (let i = 0; i < 40 && javaRunning(); i++) await sleep(200);
    expect(javaRunning()).toBe(false);
    const second = await startDevStack({ ...env, OPENAI_BASE_URL: model.baseUrl });
    stacks.push(second);

    const before = (await get(second, '/api/chat/ai/history/victim', follower)).messages[1];
    const followed = await readEvents(`${second.url}/api/chat/ai/stream/${before.id}`, {
      headers: { Authorization: `Bearer ${follower}` },
    });
    const settledAt = Date.now();
    const after = (await get(second, '/api/chat/ai/history/victim', follower)).messages[1];

    expect(before.status).toBe('streaming');
    expect(`reply to: ${words} [[slow:100]]`.startsWith(before.content)).toBe(true);
    expect(settledAt - killedAt).toBeLessThan(PATIENCE_MS + FLUSH_MS + STALE_MARGIN_MS + 2_000);
    const end = followed.events.at(-1);
    expect(end?.event).toBe('ai_message');
    expect(end?.data).toMatchObject({ id: before.id, status: 'error', partial: true });
    expect(end?.data.content.startsWith(before.content)).toBe(true);
    expect(after).toMatchObject({ id: before.id, status: 'error', content: end?.data.content });

    // Nobody followed the other reply: history, both exports and regenerate agree it is dead.
    const dead = (await get(second, '/api/chat/ai/history/regenerator', regenerator)).messages[1];
    const jsonl = (await exported(second, regenerator, 'jsonl'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const markdown = await exported(second, regenerator, 'markdown');
    const regenerated = await fetch(`${second.url}/api/chat/ai/regenerate`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${regenerator}`, 'Content-Type': 'application/json' },
      body: '{}',
    });

    expect(dead.status).toBe('error');
    expect(jsonl[1]).toMatchObject({ id: dead.id, status: 'error' });
    expect(markdown).toContain('[error]');
    expect(markdown).not.toContain('[streaming]');
    expect(regenerated.status).toBe(200);
    expect(
      ((await regenerated.json()) as { ai_message: { status: string } }).ai_message.status,
    ).toBe('complete');
  }, 60_000);
});
