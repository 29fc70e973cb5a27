import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import * as z from 'zod';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { BadRequestError, ServiceUnavailableError } from '../errors.ts';
import { keys, TABLE } from '../table.ts';
import { isConditionFailure } from './conditions.ts';

export type MessageType = 'user' | 'ai';

/** A message as the caller hands it in. */
export interface NewMessage {
  senderId: string;
  content: string;
  messageType: MessageType;
  /** The model that wrote an AI message, or `error` for a stored fallback reply. */
  aiModel?: string;
  /** Token usage the upstream reported for an AI message. */
  usage?: TokenUsage;
  /** An AI reply cut short by an upstream failure mid-stream. */
  partial?: boolean;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
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

export type Order = 'asc' | 'desc';

export interface PageRequest {
  /** 1-based; ignored when `cursor` is given. */
  page: number;
  limit: number;
  /** `asc`: page 1 is the oldest (the seed's order); `desc`: page 1 is the newest. */
  order: Order;
  /** A `nextCursor` from an earlier page of the same order. */
  cursor?: string;
}

export interface HistoryPage {
  /** In the requested order. */
  messages: StoredMessage[];
  total: number;
  hasMore: boolean;
  /** Where the next page starts, when there is one. */
  nextCursor: string | null;
}

/** A conversation as the rooms list shows it. */
export interface RoomSummary {
  roomId: string;
  messageCount: number;
  lastMessageAt: string;
  lastMessagePreview: string;
}

export interface RoomsPage {
  rooms: RoomSummary[];
  nextCursor: string | null;
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
  /** One page of a conversation, by page number or by cursor. */
  page(userId: string, roomId: string, request: PageRequest): Promise<HistoryPage>;
  /** The user's non-empty conversations, most recent activity first. */
  rooms(userId: string, limit: number, cursor?: string): Promise<RoomsPage>;
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
  usage?: TokenUsage;
  partial?: boolean;
  created_at: string;
}

const PREVIEW_CHARS = 120;

const historyCursor = z.object({ o: z.enum(['asc', 'desc']), s: z.number().int().nonnegative() });
const roomsCursor = z.object({ sk: z.string().startsWith('ROOM#'), a: z.string() });

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
          'ADD #seq :one, message_count :one SET room_id = :room, updated_at = :now, ' +
          'created_at = if_not_exists(created_at, :now), last_message_at = :now, ' +
          'last_message_preview = :preview, #activity = :activity',
        ExpressionAttributeNames: { '#seq': 'seq', '#activity': TABLE.roomsIndex.sortKey },
        ExpressionAttributeValues: {
          ':one': 1,
          ':room': roomId,
          ':now': now,
          ':preview': [...message.content].slice(0, PREVIEW_CHARS).join(''),
          ':activity': `${now}#${encodeURIComponent(roomId)}`,
        },
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
    const items = await this.#range(userId, roomId, 0, beforeSeq - 1, false, count);
    return items.map(fromItem).reverse();
  }

  async page(userId: string, roomId: string, request: PageRequest): Promise<HistoryPage> {
    const { limit, order } = request;
    const room = await this.#room(userId, roomId);
    if (!room) return { messages: [], total: 0, hasMore: false, nextCursor: null };
    const first = (room.base ?? 0) + 1;
    const last = room.seq;
    const total = Math.max(0, room.message_count);
    const ascending = order === 'asc';

    // A cursor names the last sequence number the previous page covered.
    let from: number;
    let to: number;
    if (request.cursor) {
      const cursor = decodeCursor(request.cursor, historyCursor);
      if (cursor.o !== order) throw new BadRequestError('cursor belongs to the other order');
      [from, to] = ascending ? [Math.max(first, cursor.s + 1), last] : [first, cursor.s - 1];
    } else {
      const skip = (request.page - 1) * limit;
      [from, to] = ascending
        ? [first + skip, Math.min(first + skip + limit - 1, last)]
        : [Math.max(first, last - skip - limit + 1), last - skip];
    }
    const items = from > to ? [] : await this.#range(userId, roomId, from, to, ascending, limit);
    const messages = items.map(fromItem);
    // The edge the page reached: the last item when the limit cut the range, else the range's end.
    const cutAt = messages.length === limit ? messages.at(-1)?.seq : undefined;
    const edge = cutAt ?? (ascending ? to : from);
    const hasMore = ascending ? edge < last : edge > first;
    return {
      messages,
      total,
      hasMore,
      nextCursor: hasMore ? encodeCursor({ o: order, s: edge }) : null,
    };
  }

  async rooms(userId: string, limit: number, cursor?: string): Promise<RoomsPage> {
    const pk = keys.user(userId);
    const start = cursor ? decodeCursor(cursor, roomsCursor) : undefined;
    const { Items = [], LastEvaluatedKey } = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: TABLE.roomsIndex.name,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ScanIndexForward: false,
        Limit: limit,
        // The partition is always the caller's: a cursor carries only positions inside it.
        ExclusiveStartKey: start
          ? { pk, sk: start.sk, [TABLE.roomsIndex.sortKey]: start.a }
          : undefined,
      }),
    );
    return {
      rooms: Items.map((item) => ({
        roomId: item.room_id,
        messageCount: Math.max(0, item.message_count),
        lastMessageAt: item.last_message_at,
        lastMessagePreview: item.last_message_preview ?? '',
      })),
      nextCursor: LastEvaluatedKey
        ? encodeCursor({ sk: LastEvaluatedKey.sk, a: LastEvaluatedKey[TABLE.roomsIndex.sortKey] })
        : null,
    };
  }

  /** Messages with sequence numbers in [from, to], at most `limit`, from the given end. */
  async #range(
    userId: string,
    roomId: string,
    from: number,
    to: number,
    ascending: boolean,
    limit: number,
  ) {
    const { Items = [] } = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': keys.user(userId),
          ':from': keys.message(roomId, from),
          ':to': keys.message(roomId, to),
        },
        ScanIndexForward: ascending,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return Items as MessageItem[];
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
   * only the first moves `base`, so the count is lowered once. An emptied room also leaves the
   * rooms index, unless a message arrived while it was being cleared.
   */
  async #settleClear(pk: string, roomId: string, upTo: number, deleted: number, complete: boolean) {
    if (!complete) {
      if (deleted > 0) await this.#adjustCount(pk, roomId, -deleted);
      return;
    }
    const moveBase = (emptied: boolean) =>
      this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk, sk: keys.room(roomId) },
          UpdateExpression: `SET #base = :upTo ADD message_count :minus${emptied ? ' REMOVE #activity' : ''}`,
          ConditionExpression: `(attribute_not_exists(#base) OR #base < :upTo)${emptied ? ' AND #seq = :upTo' : ''}`,
          ExpressionAttributeNames: {
            '#base': 'base',
            ...(emptied ? { '#activity': TABLE.roomsIndex.sortKey, '#seq': 'seq' } : {}),
          },
          ExpressionAttributeValues: { ':upTo': upTo, ':minus': -deleted },
        }),
      );
    const unlessConditionFails = (error: unknown) => {
      if (!isConditionFailure(error)) throw error;
      return false;
    };
    const emptied = await moveBase(true).then(() => true, unlessConditionFails);
    if (!emptied) await moveBase(false).catch(unlessConditionFails);
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
    usage: message.usage,
    partial: message.partial || undefined,
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
    usage: item.usage,
    partial: item.partial,
    createdAt: item.created_at,
  };
}
