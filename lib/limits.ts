import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ServiceUnavailableError, TooManyRequestsError } from './errors.ts';
import { isConditionFailure } from './store/conditions.ts';
import { keys } from './table.ts';

/** Per-user limits on model calls. */
export interface UsageLimits {
  /** Counts one send or stream, or throws `TooManyRequestsError` (nothing counted). */
  admit(userId: string, now?: number): Promise<void>;
  /** Adds the tokens a reply used to today's total. */
  recordTokens(userId: string, tokens: number, now?: number): Promise<void>;
}

export interface DynamoUsageLimitsOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Sends and streams per user in any 60 seconds; 0 turns the limit off. */
  perMinute: number;
  /** Tokens per user per UTC day; 0 turns the limit off. */
  dailyTokens: number;
}

const WINDOW_MS = 60_000;
/** Enough for a burst of concurrent sends from one user to each win a turn. */
const ATTEMPTS = 25;
const RATE_KEY = 'LIMIT#RATE';
const tokensKey = (day: string) => `LIMIT#TOKENS#${day}`;

const sleep = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** Math.min(attempt, 5)));

/**
 * Limits kept in DynamoDB with conditional writes, so every container enforces the same numbers:
 * a sliding 60-second window (the times of the user's recent sends, in one small item, updated
 * with optimistic concurrency), and a per-day token total.
 */
export class DynamoUsageLimits implements UsageLimits {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #perMinute: number;
  readonly #dailyTokens: number;

  constructor({ client, tableName, perMinute, dailyTokens }: DynamoUsageLimitsOptions) {
    this.#db = client;
    this.#table = tableName;
    this.#perMinute = perMinute;
    this.#dailyTokens = dailyTokens;
  }

  async admit(userId: string, now = Date.now()): Promise<void> {
    if (this.#dailyTokens > 0) await this.#checkTokens(userId, now);
    if (this.#perMinute > 0) await this.#takeSlot(userId, now);
  }

  async recordTokens(userId: string, tokens: number, now = Date.now()): Promise<void> {
    if (this.#dailyTokens <= 0 || tokens <= 0) return;
    await this.#db.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: keys.user(userId), sk: tokensKey(utcDay(now)) },
        UpdateExpression: 'ADD used :tokens SET expires_at = :expires',
        ExpressionAttributeValues: {
          ':tokens': tokens,
          ':expires': Math.floor(nextUtcMidnight(now) / 1000) + 86_400,
        },
      }),
    );
  }

  async #checkTokens(userId: string, now: number) {
    const { Item } = await this.#db.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: keys.user(userId), sk: tokensKey(utcDay(now)) },
      }),
    );
    if ((Item?.used ?? 0) >= this.#dailyTokens) {
      throw new TooManyRequestsError(
        `Daily token limit of ${this.#dailyTokens} reached; it resets at midnight UTC`,
        (nextUtcMidnight(now) - now) / 1000,
      );
    }
  }

  async #takeSlot(userId: string, now: number) {
    const key = { pk: keys.user(userId), sk: RATE_KEY };
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(attempt);
      const { Item } = await this.#db.send(
        new GetCommand({ TableName: this.#table, Key: key, ConsistentRead: true }),
      );
      const version = (Item?.version as number | undefined) ?? 0;
      const recent = ((Item?.sends as number[] | undefined) ?? []).filter(
        (t) => t > now - WINDOW_MS,
      );
      if (recent.length >= this.#perMinute) {
        const oldest = Math.min(...recent);
        throw new TooManyRequestsError(
          `Rate limit of ${this.#perMinute} messages per minute reached; try again shortly`,
          (oldest + WINDOW_MS - now) / 1000,
        );
      }
      try {
        await this.#db.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              ...key,
              sends: [...recent, now],
              version: version + 1,
              expires_at: Math.floor((now + 2 * WINDOW_MS) / 1000),
            },
            ConditionExpression: 'attribute_not_exists(sk) OR version = :version',
            ExpressionAttributeValues: { ':version': version },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new ServiceUnavailableError('Too many simultaneous requests; try again');
  }
}

const utcDay = (now: number) => new Date(now).toISOString().slice(0, 10);
const nextUtcMidnight = (now: number) => {
  const day = new Date(now);
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1);
};
