import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface ItemKey {
  pk: string;
  sk: string;
}

/** DynamoDB's BatchWriteItem takes at most 25 requests. */
const BATCH_SIZE = 25;
const BATCH_ATTEMPTS = 8;
/** Batches in flight at once: a long conversation goes in a few seconds, not a minute. */
const CONCURRENCY = 8;

export interface PurgeOptions {
  db: DynamoDBDocumentClient;
  table: string;
  /** Waits before retry `attempt` of unprocessed deletes. */
  sleep: (attempt: number) => Promise<void>;
}

/** Exponential backoff with full jitter, from 50 ms up to 2 s. */
export const backoff = (attempt: number) =>
  new Promise<void>((resolve) =>
    setTimeout(resolve, Math.min(2_000, 50 * 2 ** attempt * Math.random())),
  );

/**
 * Deletes items, 25 to a BatchWriteItem and several batches at once, retrying what DynamoDB
 * leaves unprocessed. Returns how many were deleted: fewer than asked only when some stayed
 * unprocessed after every retry (the caller leaves them for a later purge).
 */
export async function deleteItems(keys: ItemKey[], options: PurgeOptions): Promise<number> {
  const batches: ItemKey[][] = [];
  for (let i = 0; i < keys.length; i += BATCH_SIZE) batches.push(keys.slice(i, i + BATCH_SIZE));
  let deleted = 0;
  for (let i = 0; i < batches.length; i += CONCURRENCY) {
    const done = await Promise.all(
      batches.slice(i, i + CONCURRENCY).map((batch) => deleteBatch(batch, options)),
    );
    deleted += done.reduce((sum, n) => sum + n, 0);
  }
  return deleted;
}

async function deleteBatch(batch: ItemKey[], { db, table, sleep }: PurgeOptions): Promise<number> {
  let pending = batch.map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } }));
  for (let attempt = 0; attempt < BATCH_ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(attempt);
    const { UnprocessedItems } = await db.send(
      new BatchWriteCommand({ RequestItems: { [table]: pending } }),
    );
    pending = (UnprocessedItems?.[table] ?? []) as typeof pending;
    if (pending.length === 0) break;
  }
  return batch.length - pending.length;
}
