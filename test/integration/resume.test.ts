import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../infra/local/dev-token.ts';
import type { OpenAICompatibleServer, StreamClosed } from '../../infra/local/openai-compatible.ts';
import { readEvents, type StreamEvent, type TestUser } from '../support/api.ts';
import { checkResponse } from '../support/contract.ts';
import { type DevStack, startDevStack } from '../support/dev-stack.ts';
import { startFakeModel } from '../support/fake-model.ts';

/**
 * Replies that survive a refresh: a stack of its own, so the test can watch the model server's
 * connections close.
 */
const secret = 'resume-test-secret-0123456789abcdef0123456';
/** How long the model may stay silent, before its first piece or between two. */
const PATIENCE_MS = 1_500;
const dataDir = mkdtempSync(join(tmpdir(), 'chat-resume-'));
const closed: StreamClosed[] = [];
let stack: DevStack;
let model: OpenAICompatibleServer;

beforeAll(async () => {
  model = await startFakeModel(undefined, (event) => closed.push(event));
  stack = await startDevStack({
    DATA_DIR: dataDir,
    DYNAMODB_IN_MEMORY: 'true',
    JWT_SECRET: secret,
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'fallback-key',
    RATE_LIMIT_PER_MINUTE: '0',
    STREAM_FIRST_TOKEN_TIMEOUT_MS: String(PATIENCE_MS),
    STREAM_IDLE_TIMEOUT_MS: String(PATIENCE_MS),
    AUTO_TITLES: 'model',
  });
});

afterAll(async () => {
  await stack?.stop();
  await model?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const LONG = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen';
const names = (events: StreamEvent[]) => events.map((e) => e.event);
const text = (events: StreamEvent[]) =>
  events
    .filter((e) => e.event === 'delta')
    .map((e) => e.data.content)
    .join('');

async function user(): Promise<TestUser> {
  const id = `resume-${crypto.randomUUID()}`;
  return { id, token: await signDevToken(id, secret), apiKey: '' };
}

async function call(who: TestUser, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${who.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the API's JSON as it is
  const json = (await response.json()) as any;
  checkResponse(method, path, response, { json });
  return { status: response.status, body: json };
}

const history = async (who: TestUser) =>
  (await call(who, 'GET', `/api/chat/ai/history/${who.id}`)).body.messages as {
    id: string;
    content: string;
    status: string;
    message_type: string;
  }[];

function startStream(who: TestUser, message: string, stopAfter?: (event: StreamEvent) => boolean) {
  return readEvents(
    `${stack.url}/api/chat/ai/stream`,
    {
      method: 'POST',
      headers: { Authorization: `Bearer ${who.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ message }),
    },
    stopAfter,
  );
}

function follow(
  who: TestUser,
  id: string,
  options: { query?: string; headers?: Record<string, string> } = {},
) {
  return readEvents(
    `${stack.url}/api/chat/ai/stream/${id}${options.query ? `?${options.query}` : ''}`,
    { headers: { Authorization: `Bearer ${who.token}`, ...options.headers } },
  );
}

/** Polls history until `ready` holds for the reply (or a few seconds pass). */
async function waitForReply(
  who: TestUser,
  ready: (reply: { content: string; status: string }) => boolean,
) {
  for (let i = 0; i < 60; i++) {
    const reply = (await history(who)).find((m) => m.message_type === 'ai');
    if (reply && ready(reply)) return reply;
    await sleep(100);
  }
  throw new Error('the reply never got there');
}

describe('a reply in flight', () => {
  it('survives a dropped stream: history shows it streaming, Last-Event-ID resumes exactly the rest, another client gets it all', async () => {
    const alice = await user();
    let deltas = 0;

    const cut = await startStream(
      alice,
      `${LONG} [[slow:120]]`,
      (e) => e.event === 'delta' && ++deltas === 3,
    );
    const id = cut.events.find((e) => e.event === 'ai_message_started')?.data.id as string;
    const had = text(cut.events);
    const lastId = cut.events.filter((e) => e.event === 'delta').at(-1)?.id as string;

    const inFlight = await waitForReply(alice, (r) => r.content.length > 0);
    expect(inFlight).toMatchObject({ id, status: 'streaming' });
    expect(`reply to: ${LONG} [[slow:120]]`.startsWith(inFlight.content)).toBe(true);

    const resumed = await follow(alice, id, { headers: { 'Last-Event-ID': lastId } });
    const fromStart = await follow(alice, id);

    const final = `reply to: ${LONG} [[slow:120]]`;
    expect(lastId).toBe(String([...had].length));
    expect(had + text(resumed.events)).toBe(final);
    expect(names(resumed.events).at(-1)).toBe('ai_message');
    expect(resumed.events.at(-1)?.data).toMatchObject({ id, content: final, status: 'complete' });
    expect(text(fromStart.events)).toBe(final);
    for (const event of resumed.events.filter((e) => e.event === 'delta')) {
      expect(Number(event.id)).toBeGreaterThan(Number(lastId));
    }
    expect((await history(alice))[1]).toMatchObject({ id, content: final, status: 'complete' });
  });

  it('can be followed from a second connection while a buffered send writes it', async () => {
    const bob = await user();

    const sending = call(bob, 'POST', '/api/chat/ai/send', { message: `${LONG} [[slow:100]]` });
    const streaming = await waitForReply(bob, (r) => r.status === 'streaming');
    const watched = await follow(bob, streaming.id);
    const sent = await sending;

    expect(sent.status).toBe(200);
    expect(sent.body.ai_message).toMatchObject({ id: streaming.id, status: 'complete' });
    expect(names(watched.events).filter((n) => n === 'delta').length).toBeGreaterThan(1);
    expect(text(watched.events)).toBe(sent.body.ai_message.content);
    expect(watched.events.at(-1)).toMatchObject({
      event: 'ai_message',
      data: sent.body.ai_message,
    });
  });

  it('answers a finished reply at once: the remainder from ?offset, then the stored message', async () => {
    const carol = await user();
    const sent = await call(carol, 'POST', '/api/chat/ai/send', { message: 'short' });
    const { id, content } = sent.body.ai_message;

    const rest = await follow(carol, id, { query: 'offset=6' });
    const bad = await follow(carol, id, { query: 'offset=-1' });
    const badHeader = await follow(carol, id, { headers: { 'Last-Event-ID': 'abc' } });

    expect(names(rest.events)).toEqual(['delta', 'ai_message']);
    expect(rest.events[0]?.data.content).toBe([...content].slice(6).join(''));
    expect(rest.endedAt).toBeLessThan(2_000);
    expect(bad).toMatchObject({ status: 400, json: { success: false } });
    expect(badHeader).toMatchObject({ status: 400, json: { success: false } });
  });

  it('is nobody else’s: another user’s follow or stop, or an unknown id, is a 404', async () => {
    const owner = await user();
    const intruder = await user();
    const sent = await call(owner, 'POST', '/api/chat/ai/send', { message: 'mine' });
    const id = sent.body.ai_message.id as string;

    const theirFollow = await follow(intruder, id);
    const theirStop = await call(intruder, 'POST', `/api/chat/ai/stream/${id}/stop`);
    const unknown = await follow(owner, '01JZZZZZZZZZZZZZZZZZZZZZZZ');
    const notAnId = await call(owner, 'POST', '/api/chat/ai/stream/..%2F..%2Fetc/stop');

    for (const reply of [theirFollow.json, theirStop.body, unknown.json, notAnId.body]) {
      expect(reply).toEqual({ success: false, error: 'No such reply' });
    }
    expect(theirFollow.status).toBe(404);
    expect(theirStop.status).toBe(404);
    expect((await history(owner))[1]).toMatchObject({ id, status: 'complete' });
  });
});

describe('stopping a reply', () => {
  it('closes the upstream connection within a second and keeps what was written, as stopped', async () => {
    const dave = await user();
    const message = `${LONG} ${LONG} [[slow:150]]`;
    const watching = startStream(dave, message);
    const streaming = await waitForReply(dave, (r) => r.content.length > 0);

    const asked = Date.now();
    const stop = await call(dave, 'POST', `/api/chat/ai/stream/${streaming.id}/stop`);
    const watched = await watching;

    expect(stop.status).toBe(200);
    expect(stop.body).toMatchObject({
      success: true,
      stopped: true,
      message: { status: 'stopped' },
    });
    const upstream = closed.find((c) => c.request.messages.at(-1)?.content === message);
    expect(upstream?.early).toBe(true);
    expect((upstream?.at ?? Number.POSITIVE_INFINITY) - asked).toBeLessThan(1_000);
    const stored = stop.body.message.content as string;
    expect(upstream?.sent.join('').startsWith(stored)).toBe(true);
    expect(stored.length).toBeLessThan(`reply to: ${message}`.length);
    expect(watched.events.at(-1)).toMatchObject({
      event: 'ai_message',
      data: { status: 'stopped', content: stored },
    });
    expect((await history(dave))[1]).toMatchObject({ status: 'stopped', content: stored });

    const again = await call(dave, 'POST', `/api/chat/ai/stream/${streaming.id}/stop`);

    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      stopped: false,
      message: { status: 'stopped', content: stored },
    });
  });
});

describe('a model that misbehaves', () => {
  it('that accepts the call and never answers ends the stream within the first-token timeout, as error', async () => {
    const erin = await user();

    const reply = await startStream(erin, 'hello? [[hang]]');

    expect(names(reply.events)).toEqual([
      'user_message',
      'ai_message_started',
      'ai_message',
      'error',
    ]);
    expect(reply.endedAt).toBeLessThan(PATIENCE_MS + 3_000);
    expect(reply.events[2]?.data).toMatchObject({ status: 'error', ai_model: 'error' });
    expect((await history(erin))[1]).toMatchObject({ status: 'error' });
  });

  it('that goes silent mid-reply ends it within the idle timeout, keeping what it wrote', async () => {
    const frank = await user();

    const reply = await startStream(frank, 'tell me a long story [[stall]]');

    const written = text(reply.events);
    expect(written).toBe('reply to: ');
    expect(reply.endedAt).toBeLessThan(PATIENCE_MS + 3_000);
    expect(reply.events.find((e) => e.event === 'ai_message')?.data).toMatchObject({
      status: 'error',
      partial: true,
      content: written,
    });
  });

  it('that answers in text parts is stored as text, and the room goes on working', async () => {
    const gina = await user();

    const parts = await call(gina, 'POST', '/api/chat/ai/send', { message: 'in parts [[parts]]' });
    const next = await call(gina, 'POST', '/api/chat/ai/send', { message: 'and then' });

    expect(parts.body.ai_message).toMatchObject({
      status: 'complete',
      content: 'reply to: in parts [[parts]]',
    });
    expect(next.status).toBe(200);
    expect(next.body.ai_message.status).toBe('complete');
  });

  it('that answers with a number fails that reply only; the room goes on working', async () => {
    const hank = await user();

    const odd = await call(hank, 'POST', '/api/chat/ai/send', { message: 'odd [[number]]' });
    const next = await call(hank, 'POST', '/api/chat/ai/send', { message: 'and then' });

    expect(odd.status).toBe(200);
    expect(odd.body.ai_message).toMatchObject({ status: 'error', ai_model: 'error' });
    expect(next.status).toBe(200);
    expect(next.body.ai_message).toMatchObject({
      status: 'complete',
      content: 'reply to: and then',
    });
  });
});

describe('titles written by the model (AUTO_TITLES=model)', () => {
  it('names a conversation after its first reply, and keeps the first message when the model fails', async () => {
    const ivy = await user();

    await call(ivy, 'POST', '/api/chat/ai/send', { message: 'plan my week', room_id: 'named' });
    await call(ivy, 'POST', '/api/chat/ai/send', { message: 'and my month', room_id: 'named' });
    await startStream(ivy, 'will this get a title? [[notitle]]');
    const named = await call(ivy, 'GET', '/api/chat/ai/rooms/named');
    const unnamed = await call(ivy, 'GET', `/api/chat/ai/rooms/ai_chat_${ivy.id}`);

    expect(named.body.room).toMatchObject({ title: 'A Title From The Model', message_count: 4 });
    expect(unnamed.body.room.title).toBe('will this get a title? [[notitle]]');
    expect(stack.output()).toContain('could not name the conversation');
  });
});
