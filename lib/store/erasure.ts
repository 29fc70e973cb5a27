import { DeleteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../table.ts';
import { backoff, deleteItems, type ItemKey } from './purge.ts';

/** What erasing a user removed. */
export interface Erased {
  conversations: number;
  /** Messages that were visible in them. */
  messages: number;
  apiKey: boolean;
  /** Whether nothing of the user is left (else erasing again finishes). */
  complete: boolean;
}

/** Removes everything a user has: conversations, messages, key, limits, idempotency records. */
export interface Erasure {
  erase(userId: string, timeLeftMs: () => number): Promise<Erased>;
}

const MARGIN_MS = 1_500;
const PAGE = 500;

export interface DynamoErasureOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  sleep?: (attempt: number) => Promise<void>;
}

/**
 * Everything of a user lives in their own partition, so erasing is a walk of that one
 * partition (no other user's key is ever read or written). The account and the conversations
 * go first, so every route shows nothing at once; the rest follows while time allows.
 */
export class DynamoErasure implements Erasure {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #sleep: (attempt: number) => Promise<void>;

  constructor({ client, tableName, sleep = backoff }: DynamoErasureOptions) {
    this.#db = client;
    this.#table = tableName;
    this.#sleep = sleep;
  }

  async erase(userId: string, timeLeftMs: () => number): Promise<Erased> {
    const pk = keys.user(userId);
    const purge = { db: this.#db, table: this.#table, sleep: this.#sleep };
    let conversations = 0;
    let messages = 0;
    const rooms: ItemKey[] = [];
    for await (const item of this.#items(pk, 'ROOM#', 'sk, message_count')) {
      rooms.push({ pk, sk: item.sk as string });
      conversations += 1;
      messages += Math.max(0, Number(item.message_count ?? 0));
    }
    const { Attributes } = await this.#db.send(
      new DeleteCommand({
        TableName: this.#table,
        Key: { pk, sk: keys.account() },
        ReturnValues: 'ALL_OLD',
      }),
    );
    await deleteItems(rooms, purge);
    let complete = false;
    while (timeLeftMs() >= MARGIN_MS) {
      const { Items = [] } = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ProjectionExpression: 'pk, sk',
          Limit: PAGE,
          ConsistentRead: true,
        }),
      );
      if (Items.length === 0) {
        complete = true;
        break;
      }
      const targets = Items.map((item) => ({ pk, sk: item.sk as string }));
      if ((await deleteItems(targets, purge)) < targets.length) break;
    }
    return { conversations, messages, apiKey: Attributes?.ciphertext !== undefined, complete };
  }

  async *#items(pk: string, prefix: string, projection: string) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
          ProjectionExpression: projection,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}
