import { describe, expect, inject, it } from 'vitest';
import { call, follow, history, newUser, send, stream, type TestUser } from '../support/api.ts';
import { localDocumentClient, seedConversation } from '../support/seed.ts';

/**
 * Conversations as trees: edit and resend, regenerate that keeps every version, continue from an
 * earlier reply, switch between branches; the history is the active path.
 */
interface Message {
  id: string;
  content: string;
  message_type: 'user' | 'ai';
  parent_id: string | null;
  sibling_ids: string[];
  status: string;
}

const path = async (user: TestUser, roomId: string): Promise<Message[]> =>
  (await history(user, `room_id=${encodeURIComponent(roomId)}&limit=100`)).body.messages;
const texts = (messages: Message[]) => messages.map((m) => m.content);
const regenerate = (user: TestUser, body: Record<string, unknown>) =>
  call('POST', '/api/chat/ai/regenerate', { token: user.token, body });
const activate = (user: TestUser, roomId: string, messageId: string) =>
  call('PUT', `/api/chat/ai/rooms/${encodeURIComponent(roomId)}/active`, {
    token: user.token,
    body: { message_id: messageId },
  });

/** Sends the questions in turn into `roomId`; the fake model answers `reply to: <question>`. */
async function conversation(user: TestUser, roomId: string, questions: string[]) {
  for (const question of questions) {
    const reply = await send(user, question, { room_id: roomId });
    expect(reply.status).toBe(200);
  }
  return path(user, roomId);
}

describe('edit and resend', () => {
  it('answers an edited question on a new branch, keeps the old one, and switches back by sibling', async () => {
    const user = await newUser();
    const before = await conversation(user, 'edit', ['one', 'two', 'three']);
    const second = before[2] as Message;

    const edited = await send(user, 'two, edited', { room_id: 'edit', edit_of: second.id });
    const after = await path(user, 'edit');
    const back = await activate(user, 'edit', second.id);
    const restored = await path(user, 'edit');

    expect(edited.status).toBe(200);
    expect(edited.body.user_message).toMatchObject({
      content: 'two, edited',
      parent_id: before[1]?.id,
      sibling_ids: [second.id, edited.body.user_message.id],
    });
    expect(edited.body.ai_message).toMatchObject({
      content: 'reply to: two, edited',
      parent_id: edited.body.user_message.id,
    });
    expect(texts(after)).toEqual(['one', 'reply to: one', 'two, edited', 'reply to: two, edited']);
    expect(after[2]?.sibling_ids).toEqual([second.id, edited.body.user_message.id]);
    expect(back.status).toBe(200);
    expect(back.body.room).toMatchObject({ room_id: 'edit', active_leaf_id: before[5]?.id });
    expect(restored).toEqual(
      before.map((m, i) => (i === 2 ? { ...m, sibling_ids: after[2]?.sibling_ids } : m)),
    );
    expect((await history(user, 'room_id=edit')).body.pagination.total).toBe(6);
  });

  it('sends the model only the path above the edited question', async () => {
    const user = await newUser();
    const before = await conversation(user, 'context', ['alpha', 'beta', 'gamma']);

    const edited = await send(user, 'beta again [[echo]]', {
      room_id: 'context',
      edit_of: before[2]?.id,
    });
    const seen = JSON.parse(edited.body.ai_message.content) as { role: string; content: string }[];

    expect(seen.filter((m) => m.role !== 'system').map((m) => m.content)).toEqual([
      'alpha',
      'reply to: alpha',
      'beta again [[echo]]',
    ]);
  });
});

describe('regenerate', () => {
  it('keeps every version as a sibling, and switches among four versions', async () => {
    const user = await newUser();
    const before = await conversation(user, 'versions', ['pick a number']);
    const first = before[1] as Message;

    const regenerated = [];
    for (let i = 0; i < 3; i++) regenerated.push(await regenerate(user, { room_id: 'versions' }));
    const versions = [first.id, ...regenerated.map((r) => r.body.ai_message.id as string)];
    const shown = [];
    for (const id of versions) {
      expect((await activate(user, 'versions', id)).status).toBe(200);
      shown.push((await path(user, 'versions'))[1]);
    }

    expect(regenerated.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(versions).size).toBe(4);
    for (const [i, message] of shown.entries()) {
      expect(message).toMatchObject({
        id: versions[i],
        sibling_ids: versions,
        parent_id: before[0]?.id,
      });
    }
  });

  it('regenerates a reply above the leaf, keeping what followed it on its own branch', async () => {
    const user = await newUser();
    const before = await conversation(user, 'middle', ['first', 'second']);

    const again = await regenerate(user, { room_id: 'middle', message_id: before[1]?.id });
    const after = await path(user, 'middle');
    await activate(user, 'middle', before[1]?.id as string);
    const restored = await path(user, 'middle');

    expect(again.status).toBe(200);
    expect(texts(after)).toEqual(['first', 'reply to: first']);
    expect(after[1]?.id).toBe(again.body.ai_message.id);
    expect(texts(restored)).toEqual(texts(before));
  });

  it('answers a repeated Idempotency-Key with the first answer, even after a regenerate', async () => {
    const user = await newUser();
    const key = { 'Idempotency-Key': `tree-${crypto.randomUUID()}` };
    const first = await call('POST', '/api/chat/ai/send', {
      token: user.token,
      body: { message: 'keep me', room_id: 'idem' },
      headers: key,
    });
    await regenerate(user, { room_id: 'idem' });

    const replay = await call('POST', '/api/chat/ai/send', {
      token: user.token,
      body: { message: 'keep me', room_id: 'idem' },
      headers: key,
    });

    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.ai_message.id).toBe(first.body.ai_message.id);
    expect(replay.body.user_message.id).toBe(first.body.user_message.id);
  });
});

describe('continue from an earlier reply', () => {
  it('starts a new branch after a reply that is not the leaf', async () => {
    const user = await newUser();
    const before = await conversation(user, 'fork', ['a', 'b', 'c']);

    const forked = await send(user, 'after a', { room_id: 'fork', parent_id: before[1]?.id });
    const after = await path(user, 'fork');

    expect(forked.body.user_message).toMatchObject({
      parent_id: before[1]?.id,
      sibling_ids: [before[2]?.id, forked.body.user_message.id],
    });
    expect(texts(after)).toEqual(['a', 'reply to: a', 'after a', 'reply to: after a']);
    // A send with neither follows the active leaf: the new branch.
    await send(user, 'and then', { room_id: 'fork' });
    expect(texts(await path(user, 'fork')).slice(4)).toEqual(['and then', 'reply to: and then']);
  });
});

describe('a tree under concurrency', () => {
  it('keeps one path of 200 messages for 100 racing sends, and one version each for racing regenerates', async () => {
    const user = await newUser();
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => send(user, `race ${i}`, { room_id: 'race' })),
    );
    const pages = await Promise.all(
      [1, 2].map((page) => history(user, `room_id=race&limit=100&page=${page}`)),
    );
    const messages = pages.flatMap((page) => page.body.messages as Message[]);

    const regenerated = await Promise.all(
      Array.from({ length: 5 }, () => regenerate(user, { room_id: 'race' })),
    );
    const leaf = (await history(user, 'room_id=race&order=desc&limit=1')).body
      .messages[0] as Message;

    expect(messages).toHaveLength(200);
    messages.forEach((message, i) => {
      expect(message.parent_id).toBe(i === 0 ? null : messages[i - 1]?.id);
    });
    expect(regenerated.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect(leaf.sibling_ids).toHaveLength(6);
    expect(new Set(leaf.sibling_ids)).toEqual(
      new Set([messages[199]?.id, ...regenerated.map((r) => r.body.ai_message.id)]),
    );
  });
});

describe('bad tree references', () => {
  it('answers unknown or another user’s ids with 404, ids of the wrong kind with 400', async () => {
    const user = await newUser();
    const other = await newUser();
    const mine = await conversation(user, 'refs', ['q']);
    const theirs = await conversation(other, 'refs', ['theirs']);

    const cases: [Promise<{ status: number }>, number][] = [
      [send(user, 'x', { room_id: 'refs', edit_of: theirs[0]?.id }), 404],
      [send(user, 'x', { room_id: 'refs', parent_id: '01JF0Z5Q8W6W3V7G2X4N9K1B2C' }), 404],
      [send(user, 'x', { room_id: 'refs', edit_of: mine[1]?.id }), 400],
      [send(user, 'x', { room_id: 'refs', parent_id: mine[0]?.id }), 400],
      [send(user, 'x', { room_id: 'refs', parent_id: mine[1]?.id, edit_of: mine[0]?.id }), 400],
      [regenerate(user, { room_id: 'refs', message_id: mine[0]?.id }), 400],
      [regenerate(user, { room_id: 'refs', message_id: theirs[1]?.id }), 404],
      [activate(user, 'refs', theirs[1]?.id as string), 404],
      [activate(other, 'refs', mine[1]?.id as string), 404],
    ];
    for (const [reply, status] of cases) expect((await reply).status).toBe(status);
    expect(texts(await path(user, 'refs'))).toEqual(['q', 'reply to: q']);
  });

  it('refuses to regenerate or branch from a reply still being written', async () => {
    const user = await newUser();
    let replyId = '';
    const streaming = stream(
      user,
      { message: 'slowly [[slow:300]] one two three four five six', room_id: 'busy' },
      {
        stopAfter: (event) => {
          if (event.event === 'ai_message_started') replyId = event.data.id;
          return false;
        },
      },
    );
    while (!replyId) await new Promise((resume) => setTimeout(resume, 50));

    const again = await regenerate(user, { room_id: 'busy', message_id: replyId });
    const after = await send(user, 'next', { room_id: 'busy', parent_id: replyId });
    await streaming;

    expect(again.status).toBe(409);
    expect(after.status).toBe(409);
  });

  it('answers the 101st version at one place with 409', async () => {
    const user = await newUser();
    await conversation(user, 'many', ['again and again']);
    for (let i = 0; i < 99; i++)
      expect((await regenerate(user, { room_id: 'many' })).status).toBe(200);

    const over = await regenerate(user, { room_id: 'many' });

    expect(over.status).toBe(409);
    expect(over.body.error).toMatch(/100 versions/);
    expect((await path(user, 'many'))[1]?.sibling_ids).toHaveLength(100);
  }, 120_000);
});

describe('parts and metadata', () => {
  it('gives every message parts and metadata, and round-trips a client’s own metadata', async () => {
    const user = await newUser();
    const metadata = { draft: 3, tags: ['a', 'b'], nested: { ok: true } };

    const sent = await send(user, 'with metadata', { room_id: 'meta', metadata });
    const tooBig = await send(user, 'too much', {
      room_id: 'meta',
      metadata: { x: 'y'.repeat(5_000) },
    });
    const [question, reply] = await path(user, 'meta');

    expect(question).toMatchObject({
      parts: [{ type: 'text', text: 'with metadata' }],
      metadata,
    });
    expect(reply).toMatchObject({
      parts: [{ type: 'text', text: 'reply to: with metadata' }],
      metadata: {
        model: 'gpt-4o-mini',
        usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
        finish_reason: 'stop',
        first_token_ms: expect.any(Number),
        duration_ms: expect.any(Number),
      },
    });
    expect(sent.body.user_message.metadata).toEqual(metadata);
    expect(tooBig.status).toBe(413);
  });

  it('takes a message as parts instead of text', async () => {
    const user = await newUser();

    const sent = await call('POST', '/api/chat/ai/send', {
      token: user.token,
      body: {
        room_id: 'parts',
        parts: [
          { type: 'text', text: 'hello ' },
          { type: 'text', text: 'parts' },
        ],
      },
    });

    expect(sent.status).toBe(200);
    expect(sent.body.user_message).toMatchObject({
      content: 'hello parts',
      parts: [
        { type: 'text', text: 'hello ' },
        { type: 'text', text: 'parts' },
      ],
    });
  });
});

describe('reasoning', () => {
  it('streams, stores and resumes a reasoning part, kept out of content and out of the next prompt', async () => {
    const user = await newUser();

    const reply = await stream(user, { message: 'think first [[reasoning]]', room_id: 'think' });
    const started = reply.events.find((e) => e.event === 'ai_message_started')?.data;
    const stored = reply.events.find((e) => e.event === 'ai_message')?.data;
    const reasoning = reply.events.filter((e) => e.event === 'reasoning');
    const resumed = await follow(user, started.id, {
      headers: { 'Last-Event-ID': reasoning[1]?.id ?? '' },
    });
    const [, shown] = await path(user, 'think');
    const next = await send(user, 'what did you say? [[echo]]', { room_id: 'think' });
    const prompt = JSON.parse(next.body.ai_message.content) as { content: string }[];

    const thought = 'Let me think. The user asked something; I will answer.';
    expect(reasoning.map((e) => e.data.content).join('')).toBe(thought);
    expect(reasoning.map((e) => e.id)).toEqual(['r14', 'r29', 'r40', 'r54']);
    expect(stored).toMatchObject({
      content: 'reply to: think first [[reasoning]]',
      parts: [
        { type: 'reasoning', text: thought },
        { type: 'text', text: 'reply to: think first [[reasoning]]' },
      ],
    });
    expect(shown).toMatchObject({ content: stored.content, parts: stored.parts });
    expect(
      resumed.events
        .filter((e) => e.event === 'reasoning')
        .map((e) => e.data.content)
        .join(''),
    ).toBe(thought.slice(29));
    expect(
      resumed.events
        .filter((e) => e.event === 'delta')
        .map((e) => e.data.content)
        .join(''),
    ).toBe(stored.content);
    expect(prompt.map((m) => m.content).join(' ')).not.toContain('Let me think');
    expect(prompt.map((m) => m.content)).toContain(stored.content);
  });

  it('reads reasoning from servers that call it `reasoning`', async () => {
    const user = await newUser();

    const sent = await send(user, 'think [[reasoning:field]]', { room_id: 'think-field' });

    expect(sent.body.ai_message.parts[0]).toMatchObject({
      type: 'reasoning',
      text: expect.stringMatching(/^Let me think/),
    });
  });
});

describe('data written before the tree', () => {
  it('reads as one path of text parts, and can be continued and edited', async () => {
    const user = await newUser();
    const db = localDocumentClient(inject('dynamoEndpoint'));
    await seedConversation(db, inject('tableName'), user.id, 'legacy', 6);

    const before = await path(user, 'legacy');
    const continued = await send(user, 'new after old', { room_id: 'legacy' });
    const edited = await send(user, 'edit an old one', {
      room_id: 'legacy',
      edit_of: before[2]?.id,
    });

    expect(texts(before)).toEqual(Array.from({ length: 6 }, (_, i) => `message ${i + 1}`));
    before.forEach((message, i) => {
      expect(message.parent_id).toBe(i === 0 ? null : before[i - 1]?.id);
      expect(message.sibling_ids).toEqual([message.id]);
    });
    expect(continued.body.user_message.parent_id).toBe(before[5]?.id);
    expect(edited.status).toBe(200);
    expect(edited.body.user_message.sibling_ids).toEqual([
      before[2]?.id,
      edited.body.user_message.id,
    ]);
  });
});
