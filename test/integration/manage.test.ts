import { describe, expect, inject, it } from 'vitest';
import { call, history, newUser, send, type TestUser } from '../support/api.ts';
import { itemsOf, localDocumentClient, seedConversation } from '../support/seed.ts';

const db = localDocumentClient(inject('dynamoEndpoint'));
const table = inject('tableName');
const room = (user: TestUser, roomId: string, method = 'GET', body?: unknown) =>
  call(method, `/api/chat/ai/rooms/${encodeURIComponent(roomId)}`, { token: user.token, body });
const rooms = async (user: TestUser) =>
  (await call('GET', '/api/chat/ai/rooms', { token: user.token })).body.rooms as {
    room_id: string;
    title: string;
  }[];

describe('titles', () => {
  it('names a conversation after its first message, and its owner can rename it', async () => {
    const user = await newUser();
    await send(
      user,
      'What is the best way to learn the cello as an adult beginner with little time?',
      {
        room_id: 'cello',
      },
    );
    await send(user, 'And how long each day?', { room_id: 'cello' });

    const before = await room(user, 'cello');
    const renamed = await room(user, 'cello', 'PATCH', { title: '  Cello practice  ' });
    const listed = await rooms(user);

    expect(before.body.room).toMatchObject({
      room_id: 'cello',
      title: 'What is the best way to learn the cello as an adult beginner…',
      title_source: 'automatic',
      message_count: 4,
      created_at: expect.any(String),
      last_message_at: expect.any(String),
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body.room).toMatchObject({ title: 'Cello practice', title_source: 'user' });
    expect(listed).toEqual([
      expect.objectContaining({ room_id: 'cello', title: 'Cello practice' }),
    ]);
  });

  it('answers a bad title with 400, and an unknown or another user’s conversation with 404, changing nothing', async () => {
    const owner = await newUser();
    const intruder = await newUser();
    await send(owner, 'mine', { room_id: 'private' });

    const blank = await room(owner, 'private', 'PATCH', { title: '   ' });
    const long = await room(owner, 'private', 'PATCH', { title: 'x'.repeat(201) });
    const theirs = await room(intruder, 'private', 'PATCH', { title: 'hijacked' });
    const peek = await room(intruder, 'private');
    const unknown = await room(owner, 'nothing-here');

    expect(blank.status).toBe(400);
    expect(long.body.error).toMatch(/1-200 characters/);
    for (const reply of [theirs, peek, unknown]) {
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ success: false, error: 'No such conversation' });
    }
    expect((await room(owner, 'private')).body.room.title).toBe('mine');
  });
});

describe('deleting a conversation', () => {
  it('removes all 2,000 messages and the conversation itself, and leaves the others', async () => {
    const user = await newUser();
    await seedConversation(db, table, user.id, 'long', 2_000);
    await send(user, 'keep me', { room_id: 'kept' });

    const deleted = await room(user, 'long', 'DELETE');
    const again = await room(user, 'long', 'DELETE');

    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ success: true, deleted_count: 2_000 });
    expect(again.status).toBe(404);
    expect((await room(user, 'long')).status).toBe(404);
    expect((await history(user, 'room_id=long')).body.pagination.total).toBe(0);
    expect((await rooms(user)).map((r) => r.room_id)).toEqual(['kept']);
    const left = await itemsOf(db, table, user.id);
    expect(left.filter((sk) => sk.includes('long'))).toEqual([]);
    expect((await history(user, 'room_id=kept')).body.pagination.total).toBe(2);
  }, 60_000);

  it('is nobody else’s: another user deleting it is a 404 and changes nothing', async () => {
    const owner = await newUser();
    const intruder = await newUser();
    await send(owner, 'mine', { room_id: 'target' });

    const theirs = await room(intruder, 'target', 'DELETE');

    expect(theirs.status).toBe(404);
    expect((await history(owner, 'room_id=target')).body.pagination.total).toBe(2);
  });
});

describe('regenerating the last reply', () => {
  it('asks the model the same question with the same context and puts the new reply in the old one’s place', async () => {
    const user = await newUser();
    await send(user, 'My name is Ada.');
    const asked = await send(user, 'What is my name? [[echo]]');

    const again = await call('POST', '/api/chat/ai/regenerate', { token: user.token, body: {} });

    expect(again.status).toBe(200);
    expect(again.body.user_message).toEqual(asked.body.user_message);
    expect(again.body.ai_message.id).not.toBe(asked.body.ai_message.id);
    expect(JSON.parse(again.body.ai_message.content)).toEqual(
      JSON.parse(asked.body.ai_message.content),
    );
    const page = await history(user);
    expect(page.body.pagination.total).toBe(4);
    expect(page.body.messages.map((m: { id: string }) => m.id)).toEqual([
      page.body.messages[0].id,
      page.body.messages[1].id,
      asked.body.user_message.id,
      again.body.ai_message.id,
    ]);
  });

  it('streams a regenerated reply too', async () => {
    const user = await newUser();
    await send(user, 'hello there');

    const response = await fetch(`${inject('apiUrl')}/api/chat/ai/regenerate/stream`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    const text = await response.text();

    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(text).toContain('event: ai_message_started');
    expect(text).toMatch(/event: ai_message\ndata: .*"content":"reply to: hello there"/);
  });

  it('answers 409 when the conversation ends with a question or is empty', async () => {
    const user = await newUser();

    const empty = await call('POST', '/api/chat/ai/regenerate', { token: user.token, body: {} });
    await send(user, 'this fails [[fail:500]]');
    const afterFailure = await call('POST', '/api/chat/ai/regenerate', {
      token: user.token,
      body: {},
    });

    expect(empty.status).toBe(409);
    expect(empty.body.error).toMatch(/does not end with a reply/);
    // A failed reply can be regenerated: that is what the button is for.
    expect(afterFailure.status).toBe(200);
  });
});

describe('export', () => {
  it('writes a 2,000-message conversation as JSONL that parses back to exactly its history, oldest first', async () => {
    const user = await newUser();
    const roomId = `ai_chat_${user.id}`;
    await seedConversation(
      db,
      table,
      user.id,
      roomId,
      2_000,
      (i) => `line ${i} "quoted" \n newline`,
    );

    const response = await fetch(
      `${inject('apiUrl')}/api/chat/ai/export?format=jsonl&room_id=${roomId}`,
      {
        headers: { Authorization: `Bearer ${user.token}` },
      },
    );
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(
      /^attachment; filename="chat-.*\.jsonl"$/,
    );
    const exported = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(exported).toHaveLength(2_000);
    const pages = [];
    for (let page = 1; page <= 20; page++) {
      pages.push(...(await history(user, `limit=100&page=${page}`)).body.messages);
    }
    expect(exported).toEqual(pages);
  }, 60_000);

  it('writes Markdown as a transcript of every conversation, and 404s another user’s room', async () => {
    const user = await newUser();
    const intruder = await newUser();
    await send(user, 'first room', { room_id: 'a' });
    await send(user, 'second room', { room_id: 'b' });

    const response = await fetch(`${inject('apiUrl')}/api/chat/ai/export?format=markdown`, {
      headers: { Authorization: `Bearer ${user.token}` },
    });
    const text = await response.text();
    const theirs = await call('GET', '/api/chat/ai/export?room_id=a', { token: intruder.token });

    expect(response.headers.get('content-type')).toMatch(/text\/markdown/);
    expect(text).toMatch(
      /# a\n\n\*\*You\*\*, .*\n\n```text\nfirst room\n```\n\n\*\*Assistant \(gpt-4o-mini\)\*\*/,
    );
    expect(text).toContain('# b');
    expect(theirs.status).toBe(404);
  });
});

describe('deleting all my data', () => {
  it('leaves nothing of the user on any route, is harmless twice, and never touches another user', async () => {
    const user = await newUser();
    const bystander = await newUser();
    await send(user, 'one', { room_id: 'r1' });
    await send(user, 'two', { room_id: 'r2' });
    await call('POST', '/api/chat/ai/send', {
      token: user.token,
      body: { message: 'kept key' },
      headers: { 'Idempotency-Key': 'gdpr' },
    });
    await send(bystander, 'still here');

    const erased = await call('DELETE', '/api/chat/ai/me', { token: user.token });
    const twice = await call('DELETE', '/api/chat/ai/me', { token: user.token });

    expect(erased.body).toMatchObject({
      success: true,
      complete: true,
      deleted: { conversations: 3, messages: 6, api_key: true },
    });
    expect(twice.body).toMatchObject({
      success: true,
      complete: true,
      deleted: { conversations: 0, messages: 0, api_key: false },
    });
    expect(await itemsOf(db, table, user.id)).toEqual([]);
    expect((await history(user)).body.pagination.total).toBe(0);
    expect(await rooms(user)).toEqual([]);
    expect((await call('GET', '/api/chat/ai/api-key', { token: user.token })).body.has_key).toBe(
      false,
    );
    expect((await history(bystander)).body.pagination.total).toBe(2);
  });
});
