import { kms } from '#adapters/clients/kms.ts';
import { KmsKeyVault } from '#adapters/key-vault.ts';
import { vaultSettings } from '#commons/config.ts';

/** The production vault: the container's KMS client and the configured key. */
export const kmsKeyVault = () =>
  new KmsKeyVault({ client: kms(), keyId: vaultSettings().KMS_KEY_ID });
