import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmsKeyVault } from '#adapters/key-vault.ts';
import { UndecryptableKeyError } from '#commons/errors.ts';
import { type LocalKms, startLocalKms } from '../../infra/local/kms-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'kms-'));
const keyFile = join(dir, 'keys.json');
const ALIAS = 'alias/test-key';
let kms: LocalKms;
let client: KMSClient;

const clientFor = (endpoint: string) =>
  new KMSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });

beforeAll(async () => {
  kms = await startLocalKms({ keyFile, aliases: [ALIAS] });
  client = clientFor(kms.endpoint);
});

afterAll(async () => {
  client.destroy();
  await kms.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the local KMS service, through the real KMS client', () => {
  it('decrypts what it encrypted only with the same encryption context', async () => {
    const context = { purpose: 'openai-api-key', user_id: 'alice' };
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({
        KeyId: ALIAS,
        Plaintext: Buffer.from('sk-secret'),
        EncryptionContext: context,
      }),
    );

    const same = await client.send(
      new DecryptCommand({
        CiphertextBlob,
        EncryptionContext: { user_id: 'alice', purpose: 'openai-api-key' },
      }),
    );
    const other = client.send(
      new DecryptCommand({ CiphertextBlob, EncryptionContext: { ...context, user_id: 'mallory' } }),
    );

    expect(Buffer.from(same.Plaintext as Uint8Array).toString()).toBe('sk-secret');
    expect(Buffer.from(CiphertextBlob as Uint8Array).toString('latin1')).not.toContain('sk-secret');
    await expect(other).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('answers the errors KMS answers: unknown key, tampered ciphertext', async () => {
    await expect(
      client.send(new EncryptCommand({ KeyId: 'alias/nope', Plaintext: Buffer.from('x') })),
    ).rejects.toMatchObject({ name: 'NotFoundException' });
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: ALIAS, Plaintext: Buffer.from('x') }),
    );
    const tampered = Buffer.from(CiphertextBlob as Uint8Array);
    tampered[tampered.length - 1] = (tampered.at(-1) as number) ^ 0xff;

    await expect(
      client.send(new DecryptCommand({ CiphertextBlob: tampered })),
    ).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
  });

  it('keeps its keys across a restart, so stored ciphertexts still decrypt', async () => {
    const vault = new KmsKeyVault({ client, keyId: ALIAS });
    const ciphertext = await vault.encrypt('bob', 'sk-bob');
    const restarted = await startLocalKms({ keyFile, aliases: [ALIAS] });
    const restartedClient = clientFor(restarted.endpoint);

    const plaintext = await new KmsKeyVault({ client: restartedClient, keyId: ALIAS }).decrypt(
      'bob',
      ciphertext,
    );
    const wrongUser = new KmsKeyVault({ client: restartedClient, keyId: ALIAS }).decrypt(
      'eve',
      ciphertext,
    );

    expect(plaintext).toBe('sk-bob');
    await expect(wrongUser).rejects.toBeInstanceOf(UndecryptableKeyError);
    restartedClient.destroy();
    await restarted.close();
  });
});
