import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../lib/auth.ts';
import { authSettings } from '../../lib/config.ts';

/** A stand-in for Secrets Manager's JSON protocol (GetSecretValue only), counting its calls. */
const SECRETS: Record<string, string> = {
  'arn:aws:secretsmanager:us-east-1:000000000000:secret:jwt':
    'deployed-secret-0123456789abcdef0123456789',
  'arn:aws:secretsmanager:us-east-1:000000000000:secret:short': 'too-short',
};
let server: Server;
let calls = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      calls += 1;
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      const value = SECRETS[SecretId];
      res.writeHead(value ? 200 : 400, { 'Content-Type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify(
          value
            ? { ARN: SecretId, Name: 'jwt', SecretString: value }
            : { __type: 'ResourceNotFoundException', message: 'not found' },
        ),
      );
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
});

afterAll(() => new Promise<void>((done) => server.close(() => done())));

const token = (secret: string) =>
  new SignJWT({ type: 'access' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('deployed-user')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));

describe('the JWT secret from Secrets Manager (JWT_SECRET_ARN, as deployed)', () => {
  it('verifies tokens with the fetched secret, fetching it once per container', async () => {
    const verify = createTokenVerifier(
      authSettings({ JWT_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:jwt' }),
    );
    const valid = await token('deployed-secret-0123456789abcdef0123456789');

    expect(await verify(`Bearer ${valid}`)).toBe('deployed-user');
    expect(await verify(`Bearer ${valid}`)).toBe('deployed-user');
    await expect(
      verify(`Bearer ${await token('another-secret-0123456789abcdef01234567')}`),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    expect(calls).toBe(1);
  });

  it('fails as a server fault, not the client’s, when the secret is too short or missing', async () => {
    const short = createTokenVerifier(
      authSettings({
        JWT_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:short',
      }),
    );
    const missing = createTokenVerifier(
      authSettings({ JWT_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:gone' }),
    );
    const any = `Bearer ${await token('whatever-0123456789abcdef0123456789abcdef')}`;

    await expect(short(any)).rejects.toMatchObject({ name: 'ConfigError' });
    await expect(missing(any)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });
});
