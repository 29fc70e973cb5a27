import { createHash } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { BadRequestError, ConflictError, UnprocessableError } from './errors.ts';
import { isConditionFailure } from './store/conditions.ts';
import { keys } from './table.ts';

/** How long a key is remembered. */
export const IDEMPOTENCY_TTL_SECONDS = 3600;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** What the first request with a key produced, replayed to its repeats. */
export type StoredResult = Record<string, unknown>;

export type Claim = { kind: 'claimed' } | { kind: 'replay'; result: StoredResult };

/** Remembers the result of a request by the client's `Idempotency-Key`. */
export interface IdempotencyStore {
  /** Claims the key for this request, or returns the first result for a repeat. */
  claim(userId: string, key: string, fingerprint: string): Promise<Claim>;
  /** Records the result of a claimed request. */
  complete(userId: string, key: string, result: StoredResult): Promise<void>;
  /** Forgets a claim whose request failed, so that a retry runs again. */
  release(userId: string, key: string): Promise<void>;
}

/** Checks an `Idempotency-Key` header: 1-255 printable ASCII characters, or absent. */
export function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!KEY_PATTERN.test(header)) {
    throw new BadRequestError('Idempotency-Key must be 1-255 printable ASCII characters');
  }
  return header;
}

/** A stable digest of what makes two requests "the same". */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}

export interface DynamoIdempotencyStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** How long an unfinished claim blocks repeats before another may take over: the function's timeout. */
  lockSeconds: number;
}

/**
 * Records in the user's own partition (`IDEM#{key}`), expired by TTL after an hour. (Powertools'
 * idempotency utility keeps every record of a function under one static partition key when the
 * table has a sort key, and cannot replay a streamed response; this keeps both per user.)
 */
export class DynamoIdempotencyStore implements IdempotencyStore {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #lockSeconds: number;

  constructor({ client, tableName, lockSeconds }: DynamoIdempotencyStoreOptions) {
    this.#db = client;
    this.#table = tableName;
    this.#lockSeconds = lockSeconds;
  }

  async claim(userId: string, key: string, print: string): Promise<Claim> {
    const now = Math.floor(Date.now() / 1000);
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...this.#key(userId, key),
            fingerprint: print,
            status: 'in_progress',
            locked_until: now + this.#lockSeconds,
            expires_at: now + IDEMPOTENCY_TTL_SECONDS,
          },
          ConditionExpression:
            'attribute_not_exists(sk) OR expires_at < :now OR (#status = :open AND locked_until < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':now': now, ':open': 'in_progress' },
        }),
      );
      return { kind: 'claimed' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const { Item } = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: this.#key(userId, key), ConsistentRead: true }),
    );
    if (Item?.fingerprint !== print) {
      throw new UnprocessableError('Idempotency-Key was already used with a different request');
    }
    if (Item.status !== 'completed') {
      throw new ConflictError('A request with this Idempotency-Key is still in progress');
    }
    return { kind: 'replay', result: JSON.parse(Item.result as string) };
  }

  async complete(userId: string, key: string, result: StoredResult): Promise<void> {
    await this.#db.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: this.#key(userId, key),
        UpdateExpression: 'SET #status = :done, #result = :result REMOVE locked_until',
        ExpressionAttributeNames: { '#status': 'status', '#result': 'result' },
        ExpressionAttributeValues: { ':done': 'completed', ':result': JSON.stringify(result) },
      }),
    );
  }

  async release(userId: string, key: string): Promise<void> {
    await this.#db.send(new DeleteCommand({ TableName: this.#table, Key: this.#key(userId, key) }));
  }

  #key(userId: string, key: string) {
    return { pk: keys.user(userId), sk: `IDEM#${key}` };
  }
}

/**
 * Runs `run` once per idempotency key: a repeat with the same key and the same `request` gets
 * the first result (and `replayed: true`) without running again; without a key it just runs.
 */
export async function idempotent<T extends StoredResult>(
  store: IdempotencyStore,
  userId: string,
  key: string | undefined,
  request: unknown,
  run: () => Promise<T>,
): Promise<{ result: T; replayed: boolean }> {
  if (!key) return { result: await run(), replayed: false };
  const claim = await store.claim(userId, key, fingerprint(request));
  if (claim.kind === 'replay') return { result: claim.result as T, replayed: true };
  try {
    const result = await run();
    await store.complete(userId, key, result);
    return { result, replayed: false };
  } catch (error) {
    await store.release(userId, key).catch(() => undefined);
    throw error;
  }
}
