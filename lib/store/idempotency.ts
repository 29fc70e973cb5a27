import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, UnprocessableError } from '../errors.ts';
import { keys } from '../table.ts';
import { isConditionFailure } from './conditions.ts';

/** How long a key is remembered. */
export const IDEMPOTENCY_TTL_SECONDS = 3600;

/**
 * What a repeat of a request gets back: where its result is (message places, never their
 * text, so a clear leaves no copy behind).
 */
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
    return { pk: keys.user(userId), sk: keys.idempotency(key) };
  }
}
