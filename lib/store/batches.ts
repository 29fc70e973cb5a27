import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { DATABASE_BUSY } from '#chat/wording.ts';
import { ServiceUnavailableError } from '#commons/errors.ts';

export interface ItemKey {
  pk: string;
  sk: string;
}

/** Where batches go, and how long to wait before retry `attempt` of what one left unprocessed. */
export interface Batches {
  db: DynamoDBDocumentClient;
  table: string;
  sleep: (attempt: number) => Promise<void>;
}

/** DynamoDB's BatchWriteItem takes at most 25 requests. */
const BATCH_SIZE = 25;
/** Attempts at a batch that must go whole (an exchange's items, a page of rooms). */
const WHOLE_ATTEMPTS = 5;
/** Attempts at a batch of deletes: what is left goes with a later purge. */
const DELETE_ATTEMPTS = 8;
/** Batches in flight at once: a long conversation goes in a few seconds, not a minute. */
const CONCURRENCY = 8;

type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: ItemKey } };

/** Exponential backoff with full jitter, from 50 ms up to 2 s. */
export const backoff = (attempt: number) =>
  new Promise<void>((resolve) =>
    setTimeout(resolve, Math.min(2_000, 50 * 2 ** attempt * Math.random())),
  );

/** DynamoDB kept part of a batch unprocessed through every retry: a 503 the client may retry. */
export const busy = () => new ServiceUnavailableError(DATABASE_BUSY);

/** Puts items with one BatchWriteItem (at most 25), retrying what DynamoDB leaves unprocessed. */
export async function putItems(items: Record<string, unknown>[], batches: Batches) {
  const left = await writeBatch(
    items.map((Item) => ({ PutRequest: { Item } })),
    batches,
    WHOLE_ATTEMPTS,
  );
  if (left.length > 0) throw busy();
}

/** Items by key with one BatchGetItem (at most 100), retrying what DynamoDB leaves unprocessed. */
export async function getItems(
  wanted: ItemKey[],
  { db, table, sleep }: Batches,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  let pending = wanted;
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt >= WHOLE_ATTEMPTS) throw busy();
    if (attempt > 0) await sleep(attempt);
    const { Responses, UnprocessedKeys } = await db.send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: pending } } }),
    );
    found.push(...(Responses?.[table] ?? []));
    pending = (UnprocessedKeys?.[table]?.Keys ?? []) as ItemKey[];
  }
  return found;
}

/**
 * Deletes items, 25 to a BatchWriteItem and several batches at once, retrying what DynamoDB
 * leaves unprocessed. Returns how many were deleted: fewer than asked only when some stayed
 * unprocessed after every retry (the caller leaves them for a later purge).
 */
export async function deleteItems(keys: ItemKey[], batches: Batches): Promise<number> {
  const chunks: ItemKey[][] = [];
  for (let i = 0; i < keys.length; i += BATCH_SIZE) chunks.push(keys.slice(i, i + BATCH_SIZE));
  let deleted = 0;
  for (let i = 0; i < chunks.length; i += CONCURRENCY) {
    const done = await Promise.all(
      chunks.slice(i, i + CONCURRENCY).map(async (chunk) => {
        const requests = chunk.map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } }));
        const left = await writeBatch(requests, batches, DELETE_ATTEMPTS);
        return chunk.length - left.length;
      }),
    );
    deleted += done.reduce((sum, n) => sum + n, 0);
  }
  return deleted;
}

/** One BatchWriteItem, its unprocessed requests sent again up to `attempts` in all: what is left. */
async function writeBatch(
  requests: WriteRequest[],
  { db, table, sleep }: Batches,
  attempts: number,
): Promise<WriteRequest[]> {
  let pending = requests;
  for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
    if (attempt > 0) await sleep(attempt);
    const { UnprocessedItems } = await db.send(
      new BatchWriteCommand({ RequestItems: { [table]: pending } }),
    );
    pending = (UnprocessedItems?.[table] ?? []) as WriteRequest[];
  }
  return pending;
}
