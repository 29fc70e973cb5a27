import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { UndecryptableKeyError } from '#commons/errors.ts';

/** Encrypts users' API keys so that only that user's requests can decrypt them. */
export interface KeyVault {
  encrypt(userId: string, plaintext: string): Promise<Uint8Array>;
  /** Throws `UndecryptableKeyError` when the ciphertext is not this user's. */
  decrypt(userId: string, ciphertext: Uint8Array): Promise<string>;
}

/**
 * The encryption context names the user, so KMS refuses a ciphertext copied to another user's
 * record, and IAM can condition `kms:Encrypt`/`kms:Decrypt` on the purpose.
 */
export const encryptionContext = (userId: string) => ({
  purpose: 'openai-api-key',
  user_id: userId,
});

const UNDECRYPTABLE = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

export interface KmsKeyVaultOptions {
  client: KMSClient;
  /** Key id, ARN or alias of the symmetric KMS key. */
  keyId: string;
}

export class KmsKeyVault implements KeyVault {
  readonly #kms: KMSClient;
  readonly #keyId: string;

  constructor({ client, keyId }: KmsKeyVaultOptions) {
    this.#kms = client;
    this.#keyId = keyId;
  }

  async encrypt(userId: string, plaintext: string): Promise<Uint8Array> {
    const { CiphertextBlob } = await this.#kms.send(
      new EncryptCommand({
        KeyId: this.#keyId,
        Plaintext: new TextEncoder().encode(plaintext),
        EncryptionContext: encryptionContext(userId),
      }),
    );
    if (!CiphertextBlob) throw new Error('KMS returned no ciphertext');
    return CiphertextBlob;
  }

  async decrypt(userId: string, ciphertext: Uint8Array): Promise<string> {
    try {
      const { Plaintext } = await this.#kms.send(
        new DecryptCommand({
          KeyId: this.#keyId,
          CiphertextBlob: ciphertext,
          EncryptionContext: encryptionContext(userId),
        }),
      );
      if (!Plaintext) throw new UndecryptableKeyError();
      return new TextDecoder().decode(Plaintext);
    } catch (error) {
      if (error instanceof Error && UNDECRYPTABLE.has(error.name)) {
        throw new UndecryptableKeyError({ cause: error });
      }
      throw error;
    }
  }
}
