import { describe, expect, inject, it } from 'vitest';
import { keys } from '#store/table.ts';
import { call, history, newUser, send, stream } from '../support/api.ts';
import { itemsOf, localDocumentClient, seedConversation } from '../support/seed.ts';

const db = localDocumentClient(inject('dynamoEndpoint'));
const table = inject('tableName');
const clear = (user: { id: string; token: string }, query = '') =>
  call('DELETE', `/api/chat/ai/history/${user.id}${query}`, { token: user.token });

describe('clearing a long conversation', () => {
  it('clears 20,000 messages: history empty at once with total 0 and an exact count, the rest deleted by later clears', async () => {
    const user = await newUser();
    await seedConversation(db, table, user.id, `ai_chat_${user.id}`, 20_000);

    const cleared = await clear(user);

    expect(cleared.status).toBe(200);
    expect(cleared.body).toEqual({
      success: true,
      message: 'Cleared 20000 messages',
      deleted_count: 20_000,
    });
    const after = await history(user);
    expect(after.body.messages).toEqual([]);
    expect(after.body.pagination).toMatchObject({ total: 0, has_more: false });
    // Each clear deletes what its time allows (10 s here, as deployed): a few finish the rest.
    for (let i = 0; i < 5 && (await itemsOf(db, table, user.id)).length > 2; i++) {
      expect((await clear(user)).body.deleted_count).toBe(0);
    }
    expect(await itemsOf(db, table, user.id)).toEqual([
      keys.account(),
      keys.room(`ai_chat_${user.id}`),
    ]);
  }, 180_000);
});

describe('cleared text', () => {
  it('is never replayed: a repeated send or stream of a cleared exchange answers 410, with no text', async () => {
    const user = await newUser();
    const headers = { 'Idempotency-Key': 'before-the-clear' };
    const first = await call('POST', '/api/chat/ai/send', {
      token: user.token,
      body: { message: 'my secret plans' },
      headers,
    });
    await stream(user, { message: 'more secrets' }, { headers: { 'Idempotency-Key': 'streamed' } });
    expect(first.status).toBe(200);

    await clear(user);
    const again = await call('POST', '/api/chat/ai/send', {
      token: user.token,
      body: { message: 'my secret plans' },
      headers,
    });
    const streamedAgain = await stream(
      user,
      { message: 'more secrets' },
      { headers: { 'Idempotency-Key': 'streamed' } },
    );

    expect(again.status).toBe(410);
    expect(again.body).toEqual({ success: false, error: expect.stringMatching(/deleted/) });
    expect(JSON.stringify(again.body)).not.toContain('secret');
    expect(streamedAgain.status).toBe(410);
    expect(JSON.stringify(streamedAgain.json)).not.toContain('secret');
    expect((await history(user)).body.pagination.total).toBe(0);
  });

  it('leaves the title and preview of a cleared conversation with it', async () => {
    const user = await newUser();
    await send(user, 'a private question', { room_id: 'private' });

    await clear(user, '?room_id=private');
    await send(user, 'a new start', { room_id: 'private' });

    const rooms = await call('GET', '/api/chat/ai/rooms', { token: user.token });
    expect(rooms.body.rooms).toEqual([
      expect.objectContaining({
        room_id: 'private',
        title: 'a new start',
        last_message_preview: 'a new start',
      }),
    ]);
  });
});
