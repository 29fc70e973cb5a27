import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { keys } from '../table.ts';
import { isConditionFailure } from './conditions.ts';

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
  /** Sends admitted in the last minute, by epoch second. */
  sends: Record<string, number>;
  /** The UTC day `tokensUsed` counts (yyyy-mm-dd). */
  tokensDay?: string;
  tokensUsed: number;
  /** The conversation the user last sent to: it already leads the rooms list. */
  lastRoom?: string;
  /** Bumped by every send's write, so concurrent sends cannot both take the last slot. */
  version: number;
}

/** The per-user account item: API key, usage limits, the latest conversation. */
export interface AccountStore {
  read(userId: string): Promise<AccountState>;
  /**
   * Records a send if nothing else was recorded since `seen` was read; otherwise returns the
   * account as it now is, for another try.
   */
  recordSend(
    userId: string,
    seen: AccountState,
    next: Pick<AccountState, 'sends' | 'lastRoom'>,
  ): Promise<{ recorded: true } | { recorded: false; current: AccountState }>;
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
  sends?: Record<string, number>;
  tokens_day?: string;
  tokens_used?: number;
  last_room?: string;
  version?: number;
}

export interface DynamoAccountStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/**
 * One small item per user (`ACCOUNT`): a send reads it once (key and limits together) and
 * writes it once, conditionally on its `version`. Its size is bounded whatever the limits: the
 * rate window keeps at most 60 one-second counts.
 */
export class DynamoAccountStore implements AccountStore {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;

  constructor({ client, tableName }: DynamoAccountStoreOptions) {
    this.#db = client;
    this.#table = tableName;
  }

  async read(userId: string): Promise<AccountState> {
    const { Item } = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: this.#key(userId), ConsistentRead: true }),
    );
    return stateOf(Item as AccountItem | undefined);
  }

  async recordSend(
    userId: string,
    seen: AccountState,
    next: Pick<AccountState, 'sends' | 'lastRoom'>,
  ): Promise<{ recorded: true } | { recorded: false; current: AccountState }> {
    try {
      await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(userId),
          UpdateExpression: `SET sends = :sends, version = :next${next.lastRoom === undefined ? '' : ', last_room = :room'}`,
          ConditionExpression:
            seen.version === 0 ? 'attribute_not_exists(version)' : 'version = :seen',
          ExpressionAttributeValues: {
            ':sends': next.sends,
            ':next': seen.version + 1,
            ...(seen.version === 0 ? {} : { ':seen': seen.version }),
            ...(next.lastRoom === undefined ? {} : { ':room': next.lastRoom }),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { recorded: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const raw = (error as { Item?: Parameters<typeof unmarshall>[0] }).Item;
      return { recorded: false, current: stateOf(raw && (unmarshall(raw) as AccountItem)) };
    }
  }

  async addTokens(userId: string, day: string, tokens: number): Promise<void> {
    try {
      await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(userId),
          UpdateExpression: 'ADD tokens_used :tokens',
          ConditionExpression: 'tokens_day = :day',
          ExpressionAttributeValues: { ':tokens': tokens, ':day': day },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // A new day: start its count. Should two replies race here, one count may be lost,
      // which errs in the user's favour by one reply's tokens.
      await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(userId),
          UpdateExpression: 'SET tokens_day = :day, tokens_used = :tokens',
          ExpressionAttributeValues: { ':tokens': tokens, ':day': day },
        }),
      );
    }
  }

  async getApiKey(userId: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.#db.send(
      new GetCommand({
        TableName: this.#table,
        Key: this.#key(userId),
        ProjectionExpression: 'ciphertext, last4, key_updated_at',
        ConsistentRead: true,
      }),
    );
    return stateOf(Item as AccountItem | undefined).apiKey;
  }

  async putApiKey(userId: string, record: ApiKeyRecord): Promise<void> {
    await this.#db.send(
      new UpdateCommand({
        TableName: this.#table,
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
      await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(userId),
          UpdateExpression: 'REMOVE ciphertext, last4, key_updated_at',
          // Without it, an update of a missing item would create an empty one.
          ConditionExpression: 'attribute_exists(ciphertext)',
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  #key(userId: string) {
    return { pk: keys.user(userId), sk: keys.account() };
  }
}

function stateOf(item: AccountItem | undefined): AccountState {
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
    sends: Object.fromEntries(Object.entries(item?.sends ?? {}).map(([s, n]) => [s, Number(n)])),
    tokensDay: item?.tokens_day,
    tokensUsed: Number(item?.tokens_used ?? 0),
    lastRoom: item?.last_room,
    version: Number(item?.version ?? 0),
  };
}
