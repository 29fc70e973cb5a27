import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import * as z from 'zod';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { BadRequestError, ServiceUnavailableError } from '../errors.ts';
import { keys, roomKey, TABLE } from '../table.ts';
import { isConditionFailure } from './conditions.ts';
import {
  fromItem,
  type MessageItem,
  type StoredMessage,
  type TokenCount,
  toItem,
} from './message-item.ts';
import { type Order, pageEdge, pageRange, type Visible } from './page-range.ts';
import { backoff, deleteItems, type ItemKey } from './purge.ts';

export type { MessageStatus, MessageType, StoredMessage } from './message-item.ts';
export type { Order } from './page-range.ts';

/** What a send hands in: the question, and the reply about to be written. */
export interface ExchangeStart {
  /**
   * The conversation already leads the user's rooms list (it had their last send), so its
   * place in the rooms index stays as it is: moving it costs two index writes.
   */
  leadsRooms?: boolean;
  user: { senderId: string; content: string; tokens?: TokenCount };
  reply: {
    senderId: string;
    /** The model the reply is asked of. */
    aiModel: string;
    /** Epoch ms after which the reply counts as dead if its writer has not saved again. */
    staleAfter: number;
  };
  /** Becomes the conversation's title if it has none (taken from its first message). */
  title: string;
}

/** A question and its reply, adjacent in their conversation. */
export interface Exchange {
  user: StoredMessage;
  ai: StoredMessage;
}

export interface StartedExchange extends Exchange {
  /** The conversation's `base` when the exchange began: earlier context lies above it. */
  base: number;
}

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
  title: string;
  messageCount: number;
  lastMessageAt: string;
  lastMessagePreview: string;
}

export interface RoomsPage {
  rooms: RoomSummary[];
  nextCursor: string | null;
}

export interface RecentRequest {
  /** Only messages above this sequence number (the conversation's `base`). */
  after: number;
  /** Only messages below this sequence number. */
  before: number;
  count: number;
  /** Strongly consistent: for the newest messages, which may have been written just now. */
  consistent: boolean;
}

export interface ClearResult {
  /** How many visible messages the clear removed from the conversation. */
  deleted: number;
  /** Whether every cleared item is gone from the table too (else a later clear finishes). */
  purged: boolean;
  /** Whether there was a conversation at all. */
  existed: boolean;
}

/** A conversation as its own page shows it. */
export interface RoomDetails extends RoomSummary {
  /** Set by its owner (as opposed to taken from its first message, or made by the model). */
  titled: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Where a user's conversations live. Every method stays inside `userId`'s own partition. */
export interface MessageStore {
  /**
   * Takes the next two places in a conversation and stores the question in the first and an
   * empty reply (`streaming`) in the second: the reply exists from the moment the model is asked.
   */
  beginExchange(userId: string, roomId: string, start: ExchangeStart): Promise<StartedExchange>;
  /** Up to `count` of the newest messages in (after, before), oldest first. */
  recent(userId: string, roomId: string, request: RecentRequest): Promise<StoredMessage[]>;
  /** One page of a conversation, by page number or by cursor. */
  page(userId: string, roomId: string, request: PageRequest): Promise<HistoryPage>;
  /** An exchange by its places, if it is still there and not cleared. */
  exchange(
    userId: string,
    roomId: string,
    seqs: { user: number; ai: number },
  ): Promise<Exchange | undefined>;
  /** The user's non-empty conversations, most recent activity first. */
  rooms(userId: string, limit: number, cursor?: string): Promise<RoomsPage>;
  /**
   * Empties a conversation at once (history and count move together, in one conditional
   * write), then deletes the hidden items while `timeLeftMs()` allows. With `remove`, its title
   * goes too and, once nothing of it is left, the conversation item itself.
   */
  clear(
    userId: string,
    roomId: string,
    timeLeftMs: () => number,
    options?: { remove?: boolean },
  ): Promise<ClearResult>;
  /** A conversation's summary, if it exists. */
  summary(userId: string, roomId: string): Promise<RoomDetails | undefined>;
  /** Gives an existing conversation its owner's title; undefined when it does not exist. */
  rename(userId: string, roomId: string, title: string): Promise<RoomDetails | undefined>;
  /** Replaces the automatic title (a model's), unless the conversation was cleared since. */
  setAutoTitle(userId: string, roomId: string, title: string): Promise<void>;
  /** A conversation's visible messages, oldest first, a page at a time (for export). */
  scan(userId: string, roomId: string, pageSize?: number): AsyncGenerator<StoredMessage[]>;
  /** Every conversation the user has, in no particular order. */
  roomIds(userId: string): AsyncGenerator<string>;
  /** The conversation's last two messages (strongly consistent), and its `base`. */
  lastExchange(userId: string, roomId: string): Promise<StartedExchange | undefined>;
  /**
   * Puts a new, empty reply (`streaming`, a new id) in the place of the conversation's last
   * reply, atomically and only if nothing changed since `old` was read; undefined otherwise.
   */
  replaceReply(
    userId: string,
    old: StoredMessage,
    reply: ExchangeStart['reply'],
  ): Promise<StoredMessage | undefined>;
}

interface RoomItem {
  sk: string;
  activity?: string;
  room_id: string;
  seq: number;
  base?: number;
  message_count: number;
  auto_title?: string;
  title?: string;
  created_at?: string;
  updated_at?: string;
  last_message_at?: string;
  last_message_preview?: string;
}

const PREVIEW_CHARS = 120;

function roomDetails(item: RoomItem): RoomDetails {
  return {
    ...roomSummary(item),
    titled: item.title !== undefined,
    createdAt: item.created_at ?? '',
    updatedAt: item.updated_at ?? '',
  };
}

function roomSummary(item: RoomItem): RoomSummary {
  return {
    roomId: item.room_id,
    title: item.title ?? item.auto_title ?? item.room_id,
    messageCount: Math.max(0, Number(item.message_count)),
    lastMessageAt: item.last_message_at ?? '',
    lastMessagePreview: item.last_message_preview ?? '',
  };
}
const busy = () => new ServiceUnavailableError('The database is busy; try again');
/** Keys read per purge step: enough to keep the batches busy, few enough to stop in time. */
const PURGE_PAGE = 250;
/** Time kept back for the last purge step and the answer. */
const PURGE_MARGIN_MS = 1_500;
const WRITE_ATTEMPTS = 5;

const historyCursor = z.object({ o: z.enum(['asc', 'desc']), s: z.number().int().nonnegative() });
const roomsCursor = z.object({ sk: z.string().startsWith('ROOM#'), a: z.string().min(1) });

export interface DynamoMessageStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Waits between retries of unprocessed batch writes. Default: exponential backoff from 50 ms. */
  sleep?: (attempt: number) => Promise<void>;
}

/**
 * Messages keyed by user and a per-conversation sequence number: the conversation item hands
 * out sequence numbers atomically, two per exchange, so concurrent sends never collide and a
 * question and its reply stay adjacent; page N is a key range (reads proportional to the page,
 * not to N). The count is kept, not counted. Everything at or below `base` is cleared: never
 * shown, counted or sent as context, and deleted as soon as time allows.
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

  async beginExchange(userId: string, roomId: string, start: ExchangeStart) {
    const pk = keys.user(userId);
    const then = new Date().toISOString();
    const { Attributes = {} } = await this.#db.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk, sk: keys.room(roomId) },
        UpdateExpression:
          'ADD #seq :two, message_count :two SET room_id = :room, updated_at = :now, ' +
          'created_at = if_not_exists(created_at, :now), last_message_at = :now, ' +
          `last_message_preview = :preview, #activity = ${start.leadsRooms ? 'if_not_exists(#activity, :activity)' : ':activity'}, ` +
          'auto_title = if_not_exists(auto_title, :title)',
        ExpressionAttributeNames: { '#seq': 'seq', '#activity': TABLE.roomsIndex.sortKey },
        ExpressionAttributeValues: {
          ':two': 2,
          ':room': roomId,
          ':now': then,
          ':preview': [...start.user.content].slice(0, PREVIEW_CHARS).join(''),
          ':activity': `${then}#${roomKey(roomId)}`,
          ':title': start.title,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const seq = Number(Attributes.seq);
    const base = Number(Attributes.base ?? 0);
    // Stamped after the places are handed out, so time order follows sequence order as
    // closely as clocks allow.
    const now = new Date().toISOString();
    const user: StoredMessage = {
      id: this.#nextId(),
      roomId,
      seq: seq - 1,
      senderId: start.user.senderId,
      content: start.user.content,
      ...(start.user.tokens ? { tokens: start.user.tokens } : {}),
      messageType: 'user',
      status: 'complete',
      createdAt: now,
      updatedAt: now,
    };
    const ai: StoredMessage = {
      id: this.#nextId(),
      roomId,
      seq,
      senderId: start.reply.senderId,
      content: '',
      messageType: 'ai',
      status: 'streaming',
      aiModel: start.reply.aiModel,
      createdAt: now,
      updatedAt: now,
      staleAfter: start.reply.staleAfter,
    };
    const items = [
      { pk, sk: keys.message(roomId, user.seq), ...toItem(user) },
      { pk, sk: keys.message(roomId, ai.seq), ...toItem(ai) },
      { pk, sk: keys.reply(ai.id), room_id: roomId, seq: ai.seq },
    ];
    try {
      await this.#putAll(items);
    } catch (error) {
      // The write's own error is what the caller must see. If giving the count back fails too
      // (the table is failing already), the conversation counts two messages it does not
      // show until its next clear; the messages themselves are not wrong.
      await this.#giveBack(pk, roomId, user.seq).catch(() => undefined);
      throw error;
    }
    return { user, ai, base };
  }

  /** One BatchWriteItem (the places are unique, so no write can overwrite another message). */
  async #putAll(items: Record<string, unknown>[]) {
    let pending = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      if (attempt > 0) await this.#sleep(attempt);
      const { UnprocessedItems } = await this.#db.send(
        new BatchWriteCommand({ RequestItems: { [this.#table]: pending } }),
      );
      pending = (UnprocessedItems?.[this.#table] ?? []) as typeof pending;
      if (pending.length === 0) return;
    }
    throw busy();
  }

  /**
   * Takes an exchange that could not be stored back out of the count, unless a clear has
   * hidden its places meanwhile (the clear already zeroed the count).
   */
  async #giveBack(pk: string, roomId: string, firstSeq: number) {
    await this.#db
      .send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk, sk: keys.room(roomId) },
          UpdateExpression: 'ADD message_count :minus',
          ConditionExpression: 'attribute_not_exists(#base) OR #base < :seq',
          ExpressionAttributeNames: { '#base': 'base' },
          ExpressionAttributeValues: { ':minus': -2, ':seq': firstSeq },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  async recent(userId: string, roomId: string, request: RecentRequest) {
    const { after, before, count, consistent } = request;
    if (count <= 0 || before - 1 <= after) return [];
    const items = await this.#range(
      userId,
      roomId,
      { from: after + 1, to: before - 1 },
      {
        ascending: false,
        limit: count,
        consistent,
      },
    );
    return items.map(fromItem).reverse();
  }

  async page(userId: string, roomId: string, request: PageRequest): Promise<HistoryPage> {
    const { limit, order } = request;
    const room = await this.#room(userId, roomId);
    if (!room) return { messages: [], total: 0, hasMore: false, nextCursor: null };
    const visible: Visible = { first: (room.base ?? 0) + 1, last: Number(room.seq) };
    let position: { page: number } | { after: number } = { page: request.page };
    if (request.cursor) {
      const cursor = decodeCursor(request.cursor, historyCursor);
      if (cursor.o !== order) throw new BadRequestError('cursor belongs to the other order');
      position = { after: cursor.s };
    }
    const range = pageRange(visible, order, limit, position);
    const items =
      range.from > range.to
        ? []
        : await this.#range(userId, roomId, range, {
            ascending: range.ascending,
            limit,
            consistent: true,
          });
    const messages = items.map(fromItem);
    const { edge, hasMore } = pageEdge(
      visible,
      range,
      limit,
      messages.map((m) => m.seq),
    );
    return {
      messages,
      total: Math.max(0, Number(room.message_count)),
      hasMore,
      nextCursor: hasMore ? encodeCursor({ o: order, s: edge }) : null,
    };
  }

  async exchange(userId: string, roomId: string, seqs: { user: number; ai: number }) {
    const pk = keys.user(userId);
    const { Responses, UnprocessedKeys } = await this.#db.send(
      new BatchGetCommand({
        RequestItems: {
          [this.#table]: {
            Keys: [
              { pk, sk: keys.room(roomId) },
              { pk, sk: keys.message(roomId, seqs.user) },
              { pk, sk: keys.message(roomId, seqs.ai) },
            ],
            ConsistentRead: true,
          },
        },
      }),
    );
    if (Object.keys(UnprocessedKeys ?? {}).length > 0) throw busy();
    const found = Responses?.[this.#table] ?? [];
    const room = found.find((item) => item.sk === keys.room(roomId)) as RoomItem | undefined;
    const message = (seq: number) => {
      const item = found.find((candidate) => candidate.sk === keys.message(roomId, seq));
      return item ? fromItem(item as MessageItem) : undefined;
    };
    const [user, ai] = [message(seqs.user), message(seqs.ai)];
    if (!room || !user || !ai || (room.base ?? 0) >= seqs.user) return undefined;
    return { user, ai };
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
    // The index holds keys only (so a send that does not move a room writes nothing to it):
    // the rooms themselves come in one batch read.
    const found = await this.#getAll(Items.map((item) => ({ pk, sk: item.sk as string })));
    const bySk = new Map(found.map((item) => [item.sk as string, item as unknown as RoomItem]));
    return {
      rooms: Items.flatMap((key) => {
        // The index lags the table: a room cleared a moment ago may still be in it.
        const item = bySk.get(key.sk as string);
        return item?.activity ? [roomSummary(item)] : [];
      }),
      nextCursor: LastEvaluatedKey
        ? encodeCursor({ sk: LastEvaluatedKey.sk, a: LastEvaluatedKey[TABLE.roomsIndex.sortKey] })
        : null,
    };
  }

  /** Items by key in one BatchGetItem (at most 100), retrying what DynamoDB leaves unprocessed. */
  async #getAll(wanted: ItemKey[]): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    let pending = wanted;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= WRITE_ATTEMPTS) throw busy();
      if (attempt > 0) await this.#sleep(attempt);
      const { Responses, UnprocessedKeys } = await this.#db.send(
        new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: pending } } }),
      );
      found.push(...(Responses?.[this.#table] ?? []));
      pending = (UnprocessedKeys?.[this.#table]?.Keys ?? []) as ItemKey[];
    }
    return found;
  }

  async clear(
    userId: string,
    roomId: string,
    timeLeftMs: () => number,
    options: { remove?: boolean } = {},
  ): Promise<ClearResult> {
    const pk = keys.user(userId);
    let old: RoomItem | undefined;
    try {
      // History and count move together: everything up to the current `seq` is hidden at once,
      // however long the purge below takes or wherever it is cut off. Text derived from the
      // cleared messages (preview, automatic title) goes with them; a removal takes the title too.
      const { Attributes } = await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk, sk: keys.room(roomId) },
          UpdateExpression: `SET #base = #seq, message_count = :zero REMOVE #activity, last_message_preview, auto_title${options.remove ? ', title' : ''}`,
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeNames: {
            '#base': 'base',
            '#seq': 'seq',
            '#activity': TABLE.roomsIndex.sortKey,
          },
          ExpressionAttributeValues: { ':zero': 0 },
          ReturnValues: 'ALL_OLD',
        }),
      );
      old = Attributes as RoomItem | undefined;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    if (!old) return { deleted: 0, purged: true, existed: false };
    const upTo = Number(old.seq);
    const purged = await this.#purge(pk, roomId, upTo, timeLeftMs);
    // The conversation item goes last, once nothing of it is left, and only if no send has
    // brought the conversation back meanwhile; until then it keeps the place of what remains.
    if (options.remove && purged) {
      await this.#db
        .send(
          new DeleteCommand({
            TableName: this.#table,
            Key: { pk, sk: keys.room(roomId) },
            ConditionExpression: '#seq = :upTo',
            ExpressionAttributeNames: { '#seq': 'seq' },
            ExpressionAttributeValues: { ':upTo': upTo },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionFailure(error)) throw error;
        });
    }
    return { deleted: Math.max(0, Number(old.message_count)), purged, existed: true };
  }

  async summary(userId: string, roomId: string): Promise<RoomDetails | undefined> {
    const room = await this.#room(userId, roomId);
    return room && roomDetails(room);
  }

  async rename(userId: string, roomId: string, title: string) {
    try {
      const { Attributes } = await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: keys.user(userId), sk: keys.room(roomId) },
          UpdateExpression: 'SET title = :title, updated_at = :now',
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeValues: { ':title': title, ':now': new Date().toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return roomDetails(Attributes as RoomItem);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return undefined;
    }
  }

  async setAutoTitle(userId: string, roomId: string, title: string) {
    await this.#db
      .send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: keys.user(userId), sk: keys.room(roomId) },
          UpdateExpression: 'SET auto_title = :title',
          // Only while the conversation still holds the messages the title was made from.
          ConditionExpression: 'attribute_exists(auto_title)',
          ExpressionAttributeValues: { ':title': title },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  async *scan(userId: string, roomId: string, pageSize = 500): AsyncGenerator<StoredMessage[]> {
    const room = await this.#room(userId, roomId);
    if (!room) return;
    let from = Number(room.base ?? 0) + 1;
    const last = Number(room.seq);
    while (from <= last) {
      const items = await this.#range(
        userId,
        roomId,
        { from, to: last },
        {
          ascending: true,
          limit: pageSize,
          consistent: true,
        },
      );
      if (items.length === 0) return;
      yield items.map(fromItem);
      from = Number(items.at(-1)?.seq) + 1;
    }
  }

  async lastExchange(userId: string, roomId: string): Promise<StartedExchange | undefined> {
    const room = await this.#room(userId, roomId);
    if (!room) return undefined;
    const base = Number(room.base ?? 0);
    const last = Number(room.seq);
    if (last - 1 <= base) return undefined;
    const items = await this.#range(
      userId,
      roomId,
      { from: last - 1, to: last },
      {
        ascending: true,
        limit: 2,
        consistent: true,
      },
    );
    const [user, ai] = items.map(fromItem);
    if (!user || !ai || user.messageType !== 'user' || ai.messageType !== 'ai') return undefined;
    return { user, ai, base };
  }

  async replaceReply(userId: string, old: StoredMessage, reply: ExchangeStart['reply']) {
    const pk = keys.user(userId);
    const now = new Date().toISOString();
    const ai: StoredMessage = {
      id: this.#nextId(),
      roomId: old.roomId,
      seq: old.seq,
      senderId: reply.senderId,
      content: '',
      messageType: 'ai',
      status: 'streaming',
      aiModel: reply.aiModel,
      createdAt: now,
      updatedAt: now,
      staleAfter: reply.staleAfter,
    };
    try {
      await this.#db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              // Nothing was added after it and no clear hid it since it was read.
              ConditionCheck: {
                TableName: this.#table,
                Key: { pk, sk: keys.room(old.roomId) },
                ConditionExpression:
                  '#seq = :seq AND (attribute_not_exists(#base) OR #base < :seq)',
                ExpressionAttributeNames: { '#seq': 'seq', '#base': 'base' },
                ExpressionAttributeValues: { ':seq': old.seq },
              },
            },
            {
              Put: {
                TableName: this.#table,
                Item: { pk, sk: keys.message(old.roomId, old.seq), ...toItem(ai) },
                ConditionExpression: 'id = :old AND #status <> :streaming',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':old': old.id, ':streaming': 'streaming' },
              },
            },
            { Delete: { TableName: this.#table, Key: { pk, sk: keys.reply(old.id) } } },
            {
              Put: {
                TableName: this.#table,
                Item: { pk, sk: keys.reply(ai.id), room_id: old.roomId, seq: old.seq },
              },
            },
          ],
        }),
      );
      return ai;
    } catch (error) {
      if ((error as Error).name === 'TransactionCanceledException') return undefined;
      throw error;
    }
  }

  async *roomIds(userId: string): AsyncGenerator<string> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :room)',
          ExpressionAttributeValues: { ':pk': keys.user(userId), ':room': 'ROOM#' },
          ProjectionExpression: 'room_id',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) yield item.room_id as string;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /**
   * Deletes a conversation's items up to `upTo` (and the pointers of its replies), newest first
   * so a reply still being written notices soonest, while time allows. Starting from the
   * bottom every time also catches items written after an earlier purge passed them.
   */
  async #purge(pk: string, roomId: string, upTo: number, timeLeftMs: () => number) {
    for (;;) {
      if (timeLeftMs() < PURGE_MARGIN_MS) return false;
      const { Items = [] } = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': pk,
            ':from': keys.message(roomId, 0),
            ':to': keys.message(roomId, upTo),
          },
          ProjectionExpression: 'pk, sk, id, message_type',
          ScanIndexForward: false,
          Limit: PURGE_PAGE,
          ConsistentRead: true,
        }),
      );
      if (Items.length === 0) return true;
      // Pointers first: a message is deleted only once nothing points at it, so an interrupted
      // purge never strands a pointer that no later purge would find.
      const pointers: ItemKey[] = Items.filter((item) => item.message_type === 'ai').map(
        (item) => ({ pk, sk: keys.reply(item.id as string) }),
      );
      const messages: ItemKey[] = Items.map((item) => ({ pk, sk: item.sk as string }));
      for (const targets of [pointers, messages]) {
        const deleted = await deleteItems(targets, {
          db: this.#db,
          table: this.#table,
          sleep: this.#sleep,
        });
        // Deletes DynamoDB kept refusing: stop here rather than read the same keys again.
        if (deleted < targets.length) return false;
      }
    }
  }

  /** Messages with sequence numbers in [from, to], at most `limit`, from the given end. */
  async #range(
    userId: string,
    roomId: string,
    range: { from: number; to: number },
    options: { ascending: boolean; limit: number; consistent: boolean },
  ) {
    const { Items = [] } = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': keys.user(userId),
          ':from': keys.message(roomId, range.from),
          ':to': keys.message(roomId, range.to),
        },
        ScanIndexForward: options.ascending,
        Limit: options.limit,
        ConsistentRead: options.consistent,
      }),
    );
    return Items as MessageItem[];
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
