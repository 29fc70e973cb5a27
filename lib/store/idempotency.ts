import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { KEY_IN_PROGRESS, KEY_REUSED } from '#chat/wording.ts';
import { ConflictError, UnprocessableError } from '#commons/errors.ts';
import { unlessConditionFailed } from './conditions.ts';
import { keys } from './table.ts';
import { type TableOptions, TableStore } from './table-store.ts';

/** How long a key is remembered. */
export const IDEMPOTENCY_TTL_SECONDS = 3600;

/**
 * A claimed key: this request's to run, or a repeat's, which gets the first run's record back
 * (`R`: where its result is, such as message places, never their text, so a clear leaves no copy).
 */
export type Claim<R> = { kind: 'claimed' } | { kind: 'replay'; result: R };

/** Remembers the result of a request by the client's `Idempotency-Key`. */
export interface IdempotencyStore<R> {
  /** Claims the key for this request, or returns the first result for a repeat. */
  claim(userId: string, key: string, fingerprint: string): Promise<Claim<R>>;
  /** Records the result of a claimed request. */
  complete(userId: string, key: string, result: R): Promise<void>;
  /** Forgets a claim whose request failed, so that a retry runs again. */
  release(userId: string, key: string): Promise<void>;
}

export interface DynamoIdempotencyStoreOptions extends TableOptions {
  /** How long an unfinished claim blocks repeats before another may take over: the function's timeout. */
  lockSeconds: number;
}

/**
 * Records in the user's own partition (`IDEM#{key}`), expired by TTL after an hour. (Powertools'
 * idempotency utility keeps every record of a function under one static partition key when the
 * table has a sort key, and cannot replay a streamed response; this keeps both per user.)
 */
export class DynamoIdempotencyStore<R> extends TableStore implements IdempotencyStore<R> {
  readonly #lockSeconds: number;

  constructor(options: DynamoIdempotencyStoreOptions) {
    super(options);
    this.#lockSeconds = options.lockSeconds;
  }

  async claim(userId: string, key: string, print: string): Promise<Claim<R>> {
    const now = Math.floor(Date.now() / 1000);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
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
      unlessConditionFailed(error);
    }
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.#key(userId, key), ConsistentRead: true }),
    );
    if (Item?.fingerprint !== print) {
      throw new UnprocessableError(KEY_REUSED);
    }
    if (Item.status !== 'completed') {
      throw new ConflictError(KEY_IN_PROGRESS);
    }
    return { kind: 'replay', result: JSON.parse(Item.result as string) as R };
  }

  async complete(userId: string, key: string, result: R): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.#key(userId, key),
        UpdateExpression: 'SET #status = :done, #result = :result REMOVE locked_until',
        ExpressionAttributeNames: { '#status': 'status', '#result': 'result' },
        ExpressionAttributeValues: { ':done': 'completed', ':result': JSON.stringify(result) },
      }),
    );
  }

  async release(userId: string, key: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: this.#key(userId, key) }));
  }

  #key(userId: string, key: string) {
    return { pk: keys.user(userId), sk: keys.idempotency(key) };
  }
}
