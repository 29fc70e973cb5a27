import { createHmac, generateKeyPairSync } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';

/**
 * Forged and malformed credentials, each a way an attacker (or a careless issuer) might try to
 * get in: every one must be refused with a 401 on every authenticated route.
 */
export interface BadCredential {
  name: string;
  /** The whole `Authorization` header (undefined: none at all). */
  authorization?: string;
  /** Where else a token might be smuggled. */
  query?: string;
  cookie?: string;
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token signed with HMAC over whatever header and payload it is given. */
function hmac(header: object, payload: object, secret: string, hash = 'sha256') {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

export async function badCredentials(secret: string, userId: string): Promise<BadCredential[]> {
  const now = Math.floor(Date.now() / 1000);
  const good = { sub: userId, type: 'access', exp: now + 600, iat: now };
  const hs256 = { alg: 'HS256', typ: 'JWT' };
  const valid = hmac(hs256, good, secret);
  const [vh, vp, vs] = valid.split('.') as [string, string, string];
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const unsigned = (alg: string) => `${b64({ alg, typ: 'JWT' })}.${b64(good)}.`;
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attackerJwk = await exportJWK(publicKey);
  const rs256 = (header: Record<string, unknown>) =>
    new SignJWT(good).setProtectedHeader({ alg: 'RS256', ...header }).sign(privateKey);

  return [
    { name: 'no Authorization header' },
    { name: 'alg "none"', ...bearer(unsigned('none')) },
    { name: 'alg "None"', ...bearer(unsigned('None')) },
    { name: 'alg "NONE"', ...bearer(unsigned('NONE')) },
    { name: 'alg "nOnE"', ...bearer(unsigned('nOnE')) },
    {
      name: 'alg none with the valid signature kept',
      ...bearer(`${b64({ alg: 'none' })}.${vp}.${vs}`),
    },
    {
      name: 'HS384 with the right secret',
      ...bearer(hmac({ alg: 'HS384' }, good, secret, 'sha384')),
    },
    {
      name: 'HS512 with the right secret',
      ...bearer(hmac({ alg: 'HS512' }, good, secret, 'sha512')),
    },
    {
      name: 'RS256 header over an HMAC signature',
      ...bearer(hmac({ alg: 'RS256' }, good, secret)),
    },
    { name: 'a wrong secret', ...bearer(hmac(hs256, good, `${secret}-not`)) },
    { name: 'an empty signature', ...bearer(`${vh}.${vp}.`) },
    { name: 'a tampered payload', ...bearer(`${vh}.${b64({ ...good, sub: 'victim' })}.${vs}`) },
    { name: 'a tampered header', ...bearer(`${b64({ alg: 'HS256', kid: 'x' })}.${vp}.${vs}`) },
    { name: 'expired', ...bearer(hmac(hs256, { ...good, exp: now - 3600 }, secret)) },
    { name: 'not yet valid (nbf)', ...bearer(hmac(hs256, { ...good, nbf: now + 3600 }, secret)) },
    {
      name: 'issued in the future (iat)',
      ...bearer(hmac(hs256, { ...good, iat: now + 86_400 }, secret)),
    },
    { name: 'no sub', ...bearer(hmac(hs256, { ...good, sub: undefined }, secret)) },
    { name: 'sub an object', ...bearer(hmac(hs256, { ...good, sub: { id: userId } }, secret)) },
    { name: 'sub an array', ...bearer(hmac(hs256, { ...good, sub: [userId] }, secret)) },
    { name: 'sub a boolean', ...bearer(hmac(hs256, { ...good, sub: true }, secret)) },
    { name: 'sub null', ...bearer(hmac(hs256, { ...good, sub: null }, secret)) },
    { name: 'sub empty', ...bearer(hmac(hs256, { ...good, sub: '' }, secret)) },
    { name: 'sub a fraction', ...bearer(hmac(hs256, { ...good, sub: 1.5 }, secret)) },
    { name: 'no exp', ...bearer(hmac(hs256, { ...good, exp: undefined }, secret)) },
    { name: 'exp a string', ...bearer(hmac(hs256, { ...good, exp: String(now + 600) }, secret)) },
    { name: 'a refresh token', ...bearer(hmac(hs256, { ...good, type: 'refresh' }, secret)) },
    { name: 'type a number', ...bearer(hmac(hs256, { ...good, type: 1 }, secret)) },
    { name: 'an embedded jwk (self-signed)', ...bearer(await rs256({ jwk: attackerJwk })) },
    {
      name: 'a jku to another key set',
      ...bearer(await rs256({ jku: 'http://127.0.0.1:1/jwks.json' })),
    },
    {
      name: 'a kid with path traversal',
      ...bearer(hmac({ ...hs256, kid: '../../../dev/null' }, good, '')),
    },
    {
      name: 'an unknown crit extension',
      ...bearer(hmac({ ...hs256, crit: ['exp-v2'], 'exp-v2': 1 }, good, secret)),
    },
    { name: 'two segments', ...bearer(`${vh}.${vp}`) },
    { name: 'four segments', ...bearer(`${valid}.${vs}`) },
    {
      name: 'a payload that is not an object',
      ...bearer(hmac(hs256, ['sub', userId] as unknown as object, secret)),
    },
    { name: 'a payload that is not JSON', ...bearer(`${vh}.${b64('not json')}.${vs}`) },
    { name: 'garbage', ...bearer('not.a.token') },
    { name: 'scheme "Token"', authorization: `Token ${valid}` },
    {
      name: 'scheme "Basic"',
      authorization: `Basic ${Buffer.from(`${userId}:x`).toString('base64')}`,
    },
    { name: 'no space after Bearer', authorization: `Bearer${valid}` },
    { name: 'Bearer and nothing', authorization: 'Bearer ' },
    { name: 'two tokens', authorization: `Bearer ${valid} ${valid}` },
    { name: 'the token in the query string', query: `access_token=${valid}` },
    { name: 'the token in a cookie', cookie: `token=${valid}; Authorization=Bearer ${valid}` },
  ];
}
