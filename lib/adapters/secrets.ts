import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '#commons/errors.ts';
import { CLIENT_PATIENCE } from './clients/patience.ts';

let client: SecretsManagerClient | undefined;
const cache = new Map<string, Promise<string>>();

/** A Secrets Manager secret's string, fetched once per container; a failed fetch is retried. */
function secretString(secretId: string): Promise<string> {
  let value = cache.get(secretId);
  if (!value) {
    client ??= new SecretsManagerClient(CLIENT_PATIENCE);
    value = client
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then(({ SecretString }) => {
        if (!SecretString) throw new ConfigError(`Secret ${secretId} has no string value`);
        return SecretString;
      });
    value.catch(() => cache.delete(secretId));
    cache.set(secretId, value);
  }
  return value;
}

/**
 * Starts fetching a secret now (call it at module scope, so the fetch runs at cold start) and
 * returns the getter of the cached value.
 */
export function prefetchSecret(secretId: string): () => Promise<string> {
  // A failure here is not lost: the getter fetches again and its caller gets the error.
  secretString(secretId).catch(() => undefined);
  return () => secretString(secretId);
}
