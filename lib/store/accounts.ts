import { randomBytes } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unlessConditionFailed } from './conditions.ts';
import { keys } from './table.ts';
import { TableStore } from './table-store.ts';

/** A user's stored API key: ciphertext only, plus what the settings page may show. */
export interface ApiKeyRecord {
  /** KMS ciphertext, bound to the user by its encryption context. */
  ciphertext: Uint8Array;
  /** The key's last four characters, to tell keys apart in settings. */
  last4: string;
  /** ISO 8601. */
  updatedAt: string;
}

/** Everything a send needs to know about its user, in one item read once. */
export interface AccountState {
  apiKey?: ApiKeyRecord;
  /** Sends counted in the last minute or so, by epoch second. */
  sends: Record<string, number>;
  /** The UTC day `tokensUsed` counts (yyyy-mm-dd). */
  tokensDay?: string;
  tokensUsed: number;
  /** The conversation the user last sent to: it already leads the rooms list. */
  lastRoom?: string;
  /** Replies being streamed or followed now, by lease mark: until when (epoch ms) each holds. */
  leases: Record<string, number>;
}

/** What counting one send writes. */
export interface SendCount {
  /** The epoch second to count the send in; none when there is no rate limit. */
  second?: number;
  /** Seconds that have left the window: their counts are dropped. */
  expired: number[];
  /** The conversation to record as the latest, when it changes. */
  lastRoom?: string;
}

/** A send counted: the account as it was just before, and what takes the count back. */
export interface CountedSend {
  /** The account before this send was counted (this send's own count left out). */
  before: AccountState;
  second?: number;
  /** This send's mark in its second's set. */
  ticket?: string;
}

/** The per-user account item: API key, usage limits, the latest conversation. */
export interface AccountStore {
  read(userId: string): Promise<AccountState>;
  /**
   * Counts a send, atomically and without a condition (so concurrent sends never conflict), and
   * returns the account as it was just before: the caller decides from that whether the send
   * fits, and takes it back with `uncountSend` when it does not. Both are idempotent, so an
   * SDK retry of either never counts a send twice or takes back another's.
   */
  countSend(userId: string, count: SendCount): Promise<CountedSend>;
  /** Takes back a send that was over the limit. */
  uncountSend(userId: string, counted: CountedSend): Promise<void>;
  /**
   * Records a stream or follow held until `until` (epoch ms) under `mark`; returns the account
   * as it was just before (one unconditional write, so racing opens never retry).
   */
  openLease(userId: string, mark: string, until: number): Promise<AccountState>;
  /** Ends leases (idempotent). */
  closeLeases(userId: string, marks: string[]): Promise<void>;
  /** Adds tokens to the day's total (starting the day afresh when it is a new one). */
  addTokens(userId: string, day: string, tokens: number): Promise<void>;
  getApiKey(userId: string): Promise<ApiKeyRecord | undefined>;
  putApiKey(userId: string, record: ApiKeyRecord): Promise<void>;
  /** Returns whether there was a key to delete. */
  deleteApiKey(userId: string): Promise<boolean>;
}

interface AccountItem {
  ciphertext?: Uint8Array;
  last4?: string;
  key_updated_at?: string;
  /** `sent_{epoch second}`: a set of one mark per send counted in that second. */
  [rateAttribute: `${typeof RATE_PREFIX}${number}`]: Set<string>;
  /** `lease_{mark}`: until when (epoch ms) a stream or follow in progress holds. */
  [leaseAttribute: `${typeof LEASE_PREFIX}${string}`]: number;
  tokens_day?: string;
  tokens_used?: number;
  last_room?: string;
}

/**
 * One attribute per second of the rate window, each a set of one random mark per send: adding a
 * mark to a set, or deleting it, is idempotent, where adding 1 to a number is not (a retried
 * write would count twice). Marks of refused sends are deleted, so a set holds at most the
 * limit's worth of marks.
 */
const RATE_PREFIX = 'sent_';
/** One attribute per stream or follow in progress: `lease_{mark}` = until when it holds. */
const LEASE_PREFIX = 'lease_';

/**
 * One small item per user (`ACCOUNT`): a send reads it once (key and limits together) and
 * writes it once, with an atomic counter and no condition, so one user's concurrent sends never
 * retry. Its size is bounded whatever the limits: the rate window keeps a count per second of
 * the last minute (seconds that left it are dropped by the next send).
 */
export class DynamoAccountStore extends TableStore implements AccountStore {
  async read(userId: string): Promise<AccountState> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.#key(userId), ConsistentRead: true }),
    );
    return stateOf(Item as AccountItem | undefined);
  }

  async countSend(userId: string, count: SendCount): Promise<CountedSend> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const clauses: string[] = [];
    const ticket = count.second === undefined ? undefined : randomBytes(6).toString('base64url');
    if (ticket !== undefined) {
      names['#now'] = `${RATE_PREFIX}${count.second}`;
      values[':mark'] = new Set([ticket]);
      clauses.push('ADD #now :mark');
    }
    if (count.lastRoom !== undefined) {
      values[':room'] = count.lastRoom;
      clauses.push('SET last_room = :room');
    }
    if (count.expired.length > 0) {
      const removed = count.expired.map((second, i) => {
        names[`#old${i}`] = `${RATE_PREFIX}${second}`;
        return `#old${i}`;
      });
      clauses.push(`REMOVE ${removed.join(', ')}`);
    }
    if (clauses.length === 0) return { before: await this.read(userId) };
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.#key(userId),
        UpdateExpression: clauses.join(' '),
        ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
        ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        ReturnValues: 'ALL_OLD',
      }),
    );
    // A retry of a write that had landed sees this send's own mark: it is not another send.
    return {
      before: stateOf(Attributes as AccountItem | undefined, ticket),
      second: count.second,
      ticket,
    };
  }

  async uncountSend(userId: string, counted: CountedSend): Promise<void> {
    if (counted.second === undefined || counted.ticket === undefined) return;
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.#key(userId),
        UpdateExpression: 'DELETE #now :mark',
        ExpressionAttributeNames: { '#now': `${RATE_PREFIX}${counted.second}` },
        ExpressionAttributeValues: { ':mark': new Set([counted.ticket]) },
      }),
    );
  }

  async openLease(userId: string, mark: string, until: number) {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.#key(userId),
        UpdateExpression: 'SET #mine = :until',
        ExpressionAttributeNames: { '#mine': `${LEASE_PREFIX}${mark}` },
        ExpressionAttributeValues: { ':until': until },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return stateOf(Attributes as AccountItem | undefined);
  }

  async closeLeases(userId: string, marks: string[]) {
    const names = Object.fromEntries(marks.map((mark, i) => [`#m${i}`, `${LEASE_PREFIX}${mark}`]));
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.#key(userId),
        UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
        ExpressionAttributeNames: names,
      }),
    );
  }

  async addTokens(userId: string, day: string, tokens: number): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.#key(userId),
          UpdateExpression: 'ADD tokens_used :tokens',
          ConditionExpression: 'tokens_day = :day',
          ExpressionAttributeValues: { ':tokens': tokens, ':day': day },
        }),
      );
    } catch (error) {
      unlessConditionFailed(error);
      // A new day: start its count. Should two replies race here, one count may be lost,
      // which errs in the user's favour by one reply's tokens.
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.#key(userId),
          UpdateExpression: 'SET tokens_day = :day, tokens_used = :tokens',
          ExpressionAttributeValues: { ':tokens': tokens, ':day': day },
        }),
      );
    }
  }

  async getApiKey(userId: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: this.#key(userId),
        ProjectionExpression: 'ciphertext, last4, key_updated_at',
        ConsistentRead: true,
      }),
    );
    return stateOf(Item as AccountItem | undefined).apiKey;
  }

  async putApiKey(userId: string, record: ApiKeyRecord): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.#key(userId),
        UpdateExpression: 'SET ciphertext = :ciphertext, last4 = :last4, key_updated_at = :at',
        ExpressionAttributeValues: {
          ':ciphertext': record.ciphertext,
          ':last4': record.last4,
          ':at': record.updatedAt,
        },
      }),
    );
  }

  async deleteApiKey(userId: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.#key(userId),
          UpdateExpression: 'REMOVE ciphertext, last4, key_updated_at',
          // Without it, an update of a missing item would create an empty one.
          ConditionExpression: 'attribute_exists(ciphertext)',
        }),
      );
      return true;
    } catch (error) {
      unlessConditionFailed(error);
      return false;
    }
  }

  #key(userId: string) {
    return { pk: keys.user(userId), sk: keys.account() };
  }
}

function stateOf(item: AccountItem | undefined, ownTicket?: string): AccountState {
  return {
    ...(item?.ciphertext && item.last4 && item.key_updated_at
      ? {
          apiKey: {
            ciphertext: item.ciphertext,
            last4: item.last4,
            updatedAt: item.key_updated_at,
          },
        }
      : {}),
    sends: Object.fromEntries(
      Object.entries(item ?? {}).flatMap(([name, value]) =>
        name.startsWith(RATE_PREFIX) && value instanceof Set
          ? [
              [
                name.slice(RATE_PREFIX.length),
                [...value].filter((mark) => mark !== ownTicket).length,
              ],
            ]
          : [],
      ),
    ),
    leases: Object.fromEntries(
      Object.entries(item ?? {}).flatMap(([name, value]) =>
        name.startsWith(LEASE_PREFIX) ? [[name.slice(LEASE_PREFIX.length), Number(value)]] : [],
      ),
    ),
    tokensDay: item?.tokens_day,
    tokensUsed: Number(item?.tokens_used ?? 0),
    lastRoom: item?.last_room,
  };
}
