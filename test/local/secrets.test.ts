import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSettings } from '#commons/config.ts';
import { createTokenVerifier } from '#http/auth.ts';
import { type FakeSecretsManager, startFakeSecretsManager } from '../support/secrets-manager.ts';

const SECRETS: Record<string, string> = {
  'arn:aws:secretsmanager:us-east-1:000000000000:secret:jwt':
    'deployed-secret-0123456789abcdef0123456789',
  'arn:aws:secretsmanager:us-east-1:000000000000:secret:short': 'too-short',
};
let secretsManager: FakeSecretsManager;

beforeAll(async () => {
  secretsManager = await startFakeSecretsManager(SECRETS);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
});

afterAll(() => secretsManager.close());

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
    expect(secretsManager.calls()).toBe(1);
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
