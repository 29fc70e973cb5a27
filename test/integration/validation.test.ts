import { describe, expect, it } from 'vitest';
import { call, history, newUser, send } from '../support/api.ts';

describe('bad input', () => {
  it('answers 400 to page and limit values that are not positive integers', async () => {
    const user = await newUser();
    for (const query of [
      'page=abc',
      'page=0',
      'page=-1',
      'page=1.5',
      'limit=-5',
      'limit=0',
      'limit=ten',
      'page=',
    ]) {
      const reply = await history(user, query);
      expect(reply.status, query).toBe(400);
      expect(reply.body.success).toBe(false);
      expect(reply.body.error).toMatch(/(page|limit) must be a positive integer/);
    }
  });

  it('answers 400 to a send with no message, a blank one, or one of the wrong type', async () => {
    const user = await newUser();
    const cases: [unknown, RegExp][] = [
      [{}, /Message is required/],
      [{ message: '   \n ' }, /Message is required/],
      [{ message: 42 }, /message must be a string/],
      [{ message: 'ok', room_id: 'line\nbreak' }, /room_id must not contain control characters/],
      [{ message: 'ok', room_id: 'x'.repeat(301) }, /room_id must be 1-300 characters/],
      [{ message: 'ok', room_id: 7 }, /room_id must be a string/],
      ['{"message": ', /valid JSON/],
      ['[1,2]', /JSON object/],
      ['', /valid JSON/],
    ];
    for (const [body, error] of cases) {
      const reply = await call('POST', '/api/chat/ai/send', { token: user.token, body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body).toEqual({ success: false, error: expect.stringMatching(error) });
    }
    expect((await history(user)).body.pagination.total).toBe(0);
  });

  it('takes room ids of up to 300 characters in any script, each its own conversation', async () => {
    const user = await newUser();
    const rooms = [
      '会'.repeat(300),
      `${'会'.repeat(299)}話`,
      '😀'.repeat(300),
      `a${'é'.repeat(299)}`,
    ];

    const sent = await Promise.all(
      rooms.map((room_id) => send(user, `hi ${room_id.length}`, { room_id })),
    );
    const pages = await Promise.all(
      rooms.map((room_id) => history(user, `room_id=${encodeURIComponent(room_id)}`)),
    );
    const summaries = await Promise.all(
      rooms.map((room_id) =>
        call('GET', `/api/chat/ai/rooms/${encodeURIComponent(room_id)}`, { token: user.token }),
      ),
    );
    const over = await send(user, 'too long', { room_id: '会'.repeat(301) });
    const listed = await call('GET', '/api/chat/ai/rooms', { token: user.token });

    expect(sent.map((reply) => reply.status)).toEqual([200, 200, 200, 200]);
    for (const [i, page] of pages.entries()) {
      expect(page.body.pagination.total).toBe(2);
      expect(page.body.messages[0]).toMatchObject({
        room_id: rooms[i],
        content: `hi ${rooms[i]?.length}`,
      });
      expect(summaries[i]?.body.room).toMatchObject({ room_id: rooms[i], message_count: 2 });
    }
    expect(over.status).toBe(400);
    expect(over.body.error).toMatch(/room_id must be 1-300 characters/);
    expect(listed.body.rooms.map((room: { room_id: string }) => room.room_id).sort()).toEqual(
      [...rooms].sort(),
    );
  });

  it('answers 400 to a room id that is not valid Unicode text', async () => {
    const user = await newUser();

    const reply = await call('POST', '/api/chat/ai/send', {
      token: user.token,
      body: '{"message": "hi", "room_id": "half \\ud83d of a pair"}',
    });

    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/room_id must be valid Unicode text/);
  });

  it('answers 413 to a message over 16,000 characters and stores nothing', async () => {
    const user = await newUser();

    const tooLong = await send(user, 'é'.repeat(16_001));
    const atLimit = await send(user, 'é'.repeat(16_000));

    expect(tooLong.status).toBe(413);
    expect(tooLong.body.error).toMatch(/at most 16000 characters/);
    expect(atLimit.status).toBe(200);
    expect((await history(user)).body.pagination.total).toBe(2);
  });

  it('answers 413 to a body over the size limit', async () => {
    const user = await newUser();

    const reply = await call('POST', '/api/chat/ai/send', {
      token: user.token,
      body: { message: 'hi', padding: 'x'.repeat(300_000) },
    });

    expect(reply.status).toBe(413);
    expect(reply.body.success).toBe(false);
  });

  it('answers 404 as JSON to a route that does not exist', async () => {
    const reply = await call('GET', '/api/nothing-here');

    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ success: false, error: 'Not found' });
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin with the methods and headers the route takes', async () => {
    const reply = await fetch(
      `${(await import('../support/api.ts')).apiUrl}/api/chat/ai/history/u1`,
      {
        method: 'OPTIONS',
        headers: { Origin: 'http://app.example', 'Access-Control-Request-Method': 'DELETE' },
      },
    );

    expect(reply.status).toBe(204);
    expect(reply.headers.get('access-control-allow-origin')).toBe('http://app.example');
    expect(reply.headers.get('access-control-allow-methods')).toContain('DELETE');
    expect(reply.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('puts the CORS header on errors as well as successes, and only for allowed origins', async () => {
    const allowed = await call('GET', '/api/chat/ai/history/u1', {
      headers: { Origin: 'http://app.example' },
    });
    const other = await call('GET', '/health', { headers: { Origin: 'http://evil.example' } });

    expect(allowed.status).toBe(401);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.example');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('Retry-After');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
