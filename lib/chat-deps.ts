import type { ChatDeps } from './chat.ts';
import { dynamoDb } from './clients/dynamodb.ts';
import { modelSettings, storeSettings } from './config.ts';
import { DynamoIdempotencyStore } from './idempotency.ts';
import { kmsKeyVault } from './key-vault.ts';
import { DynamoUsageLimits } from './limits.ts';
import { fallbackKey, OpenAIChatModel } from './model.ts';
import { apiKeyStore, messageStore } from './services.ts';

/** The production wiring of the routes that call the model (send and stream). */
export function chatDeps(): ChatDeps {
  const settings = modelSettings();
  return {
    messages: messageStore(),
    apiKeys: apiKeyStore(),
    vault: kmsKeyVault(),
    model: new OpenAIChatModel({ settings }),
    limits: new DynamoUsageLimits({
      client: dynamoDb,
      tableName: storeSettings().TABLE_NAME,
      perMinute: settings.RATE_LIMIT_PER_MINUTE,
      dailyTokens: settings.DAILY_TOKEN_LIMIT,
    }),
    settings,
    fallbackKey: fallbackKey(settings),
  };
}

/** Idempotency records for send and stream, held as long as a send may run. */
export function idempotencyStore() {
  return new DynamoIdempotencyStore({
    client: dynamoDb,
    tableName: storeSettings().TABLE_NAME,
    lockSeconds: modelSettings().SEND_TIMEOUT_SECONDS,
  });
}
