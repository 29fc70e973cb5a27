import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { routes } from '#api/routes.ts';
import { call, newUser, tokenFor } from '../support/api.ts';

const SEND = '/api/chat/ai/send';

async function sendWith(token: string) {
  return call('POST', SEND, { token, body: { message: 'hi' } });
}

describe('authentication', () => {
  it('answers 401 to a request with no token exactly on the routes the route table says need one', async () => {
    for (const route of routes) {
      const path = route.path
        .replace('{userId}', 'someone')
        .replace('{roomId}', 'some-room')
        .replace('{messageId}', '01JF0Z5Q8W6W3V7G2X4N9K1B2C');
      const body = ['GET', 'DELETE'].includes(route.method) ? undefined : {};

      const reply = await call(route.method, path, { body });

      if (route.auth) {
        expect(reply.status, `${route.method} ${route.path}`).toBe(401);
        expect(reply.body).toEqual({
          success: false,
          error: expect.stringMatching(/Authorization/),
        });
      } else {
        expect(reply.status, `${route.method} ${route.path}`).toBe(200);
      }
    }
  });

  it('refuses a token that is expired, unsigned, wrongly signed, a refresh token, or has no sub or exp', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = {
      expired: await tokenFor('u1', { exp: now - 60 }),
      'alg none': new UnsecuredJWT({ sub: 'u1', type: 'access', exp: now + 600 }).encode(),
      'wrong secret': await new SignJWT({ sub: 'u1', type: 'access' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode('not-the-secret-not-the-secret-not-the-secret')),
      refresh: await tokenFor('u1', { type: 'refresh' }),
      'no sub': await tokenFor(undefined),
      'no exp': await tokenFor('u1', { exp: null }),
      'not yet valid': await tokenFor('u1', { nbf: now + 3600 }),
      garbage: 'not.a.token',
    };
    for (const [name, token] of Object.entries(bad)) {
      const reply = await sendWith(token);
      expect(reply.status, name).toBe(401);
      expect(reply.body.success, name).toBe(false);
    }
    expect((await sendWith(bad.expired)).body.error).toBe('Token has expired');
    expect((await sendWith(bad.refresh)).body.error).toMatch(/Refresh tokens/);
    expect((await sendWith(bad['no exp'])).body.error).toBe(
      'Token has no "exp" claim; access tokens must expire',
    );
    expect((await sendWith(bad['not yet valid'])).body.error).toMatch(/"nbf" claim/);
  });

  it("gives another user's token 403 on every route that names a user", async () => {
    const owner = await newUser();
    const intruder = await newUser();
    await call('POST', SEND, { token: owner.token, body: { message: 'private' } });

    const read = await call('GET', `/api/chat/ai/history/${owner.id}`, { token: intruder.token });
    const clear = await call('DELETE', `/api/chat/ai/history/${owner.id}`, {
      token: intruder.token,
    });
    const post = await call('POST', SEND, {
      token: intruder.token,
      body: { message: 'as you', user_id: owner.id },
    });

    expect(read).toMatchObject({
      status: 403,
      body: { success: false, error: 'Unauthorized to access this chat history' },
    });
    expect(clear).toMatchObject({
      status: 403,
      body: { success: false, error: 'Unauthorized to clear this chat history' },
    });
    expect(post).toMatchObject({ status: 403, body: { success: false, error: 'Unauthorized' } });
    const own = await call('GET', `/api/chat/ai/history/${owner.id}`, { token: owner.token });
    expect(own.body.pagination.total).toBe(2);
  });

  it("cannot reach another user's conversation through room_id", async () => {
    const owner = await newUser();
    const intruder = await newUser();
    await call('POST', SEND, { token: owner.token, body: { message: 'secret' } });

    const peek = await call(
      'GET',
      `/api/chat/ai/history/${intruder.id}?room_id=ai_chat_${owner.id}`,
      {
        token: intruder.token,
      },
    );

    expect(peek.status).toBe(200);
    expect(peek.body.messages).toEqual([]);
  });
});
