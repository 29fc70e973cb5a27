import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { authSettings } from '#commons/config.ts';
import { createTokenVerifier, subjectOf } from '#http/auth.ts';

const SECRET = 'unit-test-secret-0123456789abcdef0123456789';
const verify = createTokenVerifier(authSettings({ JWT_SECRET: SECRET }));
const sign = (claims: Record<string, unknown>) =>
  new SignJWT({ type: 'access', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));

describe('token subjects', () => {
  it('reads an integer subject as its decimal string, the same user as the string', async () => {
    expect(await verify(`Bearer ${await sign({ sub: 12345 })}`)).toBe('12345');
    expect(await verify(`Bearer ${await sign({ sub: '12345' })}`)).toBe('12345');
  });

  it('refuses every other non-string subject with a 401 that says why', async () => {
    for (const sub of [{ id: 'alice' }, ['alice'], true, null, '', 1.5, -0.5, 2 ** 60]) {
      const refused = verify(`Bearer ${await sign({ sub })}`);
      await expect(refused, JSON.stringify(sub)).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        message: expect.stringMatching(/"sub"/),
      });
    }
  });

  it('refuses a subject too long for keys, counted once URI-encoded', () => {
    expect(() => subjectOf('x'.repeat(257))).toThrow(/too long/);
    expect(() => subjectOf('漢'.repeat(100))).toThrow(/too long/);
    expect(subjectOf('auth0|abc')).toBe('auth0|abc');
  });

  it('refuses a mistyped "type" claim and a token issued in the future', async () => {
    await expect(verify(`Bearer ${await sign({ sub: 'u', type: 1 })}`)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringMatching(/"type"/),
    });
    const future = Math.floor(Date.now() / 1000) + 3600;
    await expect(verify(`Bearer ${await sign({ sub: 'u', iat: future })}`)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringMatching(/future/),
    });
  });
});
