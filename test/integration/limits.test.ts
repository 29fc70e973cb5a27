import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../infra/local/dev-token.ts';
import type { OpenAICompatibleServer } from '../../infra/local/openai-compatible.ts';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';
import { startFakeModel } from '../support/fake-model.ts';

const secret = 'limits-test-secret-0123456789abcdef0123456';
const dataDir = mkdtempSync(join(tmpdir(), 'chat-limits-'));
let stack: DevStack;
let model: OpenAICompatibleServer;
const upstreamCalls: string[] = [];

beforeAll(async () => {
  model = await startFakeModel((request) =>
    upstreamCalls.push(request.messages.at(-1)?.content ?? ''),
  );
  stack = await startDevStack({
    DATA_DIR: dataDir,
    JWT_SECRET: secret,
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'fallback-key',
    RATE_LIMIT_PER_MINUTE: '20',
    MAX_STREAMS_PER_USER: '2',
    STREAM_FOLLOW_IDLE_MS: '1000',
    DAILY_TOKEN_LIMIT: '100000',
    // This stack's metric lines are read by the metrics test below (the shared stack's are off).
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
});

afterAll(async () => {
  await stack?.stop();
  await model?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** How many answers of each status this file's sends got. */
const answered = new Map<number, number>();

async function send(user: string, message: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.url}/api/chat/ai/send`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${await signDevToken(user, secret)}`,
      'Content-Type': 'application/json',
      ...headers,
    },
    body: JSON.stringify({ message }),
  });
  answered.set(response.status, (answered.get(response.status) ?? 0) + 1);
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as { success: boolean; error?: string },
  };
}

async function total(user: string) {
  const response = await fetch(`${stack.url}/api/chat/ai/history/${user}`, {
    headers: { Authorization: `Bearer ${await signDevToken(user, secret)}` },
  });
  return ((await response.json()) as { pagination: { total: number } }).pagination.total;
}

describe('per-user limits', () => {
  it('answers the 21st send in a minute with 429 and Retry-After, calling no model and storing nothing', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await send('rate-user', `hi ${i}`)).status);
    const callsBefore = upstreamCalls.length;

    const over = await send('rate-user', 'one too many');

    expect(statuses).toEqual(Array(20).fill(200));
    expect(over.status).toBe(429);
    expect(over.body).toEqual({
      success: false,
      error: expect.stringMatching(/20 messages per minute/),
    });
    expect(Number(over.retryAfter)).toBeGreaterThan(0);
    expect(Number(over.retryAfter)).toBeLessThanOrEqual(60);
    expect(upstreamCalls.length).toBe(callsBefore);
    expect(await total('rate-user')).toBe(40);
    expect((await send('another-user', 'unaffected')).status).toBe(200);
  });

  it('admits exactly 20 of 25 simultaneous sends: the limit holds across concurrent requests', async () => {
    const replies = await Promise.all(
      Array.from({ length: 25 }, (_, i) => send('burst-user', `burst ${i}`)),
    );

    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    expect(await total('burst-user')).toBe(40);
  });

  it('keeps the limit exact for one user keeping 8 sends in flight: 20 admitted, the rest 429, no 503', async () => {
    const statuses: number[] = [];
    let next = 0;

    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 40) {
          next += 1;
          statuses.push((await send('steady-user', `steady ${next}`)).status);
        }
      }),
    );

    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    expect(await total('steady-user')).toBe(40);
  });

  it('stops a user at the daily token limit until midnight UTC', async () => {
    const replies = [];
    for (let i = 0; i < 30; i++) {
      const reply = await send(
        'token-user',
        `tell me something long ${'and longer '.repeat(1400)}`,
      );
      replies.push(reply);
      if (reply.status === 429) break;
    }

    const over = replies.at(-1);
    expect(replies.length).toBeGreaterThan(1);
    expect(over?.status).toBe(429);
    expect(over?.body.error).toMatch(/Daily token limit of 100000/);
    const untilMidnight =
      (Date.UTC(
        new Date().getUTCFullYear(),
        new Date().getUTCMonth(),
        new Date().getUTCDate() + 1,
      ) -
        Date.now()) /
      1000;
    expect(Math.abs(Number(over?.retryAfter) - untilMidnight)).toBeLessThan(5);
    expect(await total('token-user')).toBe(2 * (replies.length - 1));
  });
});

describe('replies streamed or followed at once', () => {
  const open = async (user: string, path: string, init: RequestInit = {}) => {
    const abort = new AbortController();
    const response = await fetch(`${stack.url}${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${await signDevToken(user, secret)}`,
        'Content-Type': 'application/json',
      },
      signal: abort.signal,
    });
    return { response, abort };
  };

  it('answers 429 past MAX_STREAMS_PER_USER, and lets another in once one ends', async () => {
    const user = 'stream-cap-user';
    const body = JSON.stringify({ message: `${'word '.repeat(20)}[[slow:150]]` });
    const first = await open(user, '/api/chat/ai/stream', { method: 'POST', body });
    const second = await open(user, '/api/chat/ai/stream', { method: 'POST', body });
    const third = await open(user, '/api/chat/ai/stream', { method: 'POST', body });
    const other = await open('stream-cap-other', '/api/chat/ai/stream', { method: 'POST', body });

    expect([first, second].map(({ response }) => response.status)).toEqual([200, 200]);
    expect(third.response.status).toBe(429);
    answered.set(429, (answered.get(429) ?? 0) + 1);
    expect(await third.response.json()).toEqual({
      success: false,
      error: expect.stringMatching(/At most 2 replies can be streamed or followed at once/),
    });
    expect(Number(third.response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(other.response.status).toBe(200);
    // Once a reply is written (its client gone or not), its lease goes with it.
    await first.response.text();
    await second.response.text();
    await other.response.text();
    const after = await open(user, '/api/chat/ai/stream', { method: 'POST', body });
    expect(after.response.status).toBe(200);
    await after.response.text();
  });

  it('ends a follow that sees nothing new for STREAM_FOLLOW_IDLE_MS, asking the client to reconnect', async () => {
    const user = 'idle-follow-user';
    const writing = await open(user, '/api/chat/ai/stream', {
      method: 'POST',
      body: JSON.stringify({ message: 'slow start [[slow:2500]]' }),
    });
    const reader = (writing.response.body as ReadableStream<Uint8Array>).getReader();
    let seen = '';
    let id: string | undefined;
    while (!id) {
      const { value } = await reader.read();
      seen += new TextDecoder().decode(value);
      id = /event: ai_message_started\ndata: \{"id":"([0-9A-Z]+)"/.exec(seen)?.[1];
    }

    const started = Date.now();
    const followed = await open(user, `/api/chat/ai/stream/${id}`);
    const text = await followed.response.text();

    expect(text).toMatch(/event: reconnect/);
    expect(Date.now() - started).toBeLessThan(2_400);
    writing.abort.abort();
  });
});

/** Every metric value the stack wrote (CloudWatch's embedded metric format), by name. */
function metricsWritten() {
  const sums = new Map<string, number>();
  for (const line of stack.output().split('\n')) {
    if (!line.startsWith('{"_aws"')) continue;
    const emf = JSON.parse(line);
    for (const directive of emf._aws.CloudWatchMetrics) {
      expect(directive.Namespace).toBe('AiChatHistory');
      for (const { Name } of directive.Metrics) {
        const name = emf.Kind ? `${Name}:${emf.Kind}` : Name;
        const values = [emf[Name]].flat() as number[];
        sums.set(name, (sums.get(name) ?? 0) + values.reduce((a, b) => a + b, 0));
      }
    }
  }
  return (name: string) => sums.get(name) ?? 0;
}

describe('metrics', () => {
  it('counts model calls, tokens, upstream failures by kind, 429s and replays as CloudWatch metrics', async () => {
    const earlier = metricsWritten();
    const key = { 'Idempotency-Key': 'metrics-key-1' };
    expect((await send('metrics-user', 'first', key)).status).toBe(200);
    expect((await send('metrics-user', 'first', key)).status).toBe(200);
    // Both are stored with the seed's fallback reply (200); the metrics tell the operator why.
    expect((await send('metrics-user', 'key rejected [[fail:401]]')).status).toBe(200);
    expect((await send('metrics-user', 'upstream down [[fail:500]]')).status).toBe(200);

    // A function's metrics are written when it ends; the stack's output arrives just after.
    await expect
      .poll(() => metricsWritten()('IdempotentReplays') - earlier('IdempotentReplays'))
      .toBe(1);
    const later = metricsWritten();
    const delta = (name: string) => later(name) - earlier(name);
    expect(delta('ModelCalls')).toBe(3);
    expect(delta('ModelLatency')).toBeGreaterThan(0);
    expect(delta('PromptTokens')).toBeGreaterThan(0);
    expect(delta('CompletionTokens')).toBeGreaterThan(0);
    expect(delta('UpstreamFailures:model_key_rejected')).toBe(1);
    expect(delta('UpstreamFailures:model_unavailable')).toBe(1);
    // Every 429 this file's sends were answered with, and no other.
    expect(later('RateLimited')).toBe(answered.get(429));
  });
});
