import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RouteSpec } from '#api/route-spec.ts';
import { routes } from '#api/routes.ts';
import { apiUrl, call, history, newUser, send, type TestUser } from '../support/api.ts';
import { badCredentials } from './tokens.ts';

/**
 * Our own adversarial suite: forged tokens on every authenticated route, a second user trying
 * every way to reach the first one's data, and a seeded fuzzer sending hundreds of malformed
 * requests to every route. The figures are printed; the victim's data is compared before and
 * after.
 */
const figures = {
  tokensTried: 0,
  tokensRefused: 0,
  crossUserSuccesses: 0,
  fuzzed: 0,
  serverErrors: 0,
};
const MARKER = `VICTIM-SECRET-${crypto.randomUUID()}`;
const FUZZ_PER_ROUTE = 500;

let victim: TestUser;
let attacker: TestUser;
let before: unknown;
/** The victim's send made with an Idempotency-Key the attacker then reuses. */
let victimKeyed: { user_message: { id: string } };
const SHARED_KEY = { 'Idempotency-Key': 'shared-key-1' };

/** encodeURIComponent that does not throw on a lone surrogate (the fuzzer makes them). */
function encode(text: string) {
  return encodeURIComponent(text.toWellFormed());
}

/** Everything the victim can see of their own data. */
async function snapshot(user: TestUser) {
  const rooms = await call('GET', '/api/chat/ai/rooms', { token: user.token });
  const pages = await Promise.all(
    ['', 'room_id=secret-room'].map((q) => history(user, `limit=100${q ? `&${q}` : ''}`)),
  );
  const key = await call('GET', '/api/chat/ai/api-key', { token: user.token });
  return { rooms: rooms.body, pages: pages.map((p) => p.body), key: key.body };
}

/** A concrete path for a route (`{userId}` and the like filled in). */
function pathOf(
  route: RouteSpec,
  fill: { userId?: string; roomId?: string; messageId?: string } = {},
) {
  return route.path
    .replace('{userId}', encode(fill.userId ?? 'someone'))
    .replace('{roomId}', encode(fill.roomId ?? 'some-room'))
    .replace('{messageId}', fill.messageId ?? '01JF0Z5Q8W6W3V7G2X4N9K1B2C');
}

/** A request as it goes on the wire, answered with its status and raw text. */
async function raw(
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string } = {},
) {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: init.headers,
    body: init.body,
  });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

beforeAll(async () => {
  victim = await newUser();
  attacker = await newUser();
  await send(victim, `my secret is ${MARKER}`);
  await send(victim, `another ${MARKER}`, { room_id: 'secret-room' });
  const keyed = await call('POST', '/api/chat/ai/send', {
    token: victim.token,
    body: { message: 'same body' },
    headers: SHARED_KEY,
  });
  expect(keyed.status).toBe(200);
  victimKeyed = keyed.body;
  before = await snapshot(victim);
});

afterAll(() => {
  console.log(
    `adversarial suite: tokens refused ${figures.tokensRefused} / tried ${figures.tokensTried}; ` +
      `cross-user successes ${figures.crossUserSuccesses}; fuzzed requests ${figures.fuzzed}; ` +
      `5xx ${figures.serverErrors}`,
  );
});

describe('forged and malformed tokens', () => {
  it('are refused with 401, on every authenticated route, every one of them', async () => {
    const credentials = await badCredentials(inject('jwtSecret'), victim.id);
    expect(credentials.length).toBeGreaterThanOrEqual(25);
    for (const route of routes.filter((r) => r.auth)) {
      for (const credential of credentials) {
        const query = credential.query ? `?${credential.query}` : '';
        const reply = await raw(route.method, `${pathOf(route, { userId: victim.id })}${query}`, {
          headers: {
            ...(credential.authorization ? { Authorization: credential.authorization } : {}),
            ...(credential.cookie ? { Cookie: credential.cookie } : {}),
            'Content-Type': 'application/json',
          },
          body: ['GET', 'DELETE'].includes(route.method) ? undefined : '{"message":"hi"}',
        });
        figures.tokensTried += 1;
        if (reply.status === 401) figures.tokensRefused += 1;
        expect(reply.status, `${credential.name} on ${route.method} ${route.path}`).toBe(401);
        expect(JSON.parse(reply.text)).toEqual({ success: false, error: expect.any(String) });
        expect(reply.text).not.toContain(MARKER);
      }
    }
    expect(figures.tokensRefused).toBe(figures.tokensTried);
  }, 120_000);
});

describe('a second user', () => {
  const breach = (what: string, reply: { status: number; text: string }) => {
    if (reply.text.includes(MARKER)) {
      figures.crossUserSuccesses += 1;
      throw new Error(`${what} showed the victim's data`);
    }
  };

  it('cannot reach another user through path ids, whatever their spelling', async () => {
    const variants = [
      victim.id,
      victim.id.toUpperCase(),
      encodeURIComponent(encodeURIComponent(victim.id)),
      `${victim.id}/`,
      `../${victim.id}`,
      `..%2f${victim.id}`,
      `${victim.id}%00`,
      `${victim.id}%23ROOM`,
      victim.id.replace('e', '\u0435'),
      `USER%23${victim.id}`,
    ];
    for (const variant of variants) {
      for (const method of ['GET', 'DELETE']) {
        const reply = await raw(method, `/api/chat/ai/history/${variant}`, {
          headers: { Authorization: `Bearer ${attacker.token}` },
        });
        breach(`${method} history/${variant}`, reply);
        if (reply.status < 300) figures.crossUserSuccesses += 1;
        expect(reply.status, `${method} ${variant}`).toBeGreaterThanOrEqual(400);
        expect(reply.status, `${method} ${variant}`).toBeLessThan(500);
      }
    }
  });

  it('names another user’s rooms, key-shaped ids, cursors, idempotency keys and replies, and sees only their own', async () => {
    const rooms = [
      `ai_chat_${victim.id}`,
      'secret-room',
      `USER#${victim.id}`,
      `${victim.id}#ROOM#secret-room`,
      `ROOM#secret-room`,
      `../${victim.id}`,
      'MSG#secret-room#000000000000001',
    ];
    const as = { token: attacker.token };
    for (const room of rooms) {
      const q = encodeURIComponent(room);
      const attempts = [
        await call('GET', `/api/chat/ai/history/${attacker.id}?room_id=${q}`, as),
        await call('GET', `/api/chat/ai/rooms/${q}`, as),
        await call('PATCH', `/api/chat/ai/rooms/${q}`, { ...as, body: { title: 'mine now' } }),
        await call('POST', '/api/chat/ai/regenerate', { ...as, body: { room_id: room } }),
        await call('POST', '/api/chat/ai/send', { ...as, body: { message: 'hi', room_id: room } }),
        await call('DELETE', `/api/chat/ai/rooms/${q}`, as),
        await call('DELETE', `/api/chat/ai/history/${attacker.id}?room_id=${q}`, as),
      ];
      const exported = await raw('GET', `/api/chat/ai/export?room_id=${q}`, {
        headers: { Authorization: `Bearer ${attacker.token}` },
      });
      for (const reply of attempts)
        breach(room, { status: reply.status, text: JSON.stringify(reply.body) });
      breach(`export ${room}`, exported);
    }
    for (const route of ['/api/chat/ai/send', '/api/chat/ai/stream', '/api/chat/ai/regenerate']) {
      const reply = await call('POST', route, {
        ...as,
        body: { message: 'hi', user_id: victim.id },
      });
      expect(reply.status, route).toBe(403);
    }

    const victimPage = await history(victim, 'order=desc&limit=1');
    const victimRooms = await call('GET', '/api/chat/ai/rooms?limit=1', { token: victim.token });
    const withCursor = await raw(
      'GET',
      `/api/chat/ai/history/${attacker.id}?order=desc&limit=5&cursor=${victimPage.body.pagination.next_cursor}`,
      { headers: { Authorization: `Bearer ${attacker.token}` } },
    );
    const withRoomsCursor = await raw(
      'GET',
      `/api/chat/ai/rooms?cursor=${victimRooms.body.pagination.next_cursor}`,
      { headers: { Authorization: `Bearer ${attacker.token}` } },
    );
    breach('history cursor', withCursor);
    breach('rooms cursor', withRoomsCursor);

    const mine = await call('POST', '/api/chat/ai/send', {
      ...as,
      body: { message: 'same body' },
      headers: SHARED_KEY,
    });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('idempotent-replayed')).toBeNull();
    expect(mine.body.user_message.id).not.toBe(victimKeyed.user_message.id);

    const reply = victimPage.body.messages[0];
    const follow = await raw('GET', `/api/chat/ai/stream/${reply.id}`, {
      headers: { Authorization: `Bearer ${attacker.token}` },
    });
    const stop = await call('POST', `/api/chat/ai/stream/${reply.id}/stop`, as);
    expect(follow.status).toBe(404);
    expect(stop.status).toBe(404);
    breach('follow', follow);
    expect(figures.crossUserSuccesses).toBe(0);
  });
});

describe('a seeded fuzzer', () => {
  /** mulberry32: the same requests on every run. */
  function prng(seed: number) {
    let state = seed;
    return () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it(`sends ${FUZZ_PER_ROUTE} malformed requests to every route and gets no 5xx, only clear JSON errors`, async () => {
    const random = prng(20261124);
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
    const junk = (): unknown =>
      pick([
        null,
        true,
        -1,
        1e308,
        Number.MAX_SAFE_INTEGER,
        '',
        ' ',
        'x'.repeat(Math.floor(random() * 70_000)),
        '😀'.repeat(Math.floor(random() * 20_000)),
        '\u0000\u202e\ud800',
        '<script>alert(1)</script>',
        "'; DROP TABLE users; --",
        '__proto__',
        [],
        [1, 'two', { three: 3 }],
        { __proto__: { polluted: true } },
        { constructor: { prototype: { polluted: true } } },
        JSON.parse(`${'{"a":'.repeat(200)}1${'}'.repeat(200)}`),
      ]);
    const fuzzUser = await newUser();
    const fields = ['message', 'room_id', 'user_id', 'model', 'title', 'api_key', 'stream'];
    const queries = [
      'page',
      'limit',
      'room_id',
      'order',
      'cursor',
      'offset',
      'format',
      '__proto__',
    ];
    for (const route of routes) {
      const requests = Array.from({ length: FUZZ_PER_ROUTE }, () => {
        const kind = random();
        let body: string | undefined;
        if (kind < 0.25) body = pick(['{', '[]', 'null', '"text"', '{"a":1}}', '\u0000', '{}{}']);
        else if (kind < 0.75) {
          body = JSON.stringify(
            Object.fromEntries(fields.filter(() => random() < 0.5).map((f) => [f, junk()])),
          );
        }
        const query = queries
          .filter(() => random() < 0.3)
          .map((q) => `${q}=${encode(String(junk()).slice(0, 2_000))}`)
          .join('&');
        const headers: Record<string, string> = {
          Authorization: `Bearer ${fuzzUser.token}`,
          'Content-Type': pick([
            'application/json',
            'text/plain',
            'application/x-www-form-urlencoded',
          ]),
        };
        if (random() < 0.3)
          headers['Idempotency-Key'] = pick(['', ' ', 'ü', 'x'.repeat(300), 'ok-key']);
        if (random() < 0.3) headers['Last-Event-ID'] = pick(['-1', 'abc', '99999999999', '0']);
        const path = pathOf(route, {
          userId: pick([fuzzUser.id, '', '%', '%E0%A4%A', '..', String(junk()).slice(0, 300)]),
          roomId: pick(['r', '%', '%E0%A4%A', String(junk()).slice(0, 300)]),
          messageId: pick(['x', '%FF', '0'.repeat(100), '../../etc/passwd']),
        });
        return { path: `${path}${query ? `?${query}` : ''}`, headers, body };
      });
      for (let i = 0; i < requests.length; i += 10) {
        await Promise.all(
          requests.slice(i, i + 10).map(async (request) => {
            const reply = await raw(route.method, request.path, {
              headers: request.headers,
              body: ['GET', 'DELETE'].includes(route.method) ? undefined : request.body,
            });
            figures.fuzzed += 1;
            if (reply.status >= 500) {
              figures.serverErrors += 1;
              throw new Error(
                `${route.method} ${request.path.slice(0, 200)} -> ${reply.status} ${reply.text.slice(0, 200)}`,
              );
            }
            if (reply.status >= 400 && reply.type.startsWith('application/json')) {
              expect(JSON.parse(reply.text)).toEqual({ success: false, error: expect.any(String) });
            }
          }),
        );
      }
    }
    expect(figures.fuzzed).toBeGreaterThanOrEqual(FUZZ_PER_ROUTE * routes.length);
    expect(figures.serverErrors).toBe(0);
    expect({ ...Object.prototype }).toEqual({});
  }, 300_000);

  it("leaves the victim's data exactly as it was", async () => {
    expect(await snapshot(victim)).toEqual(before);
  });
});
