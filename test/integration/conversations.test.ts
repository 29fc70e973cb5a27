import { describe, expect, it } from 'vitest';
import { call, history, newUser, send, type TestUser } from '../support/api.ts';

const contents = (reply: { body: { messages: { content: string }[] } }) =>
  reply.body.messages.map((m) => m.content);

async function fill(user: TestUser, count: number, room?: string) {
  for (let i = 0; i < count; i++) await send(user, `m${i}`, room ? { room_id: room } : {});
}

describe('history order and cursors', () => {
  it('pages newest first with order=desc', async () => {
    const user = await newUser();
    await fill(user, 3);

    const first = await history(user, 'order=desc&limit=4');
    const second = await history(user, 'order=desc&limit=4&page=2');

    expect(contents(first)).toEqual(['reply to: m2', 'm2', 'reply to: m1', 'm1']);
    expect(contents(second)).toEqual(['reply to: m0', 'm0']);
    expect(first.body.pagination).toMatchObject({ page: 1, limit: 4, total: 6, has_more: true });
    expect(second.body.pagination).toMatchObject({ has_more: false, next_cursor: null });
  });

  it('walks the whole history by next_cursor in either order, with no gap or repeat', async () => {
    const user = await newUser();
    await fill(user, 7);
    const everything = contents(await history(user, 'limit=100'));

    for (const order of ['asc', 'desc']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `order=${order}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const reply = await history(user, query);
        seen.push(...contents(reply));
        cursor = reply.body.pagination.next_cursor;
        pages += 1;
      } while (cursor && pages < 10);

      expect(pages).toBe(5);
      expect(seen).toEqual(order === 'asc' ? everything : [...everything].reverse());
    }
  });

  it('keeps a cursor stable while new messages arrive ("load older")', async () => {
    const user = await newUser();
    await fill(user, 4);
    const newest = await history(user, 'order=desc&limit=4');

    await send(user, 'arrived later');
    const older = await history(
      user,
      `order=desc&limit=4&cursor=${newest.body.pagination.next_cursor}`,
    );

    expect(contents(older)).toEqual(['reply to: m1', 'm1', 'reply to: m0', 'm0']);
  });

  it('answers 400 to a forged cursor, a cursor of the other order, or an unknown order', async () => {
    const user = await newUser();
    await fill(user, 3);
    const asc = await history(user, 'limit=2');

    const forged = await history(user, 'cursor=bm90LWEtY3Vyc29y');
    const crossed = await history(user, `order=desc&cursor=${asc.body.pagination.next_cursor}`);
    const sideways = await history(user, 'order=sideways');

    expect(forged).toMatchObject({
      status: 400,
      body: { success: false, error: expect.stringMatching(/cursor/) },
    });
    expect(crossed).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/cursor/) },
    });
    expect(sideways).toMatchObject({
      status: 400,
      body: { error: 'order must be "asc" or "desc"' },
    });
  });
});

describe('rooms', () => {
  it('lists the user’s conversations, most recent activity first, with titles, counts and the latest question', async () => {
    const user = await newUser();
    await send(user, 'about work', { room_id: 'work' });
    await send(user, 'about home', { room_id: 'home' });
    await send(user, 'more work', { room_id: 'work' });

    const reply = await call('GET', '/api/chat/ai/rooms', { token: user.token });

    expect(reply.status).toBe(200);
    expect(reply.body.rooms).toEqual([
      {
        room_id: 'work',
        title: 'about work',
        message_count: 4,
        last_message_at: expect.any(String),
        last_message_preview: 'more work',
      },
      expect.objectContaining({ room_id: 'home', message_count: 2 }),
    ]);
    expect(reply.body.pagination).toEqual({ limit: 20, has_more: false, next_cursor: null });
  });

  it('pages rooms by cursor and never shows another user’s rooms', async () => {
    const user = await newUser();
    const other = await newUser();
    for (const room of ['r1', 'r2', 'r3']) await send(user, `in ${room}`, { room_id: room });
    await send(other, 'elsewhere', { room_id: 'theirs' });

    const first = await call('GET', '/api/chat/ai/rooms?limit=2', { token: user.token });
    const second = await call(
      'GET',
      `/api/chat/ai/rooms?limit=2&cursor=${first.body.pagination.next_cursor}`,
      {
        token: user.token,
      },
    );

    expect(first.body.rooms.map((r: { room_id: string }) => r.room_id)).toEqual(['r3', 'r2']);
    expect(second.body.rooms.map((r: { room_id: string }) => r.room_id)).toEqual(['r1']);
    expect(second.body.pagination.has_more).toBe(false);
  });

  it('drops a cleared room from the list and leaves the others', async () => {
    const user = await newUser();
    await send(user, 'keep', { room_id: 'keep' });
    await send(user, 'drop', { room_id: 'drop' });

    await call('DELETE', `/api/chat/ai/history/${user.id}?room_id=drop`, { token: user.token });
    const reply = await call('GET', '/api/chat/ai/rooms', { token: user.token });

    expect(reply.body.rooms.map((r: { room_id: string }) => r.room_id)).toEqual(['keep']);
  });
});
