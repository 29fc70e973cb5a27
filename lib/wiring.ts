import type { ChatDeps } from './chat.ts';
import { dynamoDb } from './clients/dynamodb.ts';
import { modelSettings, storeSettings } from './config.ts';
import type { KeyVault } from './key-vault.ts';
import { AccountLimits } from './limits.ts';
import { DynamoAccountStore } from './store/accounts.ts';
import { DynamoErasure } from './store/erasure.ts';
import { DynamoIdempotencyStore } from './store/idempotency.ts';
import { DynamoMessageStore } from './store/messages.ts';
import { DynamoReplyStore } from './store/replies.ts';

/**
 * The production wiring, built from validated settings: the one place that says which
 * implementation each interface gets. Handlers call these at module scope, so a missing setting
 * fails the cold start with a message naming it. Nothing here runs until called, and the model
 * and KMS clients are imported only by the factories that need them (their packages have
 * import-time side effects, so a static import would put them in every function's bundle).
 */
const table = () => ({ client: dynamoDb, tableName: storeSettings().TABLE_NAME });

export const messageStore = () => new DynamoMessageStore(table());

export const replyStore = () => new DynamoReplyStore(table());

export const accountStore = () => new DynamoAccountStore(table());

export const erasure = () => new DynamoErasure(table());

/** Idempotency records for send and stream, held as long as a send may run. */
export const idempotencyStore = () =>
  new DynamoIdempotencyStore({ ...table(), lockSeconds: modelSettings().SEND_TIMEOUT_SECONDS });

/** The KMS vault for users' API keys. */
export async function keyVault(): Promise<KeyVault> {
  const { kmsKeyVault } = await import('./key-vault.ts');
  return kmsKeyVault();
}

/** Everything the routes that call the model (send and stream) use. */
export async function chatDeps(): Promise<ChatDeps> {
  const settings = modelSettings();
  const { fallbackKey, OpenAIChatModel } = await import('./model.ts');
  const accounts = accountStore();
  return {
    messages: messageStore(),
    replies: replyStore(),
    accounts,
    vault: await keyVault(),
    model: new OpenAIChatModel({ settings }),
    limits: new AccountLimits({
      accounts,
      perMinute: settings.RATE_LIMIT_PER_MINUTE,
      dailyTokens: settings.DAILY_TOKEN_LIMIT,
    }),
    settings,
    fallbackKey: fallbackKey(settings),
  };
}
