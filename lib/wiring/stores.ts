import { dynamoDb } from '#adapters/clients/dynamodb.ts';
import { AccountLeases } from '#chat/leases.ts';
import type { ExchangeRecord } from '#chat/replay.ts';
import { limitSettings, modelSettings, storeSettings } from '#commons/config.ts';
import { DynamoAccountStore } from '#store/accounts.ts';
import { DynamoClearStore } from '#store/clear.ts';
import { DynamoConversationStore } from '#store/conversations.ts';
import { DynamoErasure } from '#store/erasure.ts';
import { DynamoExchangeStore } from '#store/exchanges.ts';
import { DynamoHistoryStore } from '#store/history.ts';
import { DynamoIdempotencyStore } from '#store/idempotency.ts';
import { DynamoReplyStore } from '#store/replies.ts';

/**
 * The production wiring of the stores, built from validated settings: the one place that says
 * which implementation each store interface gets. Handlers call these at module scope, so a
 * missing setting fails the cold start with a message naming it. Nothing here runs until called.
 * The routes that call the model get the rest of their wiring from `chat.ts`, and the KMS vault
 * is `kmsKeyVault()` in `vault.ts`: the model and KMS packages have import-time side effects, so
 * importing them here would put them in every function's bundle, and importing them with
 * `import()` instead makes the bundler wrap them in lazily run functions that V8 parses twice
 * (about 30 ms more for a send's import, measured side by side against static imports).
 */
const table = () => ({ client: dynamoDb, tableName: storeSettings().TABLE_NAME });

export const exchangeStore = () => new DynamoExchangeStore(table());

export const historyStore = () => new DynamoHistoryStore(table());

export const conversationStore = () => new DynamoConversationStore(table());

export const clearStore = () => new DynamoClearStore(table());

export const replyStore = () => new DynamoReplyStore(table());

export const accountStore = () => new DynamoAccountStore(table());

export const erasure = () => new DynamoErasure(table());

/** Idempotency records for send and stream, held as long as a send may run. */
export const idempotencyStore = () =>
  new DynamoIdempotencyStore<ExchangeRecord>({
    ...table(),
    lockSeconds: modelSettings().SEND_TIMEOUT_SECONDS,
  });

/**
 * The cap on replies one user streams or follows at once (MAX_STREAMS_PER_USER); a lease lapses
 * after the longest a streaming function runs, should its holder die.
 */
export const streamLeases = () =>
  new AccountLeases({
    accounts: accountStore(),
    perUser: limitSettings().MAX_STREAMS_PER_USER,
    holdMs: 310_000,
  });
