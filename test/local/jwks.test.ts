import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  type GenerateKeyPairResult,
  generateKeyPair,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSettings } from '#commons/config.ts';
import { createTokenVerifier, type TokenVerifier } from '#http/auth.ts';

const ISSUER = 'https://idp.example/';
const AUDIENCE = 'chat-api';
let server: Server;
let verify: TokenVerifier;
/** The issuer's key set endpoint answers with this status (200: the keys). */
let answer = 200;
let rsa: GenerateKeyPairResult;
let ec: GenerateKeyPairResult;
let stranger: GenerateKeyPairResult;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256');
  ec = await generateKeyPair('ES256');
  stranger = await generateKeyPair('RS256');
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' },
  ];
  server = createServer((_req, res) => {
    res.writeHead(answer, { 'Content-Type': 'application/json' });
    res.end(answer === 200 ? JSON.stringify({ keys }) : '{"error":"unavailable"}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  verify = createTokenVerifier(
    authSettings({
      JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    }),
  );
});

afterAll(() => new Promise<void>((done) => server.close(() => done())));

function token(
  key: CryptoKey,
  alg: string,
  kid: string,
  claims: { iss?: string; aud?: string } = {},
) {
  return new SignJWT({})
    .setProtectedHeader({ alg, kid })
    .setSubject('oidc-user')
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setExpirationTime('5m')
    .sign(key);
}

describe('OIDC tokens (JWKS mode)', () => {
  it('accepts RS256 and ES256 tokens from the configured issuer for the configured audience', async () => {
    expect(await verify(`Bearer ${await token(rsa.privateKey, 'RS256', 'rsa')}`)).toBe('oidc-user');
    expect(await verify(`Bearer ${await token(ec.privateKey, 'ES256', 'ec')}`)).toBe('oidc-user');
  });

  it('refuses another issuer, another audience, or a key not in the set', async () => {
    const wrongIssuer = await token(rsa.privateKey, 'RS256', 'rsa', {
      iss: 'https://evil.example/',
    });
    const wrongAudience = await token(rsa.privateKey, 'RS256', 'rsa', { aud: 'other-api' });
    const unknownKey = await token(stranger.privateKey, 'RS256', 'rsa');

    for (const bad of [wrongIssuer, wrongAudience, unknownKey]) {
      await expect(verify(`Bearer ${bad}`)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    }
  });

  it('refuses an HS256 token signed with the public key (algorithm confusion)', async () => {
    const publicJwk = await exportJWK(rsa.publicKey);
    const forged = await new SignJWT({ sub: 'attacker', iss: ISSUER, aud: AUDIENCE })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));

    await expect(verify(`Bearer ${forged}`)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('answers an issuer whose key set endpoint fails with 503, not 401 (users are not signed out)', async () => {
    const outage = createTokenVerifier(
      authSettings({ JWKS_URL: `http://127.0.0.1:${port()}/other-jwks.json` }),
    );
    answer = 500;
    try {
      await expect(
        outage(`Bearer ${await token(rsa.privateKey, 'RS256', 'rsa')}`),
      ).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    } finally {
      answer = 200;
    }
    expect(await outage(`Bearer ${await token(rsa.privateKey, 'RS256', 'rsa')}`)).toBe('oidc-user');
  });
});

const port = () => (server.address() as AddressInfo).port;
