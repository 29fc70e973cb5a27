import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { keys } from '../table.ts';

/** A user's stored API key: ciphertext only, plus what the settings page may show. */
export interface ApiKeyRecord {
  /** KMS ciphertext, bound to the user by its encryption context. */
  ciphertext: Uint8Array;
  /** The key's last four characters, to tell keys apart in settings. */
  last4: string;
  /** ISO 8601. */
  updatedAt: string;
}

export interface ApiKeyStore {
  get(userId: string): Promise<ApiKeyRecord | undefined>;
  put(userId: string, record: ApiKeyRecord): Promise<void>;
  /** Returns whether there was a key to delete. */
  delete(userId: string): Promise<boolean>;
}

export interface DynamoApiKeyStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

export class DynamoApiKeyStore implements ApiKeyStore {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;

  constructor({ client, tableName }: DynamoApiKeyStoreOptions) {
    this.#db = client;
    this.#table = tableName;
  }

  async get(userId: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: this.#key(userId), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return { ciphertext: Item.ciphertext, last4: Item.last4, updatedAt: Item.updated_at };
  }

  async put(userId: string, record: ApiKeyRecord): Promise<void> {
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          ...this.#key(userId),
          ciphertext: record.ciphertext,
          last4: record.last4,
          updated_at: record.updatedAt,
        },
      }),
    );
  }

  async delete(userId: string): Promise<boolean> {
    const { Attributes } = await this.#db.send(
      new DeleteCommand({
        TableName: this.#table,
        Key: this.#key(userId),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  #key(userId: string) {
    return { pk: keys.user(userId), sk: keys.apiKey() };
  }
}
