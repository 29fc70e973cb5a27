import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { StoredMessage } from '#chat/message.ts';
import { OTHER_ORDER_CURSOR } from '#chat/wording.ts';
import { BadRequestError } from '#commons/errors.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { fromItem, type MessageItem } from './message-item.ts';
import { type Order, pageEdge, pageRange, type Visible } from './page-range.ts';
import { pathLength, type Run, slice } from './path.ts';
import { activePath, baseOf } from './room-item.ts';
import { keys } from './table.ts';
import { TreeReads } from './tree.ts';

export interface RecentRequest {
  /** The path the question's context lies on, from the conversation's first message. */
  path: Run[];
  /** Only messages above this depth of the path (1-based): the question's own depth. */
  before: number;
  count: number;
  /** Strongly consistent: for the newest messages, which may have been written just now. */
  consistent: boolean;
}

/** The newest messages before a question: what a turn's context is taken from. */
export interface RecentMessages {
  /** Up to `count` of the path's messages just above depth `before`, oldest first. */
  recent(userId: string, roomId: string, request: RecentRequest): Promise<StoredMessage[]>;
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
  /** In the requested order, each with its parent's id and its versions' ids. */
  messages: StoredMessage[];
  total: number;
  hasMore: boolean;
  /** Where the next page starts, when there is one. */
  nextCursor: string | null;
}

/** A conversation's visible messages, read back. Every method stays inside `userId`'s partition. */
export interface HistoryStore {
  /** One page of the active path, by page number or by cursor. */
  page(userId: string, roomId: string, request: PageRequest): Promise<HistoryPage>;
  /**
   * The active path, oldest first, or (`branches`) every message of every branch in the order
   * they were written, a Query of `pageSize` at a time (for export).
   */
  readAll(
    userId: string,
    roomId: string,
    options?: { branches?: boolean; pageSize?: number },
  ): AsyncGenerator<StoredMessage[]>;
}

/** A cursor: an order and the depth of the path the last page ended at. */
const historyCursor = z.object({ o: z.enum(['asc', 'desc']), d: z.number().int().nonnegative() });

/**
 * Reads of a conversation's active path. A page is a range of depths of the path, which the
 * path's runs turn into key ranges of sequence numbers: a Query per run the page touches
 * (usually one), whatever the page number, the path's length or how many branches there are.
 * Everything at or below `base` is cleared: never shown, counted or sent as context.
 */
export class DynamoHistoryStore extends TreeReads implements RecentMessages, HistoryStore {
  async recent(userId: string, roomId: string, request: RecentRequest) {
    const { path, before, count, consistent } = request;
    if (count <= 0 || before <= 1) return [];
    return this.#read(
      userId,
      roomId,
      slice(path, Math.max(1, before - count), before - 1),
      consistent,
    );
  }

  async page(userId: string, roomId: string, request: PageRequest): Promise<HistoryPage> {
    const { limit, order } = request;
    const room = await this.room(userId, roomId);
    if (!room) return { messages: [], total: 0, hasMore: false, nextCursor: null };
    const path = activePath(room);
    const visible: Visible = { first: 1, last: pathLength(path) };
    let position: { page: number } | { after: number } = { page: request.page };
    if (request.cursor) {
      const cursor = decodeCursor(request.cursor, historyCursor);
      if (cursor.o !== order) throw new BadRequestError(OTHER_ORDER_CURSOR);
      position = { after: cursor.d };
    }
    const whole = pageRange(visible, order, limit, position);
    // A cursor's range runs to the path's end: a page is `limit` of it, from its near end.
    const range = whole.ascending
      ? { ...whole, to: Math.min(whole.to, whole.from + limit - 1) }
      : { ...whole, from: Math.max(whole.from, whole.to - limit + 1) };
    // One more above the page: the first message's parent, whose children are its versions.
    const read =
      range.from > range.to
        ? []
        : await this.#read(
            userId,
            roomId,
            slice(path, Math.max(1, range.from - 1), range.to),
            true,
          );
    const shown = range.from > 1 ? read.slice(1) : read;
    const placed = await this.placeAll(userId, roomId, shown, room, read.slice(0, 1));
    const messages = range.ascending ? placed : placed.reverse();
    const depths = Array.from({ length: range.to - range.from + 1 }, (_, i) => range.from + i);
    const { edge, hasMore } = pageEdge(
      visible,
      range,
      limit,
      range.ascending ? depths : depths.reverse(),
    );
    return {
      messages,
      total: Math.max(0, Number(room.message_count)),
      hasMore,
      nextCursor: hasMore ? encodeCursor({ o: order, d: edge }) : null,
    };
  }

  async *readAll(
    userId: string,
    roomId: string,
    options: { branches?: boolean; pageSize?: number } = {},
  ): AsyncGenerator<StoredMessage[]> {
    const { pageSize = 500 } = options;
    const room = await this.room(userId, roomId);
    if (!room) return;
    const runs: Run[] = options.branches
      ? [[baseOf(room) + 1, Number(room.seq)]]
      : activePath(room);
    // The message before each page is at hand (its parent, on the active path).
    let previous: StoredMessage[] = [];
    for (const [first, last] of runs) {
      let from = first;
      while (from <= last) {
        const to = Math.min(last, from + pageSize - 1);
        const messages = await this.#read(userId, roomId, [[from, to]], true);
        if (messages.length > 0) {
          yield await this.placeAll(userId, roomId, messages, room, previous);
          previous = messages.slice(-1);
        }
        from = to + 1;
      }
    }
  }

  /** The messages of these runs, in path order: a Query per run. */
  async #read(
    userId: string,
    roomId: string,
    runs: Run[],
    consistent: boolean,
  ): Promise<StoredMessage[]> {
    const pages = await Promise.all(
      runs.map(async ([from, to]) => {
        const { Items = [] } = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': keys.user(userId),
              ':from': keys.message(roomId, from),
              ':to': keys.message(roomId, to),
            },
            Limit: to - from + 1,
            ConsistentRead: consistent,
          }),
        );
        return (Items as MessageItem[]).map(fromItem);
      }),
    );
    return this.bodies(userId, roomId, pages.flat());
  }
}

export type { Order } from './page-range.ts';
