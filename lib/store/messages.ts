import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import { ServiceUnavailableError } from '../errors.ts';
import { keys } from '../table.ts';

export type MessageType = 'user' | 'ai';

/** A message as the caller hands it in. */
export interface NewMessage {
  senderId: string;
  content: string;
  messageType: MessageType;
  /** The model that wrote an AI message, or `error` for a stored fallback reply. */
  aiModel?: string;
}

/** A message as stored: with its id, its place in the conversation and its time. */
export interface StoredMessage extends NewMessage {
  /** A ULID: unique even for messages written in the same millisecond. */
  id: string;
  roomId: string;
  /** Position in the conversation, 1-based, never reused; gives a stable order. */
  seq: number;
  /** ISO 8601. */
  createdAt: string;
}

export interface HistoryPage {
  messages: StoredMessage[];
  total: number;
  hasMore: boolean;
}

/** Where a user's conversations live. Every method stays inside `userId`'s own partition. */
export interface MessageStore {
  /** Stores a message at the end of a conversation. */
  append(userId: string, roomId: string, message: NewMessage): Promise<StoredMessage>;
  /** Up to `count` messages just before `beforeSeq`, oldest first. */
  recent(
    userId: string,
    roomId: string,
    beforeSeq: number,
    count: number,
  ): Promise<StoredMessage[]>;
  /** Page `page` (1-based) of `limit` messages, oldest first. */
  page(userId: string, roomId: string, page: number, limit: number): Promise<HistoryPage>;
  /** Deletes a conversation's messages and returns how many were deleted. */
  clear(userId: string, roomId: string): Promise<number>;
}

interface RoomItem {
  seq: number;
  base?: number;
  message_count: number;
}

interface MessageItem {
  id: string;
  room_id: string;
  seq: number;
  sender_id: string;
  content: string;
  message_type: MessageType;
  ai_model?: string;
  created_at: string;
}

/** DynamoDB's BatchWriteItem takes at most 25 requests. */
const BATCH_SIZE = 25;
const BATCH_ATTEMPTS = 8;

export interface DynamoMessageStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Waits between retries of unprocessed deletes. Default: exponential backoff from 50 ms. */
  sleep?: (attempt: number) => Promise<void>;
}

const backoff = (attempt: number) =>
  new Promise<void>((resolve) =>
    setTimeout(resolve, Math.min(2_000, 50 * 2 ** attempt * Math.random())),
  );

/**
 * Messages keyed by user and a per-conversation sequence number: the counter item hands out
 * sequence numbers atomically, so concurrent writes never collide, and page N is a key range
 * (reads proportional to the page, not to N). The count is kept, not counted.
 */
export class DynamoMessageStore implements MessageStore {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #sleep: (attempt: number) => Promise<void>;
  readonly #nextId = monotonicFactory();

  constructor({ client, tableName, sleep = backoff }: DynamoMessageStoreOptions) {
    this.#db = client;
    this.#table = tableName;
    this.#sleep = sleep;
  }

  async append(userId: string, roomId: string, message: NewMessage): Promise<StoredMessage> {
    const pk = keys.user(userId);
    const now = new Date().toISOString();
    const { Attributes } = await this.#db.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk, sk: keys.room(roomId) },
        UpdateExpression:
          'ADD #seq :one, message_count :one SET room_id = :room, updated_at = :now, created_at = if_not_exists(created_at, :now)',
        ExpressionAttributeNames: { '#seq': 'seq' },
        ExpressionAttributeValues: { ':one': 1, ':room': roomId, ':now': now },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const seq = Number(Attributes?.seq);
    // Stamped after the sequence number is handed out, so time order follows sequence order
    // as closely as clocks allow.
    const createdAt = new Date().toISOString();
    const stored: StoredMessage = { ...message, id: this.#nextId(), roomId, seq, createdAt };
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk, sk: keys.message(roomId, seq), ...toItem(stored) },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (error) {
      await this.#adjustCount(pk, roomId, -1).catch(() => undefined);
      throw error;
    }
    return stored;
  }

  async recent(userId: string, roomId: string, beforeSeq: number, count: number) {
    if (count <= 0 || beforeSeq <= 1) return [];
    const { Items = [] } = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': keys.user(userId),
          ':from': keys.message(roomId, 0),
          ':to': keys.message(roomId, beforeSeq - 1),
        },
        ScanIndexForward: false,
        Limit: count,
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => fromItem(item as MessageItem)).reverse();
  }

  async page(userId: string, roomId: string, page: number, limit: number): Promise<HistoryPage> {
    const room = await this.#room(userId, roomId);
    if (!room) return { messages: [], total: 0, hasMore: false };
    const base = room.base ?? 0;
    const from = base + (page - 1) * limit + 1;
    const to = Math.min(base + page * limit, room.seq);
    const total = Math.max(0, room.message_count);
    if (from > to) return { messages: [], total, hasMore: false };
    const { Items = [] } = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': keys.user(userId),
          ':from': keys.message(roomId, from),
          ':to': keys.message(roomId, to),
        },
        ConsistentRead: true,
      }),
    );
    return {
      messages: Items.map((item) => fromItem(item as MessageItem)),
      total,
      hasMore: to < room.seq,
    };
  }

  async clear(userId: string, roomId: string): Promise<number> {
    const room = await this.#room(userId, roomId);
    if (!room) return 0;
    const pk = keys.user(userId);
    const upTo = room.seq;
    let deleted = 0;
    let complete = false;
    try {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await this.#db.send(
          new QueryCommand({
            TableName: this.#table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': pk,
              ':from': keys.message(roomId, 0),
              ':to': keys.message(roomId, upTo),
            },
            ProjectionExpression: 'pk, sk',
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
        );
        const found = page.Items ?? [];
        for (let i = 0; i < found.length; i += BATCH_SIZE) {
          deleted += await this.#deleteBatch(found.slice(i, i + BATCH_SIZE));
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      complete = true;
    } catch (error) {
      if (error instanceof PartialClearError) deleted += error.deleted;
      throw error;
    } finally {
      await this.#settleClear(pk, roomId, upTo, deleted, complete);
    }
    return deleted;
  }

  /** Deletes up to 25 keys, retrying what DynamoDB leaves unprocessed; returns how many went. */
  async #deleteBatch(batch: Record<string, unknown>[]): Promise<number> {
    let pending = batch.map((key) => ({ DeleteRequest: { Key: { pk: key.pk, sk: key.sk } } }));
    for (let attempt = 0; attempt < BATCH_ATTEMPTS; attempt++) {
      if (attempt > 0) await this.#sleep(attempt);
      const { UnprocessedItems } = await this.#db.send(
        new BatchWriteCommand({ RequestItems: { [this.#table]: pending } }),
      );
      pending = (UnprocessedItems?.[this.#table] ?? []) as typeof pending;
      if (pending.length === 0) return batch.length;
    }
    const done = batch.length - pending.length;
    throw new PartialClearError(done);
  }

  /**
   * Moves the room's `base` past what was cleared and lowers the count. When two clears race,
   * only the first moves `base`, so the count is lowered once.
   */
  async #settleClear(pk: string, roomId: string, upTo: number, deleted: number, complete: boolean) {
    if (!complete) {
      if (deleted > 0) await this.#adjustCount(pk, roomId, -deleted);
      return;
    }
    await this.#db
      .send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk, sk: keys.room(roomId) },
          UpdateExpression: 'SET #base = :upTo ADD message_count :minus',
          ConditionExpression: 'attribute_not_exists(#base) OR #base < :upTo',
          ExpressionAttributeNames: { '#base': 'base' },
          ExpressionAttributeValues: { ':upTo': upTo, ':minus': -deleted },
        }),
      )
      .catch((error: Error) => {
        if (error.name !== 'ConditionalCheckFailedException') throw error;
      });
  }

  async #adjustCount(pk: string, roomId: string, delta: number) {
    await this.#db.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk, sk: keys.room(roomId) },
        UpdateExpression: 'ADD message_count :delta',
        ExpressionAttributeValues: { ':delta': delta },
      }),
    );
  }

  async #room(userId: string, roomId: string): Promise<RoomItem | undefined> {
    const { Item } = await this.#db.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: keys.user(userId), sk: keys.room(roomId) },
        ConsistentRead: true,
      }),
    );
    return Item as RoomItem | undefined;
  }
}

/** Some deletes stayed unprocessed after every retry: the client may clear again. */
export class PartialClearError extends ServiceUnavailableError {
  readonly deleted: number;

  constructor(deleted: number) {
    super('Could not clear the whole history right now; try again');
    this.name = 'PartialClearError';
    this.deleted = deleted;
  }
}

function toItem(message: StoredMessage): MessageItem {
  return {
    id: message.id,
    room_id: message.roomId,
    seq: message.seq,
    sender_id: message.senderId,
    content: message.content,
    message_type: message.messageType,
    ai_model: message.aiModel,
    created_at: message.createdAt,
  };
}

function fromItem(item: MessageItem): StoredMessage {
  return {
    id: item.id,
    roomId: item.room_id,
    seq: item.seq,
    senderId: item.sender_id,
    content: item.content,
    messageType: item.message_type,
    aiModel: item.ai_model,
    createdAt: item.created_at,
  };
}
