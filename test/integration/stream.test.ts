import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { apiUrl, follow, history, newUser, stream } from '../support/api.ts';

const names = (events: { event: string }[]) => events.map((e) => e.event);

describe('POST /api/chat/ai/stream', () => {
  it('streams deltas as the model writes them, then the stored reply, which history holds', async () => {
    const user = await newUser();

    const reply = await stream(user, { message: 'tell me slowly [[slow:250]]' });

    expect(reply.status).toBe(200);
    const kinds = names(reply.events);
    expect(kinds.slice(0, 2)).toEqual(['user_message', 'ai_message_started']);
    expect(reply.events[1]?.data).toMatchObject({ status: 'streaming', content: '' });
    expect(kinds.at(-1)).toBe('ai_message');
    expect(kinds.filter((k) => k === 'delta').length).toBeGreaterThanOrEqual(4);
    const deltas = reply.events.filter((e) => e.event === 'delta');
    const text = deltas.map((e) => e.data.content).join('');
    expect(text).toBe('reply to: tell me slowly [[slow:250]]');
    // The upstream pauses 250 ms before each of its pieces: the first piece reached the client
    // while the rest were still being written.
    expect((deltas[0]?.at ?? 0) + 500).toBeLessThan(reply.events.at(-1)?.at ?? 0);
    // Each delta's id is the reply's length so far, so a client can resume from it.
    expect(deltas.map((e) => e.id)).toEqual(
      deltas.map((_, i) =>
        String(
          [
            ...deltas
              .slice(0, i + 1)
              .map((e) => e.data.content)
              .join(''),
          ].length,
        ),
      ),
    );
    const ai = reply.events.at(-1)?.data;
    expect(ai).toMatchObject({
      id: reply.events[1]?.data.id,
      content: text,
      message_type: 'ai',
      ai_model: 'gpt-4o-mini',
      status: 'complete',
    });
    const page = await history(user);
    expect(page.body.messages.map((m: { id: string }) => m.id)).toEqual([
      reply.events[0]?.data.id,
      ai.id,
    ]);
  });

  it('completes a reply that takes longer than 30 seconds (past the buffered gateway limit)', async () => {
    const user = await newUser();

    const reply = await stream(user, { message: 'take your time [[slow:5500]]' });

    expect(names(reply.events).at(-1)).toBe('ai_message');
    expect(reply.events.at(-1)?.at).toBeGreaterThan(30_000);
    expect(reply.events.at(-1)?.data.content).toBe('reply to: take your time [[slow:5500]]');
  }, 60_000);

  it('stores the whole reply even when the client goes away mid-stream', async () => {
    const user = await newUser();

    const cut = await stream(
      user,
      { message: 'I will hang up [[slow:150]]' },
      { stopAfter: (e) => e.event === 'delta' },
    );
    expect(names(cut.events)).toEqual(['user_message', 'ai_message_started', 'delta']);
    let stored: { content: string; status: string }[] = [];
    for (let i = 0; i < 40 && stored[1]?.status !== 'complete'; i++) {
      await sleep(100);
      stored = (await history(user)).body.messages;
    }

    expect(stored.map((m) => m.content)).toEqual([
      'I will hang up [[slow:150]]',
      'reply to: I will hang up [[slow:150]]',
    ]);
    expect(stored[1]?.status).toBe('complete');
  });

  it('stores a reply cut short by the upstream as partial, with status error, then sends an error event', async () => {
    const user = await newUser();

    const reply = await stream(user, { message: 'this breaks halfway [[break]]' });

    expect(names(reply.events)).toEqual([
      'user_message',
      'ai_message_started',
      'delta',
      'delta',
      'ai_message',
      'error',
    ]);
    const stored = { partial: true, content: 'reply to: ', status: 'error' };
    expect(reply.events[4]?.data).toMatchObject(stored);
    expect((await history(user)).body.messages[1]).toMatchObject(stored);
  });

  it('keeps the question and stores the apology as an error reply when the model fails outright', async () => {
    const user = await newUser();

    const reply = await stream(user, { message: 'no luck [[fail:500]]' });

    expect(names(reply.events)).toEqual([
      'user_message',
      'ai_message_started',
      'ai_message',
      'error',
    ]);
    expect(reply.events[3]?.data.error).toMatch(/trouble processing your request/);
    const page = await history(user);
    expect(page.body.messages.map((m: { status: string }) => m.status)).toEqual([
      'complete',
      'error',
    ]);
    expect(page.body.messages[1]).toMatchObject({
      ai_model: 'error',
      content: expect.stringMatching(/trouble processing your request/),
    });
  });

  it('answers bad input and missing keys with an ordinary JSON 4xx, not a stream', async () => {
    const user = await newUser();
    const keyless = await newUser({ withKey: false });

    const blank = await stream(user, { message: '  ' });
    const noKey = await stream(keyless, { message: 'hi' });
    const badModel = await stream(user, { message: 'hi', model: 'nope' });

    expect(blank).toMatchObject({
      status: 400,
      json: { success: false, error: 'Message is required' },
    });
    expect(noKey).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/No API key/) },
    });
    expect(badModel.status).toBe(400);
  });

  it('replays a retried stream with the same Idempotency-Key: same messages, no new call', async () => {
    const user = await newUser();
    const headers = { 'Idempotency-Key': 'stream-retry-1' };

    const first = await stream(user, { message: 'once only' }, { headers });
    const again = await stream(user, { message: 'once only' }, { headers });

    expect(names(again.events)).toEqual(['user_message', 'ai_message']);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.events.map((e) => e.data.id)).toEqual([
      first.events[0]?.data.id,
      first.events.at(-1)?.data.id,
    ]);
    expect((await history(user)).body.pagination.total).toBe(2);
  });
});

describe('whole code points', () => {
  it('counts an emoji split across two upstream pieces once, so resuming from any delta id loses nothing', async () => {
    const user = await newUser();

    const reply = await stream(user, { message: 'emoji [[split-emoji]]' });
    const deltas = reply.events.filter((e) => e.event === 'delta');
    const stored = reply.events.at(-1)?.data;
    const resumed = await Promise.all(
      deltas.map((delta) =>
        follow(user, stored.id, { headers: { 'Last-Event-ID': delta.id ?? '' } }),
      ),
    );

    expect(stored).toMatchObject({ status: 'complete', content: 'abc😀def' });
    expect(deltas.map((e) => e.data.content).join('')).toBe('abc😀def');
    for (const [i, delta] of deltas.entries()) {
      // What the client had at this delta, and what a resume from its id adds, is the reply.
      const had = deltas
        .slice(0, i + 1)
        .map((e) => e.data.content)
        .join('');
      const rest = resumed[i]?.events
        .filter((e) => e.event === 'delta')
        .map((e) => e.data.content)
        .join('');
      expect(delta.id).toBe(String([...had].length));
      expect(`${had}${rest}`).toBe('abc😀def');
    }
  });

  it('never stores a lone surrogate: half a pair becomes U+FFFD', async () => {
    const user = await newUser();

    const reply = await stream(user, { message: 'broken [[lone]]' });
    const page = await history(user);

    expect(reply.events.at(-1)?.data.content).toBe('x\ufffdy');
    expect(page.body.messages[1].content).toBe('x\ufffdy');
  });
});

describe('a reply larger than an item', () => {
  it('is stored whole across items and read back whole by history, export and follow', async () => {
    const user = await newUser();

    const reply = await stream(user, { message: 'everything [[huge:600]]' });
    const stored = reply.events.find((e) => e.event === 'ai_message')?.data;
    const page = await history(user);
    const followed = await follow(user, stored.id);
    const exported = await fetch(`${apiUrl}/api/chat/ai/export?format=jsonl`, {
      headers: { Authorization: `Bearer ${user.token}` },
    }).then((response) => response.text());
    const streamed = reply.events
      .filter((e) => e.event === 'delta')
      .map((e) => e.data.content)
      .join('');

    expect(stored).toMatchObject({ status: 'complete' });
    expect(Buffer.byteLength(stored.content)).toBe(600 * 1024);
    expect(streamed).toBe(stored.content);
    expect(page.body.messages[1]).toMatchObject({ id: stored.id, content: stored.content });
    expect(
      followed.events
        .filter((e) => e.event === 'delta')
        .map((e) => e.data.content)
        .join(''),
    ).toBe(stored.content);
    expect(JSON.parse(exported.trim().split('\n')[1] as string).content).toBe(stored.content);
  });
});
