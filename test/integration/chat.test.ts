import { describe, expect, it } from 'vitest';
import { MESSAGE_OVERHEAD_TOKENS, tokenCounter } from '#chat/tokens.ts';
import { call, history, newUser, send } from '../support/api.ts';
import { CONTEXT_TOKEN_BUDGET } from '../support/global-setup.ts';

const FALLBACK =
  "I'm sorry, I'm having trouble processing your request right now. Please try again later.";

describe('sending a message', () => {
  it('stores the message and the reply, returns both, and history shows them in order', async () => {
    const user = await newUser();

    const sent = await send(user, 'Hello, who are you?');

    expect(sent.status).toBe(200);
    expect(sent.body.success).toBe(true);
    expect(sent.body.user_message).toMatchObject({
      sender_id: user.id,
      content: 'Hello, who are you?',
      message_type: 'user',
    });
    expect(sent.body.ai_message).toMatchObject({
      sender_id: 'ai-assistant',
      content: 'reply to: Hello, who are you?',
      message_type: 'ai',
    });
    expect(new Date(sent.body.user_message.timestamp).toISOString()).toBe(
      sent.body.user_message.timestamp,
    );
    const page = await history(user);
    expect(page.status).toBe(200);
    expect(page.body.messages.map((m: { id: string }) => m.id)).toEqual([
      sent.body.user_message.id,
      sent.body.ai_message.id,
    ]);
    expect(page.body.messages[0]).toEqual(sent.body.user_message);
    expect(page.body.pagination).toEqual({
      page: 1,
      limit: 50,
      total: 2,
      has_more: false,
      next_cursor: null,
    });
  });

  it('sends the earlier exchange as context, then the new message exactly once', async () => {
    const user = await newUser();
    await send(user, 'My name is Ada.');

    const second = await send(user, 'What is my name? [[echo]]');

    const seen = JSON.parse(second.body.ai_message.content) as { role: string; content: string }[];
    expect(seen.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(seen[1]?.content).toBe('My name is Ada.');
    expect(seen[2]?.content).toBe('reply to: My name is Ada.');
    expect(seen.filter((m) => m.content === 'What is my name? [[echo]]')).toHaveLength(1);
    expect(seen.at(-1)?.content).toBe('What is my name? [[echo]]');
  });

  it('sends only the newest messages that fit the token budget, starting with a question', async () => {
    const user = await newUser();
    for (let i = 1; i <= 12; i++) await send(user, `message ${i}: ${'lorem ipsum '.repeat(6)}`);

    const last = await send(user, 'what did I say? [[echo]]');

    const seen = JSON.parse(last.body.ai_message.content) as { role: string; content: string }[];
    const earlier = seen.slice(1, -1);
    const count = await tokenCounter('gpt-4o-mini');
    const cost = (m: { content: string }) => count(m.content) + MESSAGE_OVERHEAD_TOKENS;
    const used = [...earlier, seen.at(-1) as { content: string }].reduce(
      (sum, m) => sum + cost(m),
      0,
    );
    expect(used).toBeLessThanOrEqual(CONTEXT_TOKEN_BUDGET);
    expect(earlier.length).toBeGreaterThan(2);
    expect(earlier.length).toBeLessThan(24);
    expect(earlier[0]?.role).toBe('user');
    expect(earlier.at(-1)?.content).toMatch(/^reply to: message 12:/);
    expect(seen.at(-1)?.content).toBe('what did I say? [[echo]]');
    const page = await history(user, 'limit=100');
    const stored = page.body.messages.map((m: { content: string }) => m.content).slice(0, -2);
    expect(stored.slice(-earlier.length)).toEqual(earlier.map((m) => m.content));
    const nextOlder = { content: stored.at(-earlier.length - 1) as string };
    expect(
      used + cost(nextOlder) + cost({ content: stored.at(-earlier.length - 2) as string }),
    ).toBeGreaterThan(CONTEXT_TOKEN_BUDGET);
  });

  it('stores both messages when the model fails, with a fallback reply marked as an error', async () => {
    const user = await newUser();

    const sent = await send(user, 'this will break [[fail:500]]');

    expect(sent.status).toBe(200);
    expect(sent.body.ai_message.content).toBe(FALLBACK);
    expect(sent.body.ai_message.ai_model).toBe('error');
    const page = await history(user);
    expect(page.body.messages.map((m: { content: string }) => m.content)).toEqual([
      'this will break [[fail:500]]',
      FALLBACK,
    ]);
  });

  it('says plainly that the API key is invalid when the provider rejects it', async () => {
    const user = await newUser();

    const sent = await send(user, 'hello [[fail:401]]');

    expect(sent.status).toBe(200);
    expect(sent.body.ai_message.ai_model).toBe('error');
    expect(sent.body.ai_message.content).toMatch(
      /API key was rejected.*update your API key in settings/,
    );
  });

  it('leaves failed replies out of the next context', async () => {
    const user = await newUser();
    await send(user, 'first [[fail:500]]');

    const next = await send(user, 'second [[echo]]');

    const seen = JSON.parse(next.body.ai_message.content) as { content: string }[];
    expect(seen.map((m) => m.content)).not.toContain(FALLBACK);
    expect(seen.map((m) => m.content)).toContain('first [[fail:500]]');
  });

  it('stores all 20 messages of 10 concurrent sends, each with its own id', async () => {
    const user = await newUser();

    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => send(user, `concurrent ${i}`)),
    );

    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    const page = await history(user, 'limit=100');
    expect(page.body.pagination.total).toBe(20);
    expect(page.body.messages).toHaveLength(20);
    expect(new Set(page.body.messages.map((m: { id: string }) => m.id)).size).toBe(20);
    const contents = page.body.messages.map((m: { content: string }) => m.content);
    for (let i = 0; i < 10; i++) {
      expect(contents).toContain(`concurrent ${i}`);
      expect(contents).toContain(`reply to: concurrent ${i}`);
    }
  });

  it('keeps conversations apart by room_id', async () => {
    const user = await newUser();
    await send(user, 'in the default room');
    await send(user, 'in the work room', { room_id: 'work' });

    const work = await history(user, 'room_id=work');
    const main = await history(user);

    expect(work.body.messages.map((m: { content: string }) => m.content)).toEqual([
      'in the work room',
      'reply to: in the work room',
    ]);
    expect(main.body.pagination.total).toBe(2);
    expect(main.body.messages[0].room_id).toBe(`ai_chat_${user.id}`);
  });

  it('answers 400 with nothing stored when the user has no key and no fallback is set', async () => {
    const user = await newUser({ withKey: false });

    const sent = await send(user, 'hello?');

    expect(sent.status).toBe(400);
    expect(sent.body).toEqual({
      success: false,
      error: 'No API key found. Please add your OpenAI API key in settings.',
    });
    expect((await history(user)).body.pagination.total).toBe(0);
  });
});

describe('history pages', () => {
  it('pages 64 messages as 25, 25 and 14, oldest first, with no duplicates or gaps', async () => {
    const user = await newUser();
    for (let i = 0; i < 32; i += 4) {
      await Promise.all([0, 1, 2, 3].map((j) => send(user, `m${i + j}`)));
    }

    const pages = [
      await history(user, 'page=1&limit=25'),
      await history(user, 'page=2&limit=25'),
      await history(user, 'page=3&limit=25'),
    ];

    expect(pages.map((p) => p.body.messages.length)).toEqual([25, 25, 14]);
    expect(pages.map((p) => p.body.pagination.has_more)).toEqual([true, true, false]);
    expect(pages.every((p) => p.body.pagination.total === 64)).toBe(true);
    const all = pages.flatMap((p) => p.body.messages);
    expect(new Set(all.map((m: { id: string }) => m.id)).size).toBe(64);
    const contents: string[] = all.map((m: { content: string }) => m.content);
    for (let n = 0; n < 32; n++) {
      expect(contents.indexOf(`reply to: m${n}`)).toBeGreaterThan(contents.indexOf(`m${n}`));
    }
    const batches = contents
      .filter((c) => /^m\d+$/.test(c))
      .map((c) => Math.floor(Number(c.slice(1)) / 4));
    expect([...batches].sort((a, b) => a - b)).toEqual(batches);
    const beyond = await history(user, 'page=4&limit=25');
    expect(beyond.body.messages).toEqual([]);
    expect(beyond.body.pagination).toEqual({
      page: 4,
      limit: 25,
      total: 64,
      has_more: false,
      next_cursor: null,
    });
  });

  it('clamps a limit above 100 to 100 and says so', async () => {
    const user = await newUser();

    const page = await history(user, 'limit=500');

    expect(page.status).toBe(200);
    expect(page.body.pagination.limit).toBe(100);
  });
});

describe('clearing history', () => {
  it('reports how many messages it deleted and leaves other rooms and users alone', async () => {
    const user = await newUser();
    const other = await newUser();
    for (let i = 0; i < 3; i++) await send(user, `to clear ${i}`);
    await send(user, 'keep me', { room_id: 'kept' });
    await send(other, 'not yours');

    const cleared = await call('DELETE', `/api/chat/ai/history/${user.id}`, { token: user.token });

    expect(cleared.status).toBe(200);
    expect(cleared.body).toEqual({
      success: true,
      message: 'Cleared 6 messages',
      deleted_count: 6,
    });
    expect((await history(user)).body).toMatchObject({
      messages: [],
      pagination: { total: 0, has_more: false },
    });
    expect((await history(user, 'room_id=kept')).body.pagination.total).toBe(2);
    expect((await history(other)).body.pagination.total).toBe(2);
  });

  it('clears a long history across many batches, then numbers new messages from page 1', async () => {
    const user = await newUser();
    for (let i = 0; i < 30; i += 6) {
      await Promise.all([0, 1, 2, 3, 4, 5].map((j) => send(user, `long ${i + j}`)));
    }

    const cleared = await call('DELETE', `/api/chat/ai/history/${user.id}`, { token: user.token });
    await send(user, 'fresh start');

    expect(cleared.body.deleted_count).toBe(60);
    const page = await history(user);
    expect(page.body.messages.map((m: { content: string }) => m.content)).toEqual([
      'fresh start',
      'reply to: fresh start',
    ]);
    expect(page.body.pagination.total).toBe(2);
  });

  it('clears only the room it names', async () => {
    const user = await newUser();
    await send(user, 'main');
    await send(user, 'side', { room_id: 'side' });

    const cleared = await call('DELETE', `/api/chat/ai/history/${user.id}?room_id=side`, {
      token: user.token,
    });

    expect(cleared.body.deleted_count).toBe(2);
    expect((await history(user)).body.pagination.total).toBe(2);
    expect((await history(user, 'room_id=side')).body.pagination.total).toBe(0);
  });
});
