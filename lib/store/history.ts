import * as z from 'zod';
import type { StoredMessage } from '#chat/message.ts';
import { OTHER_ORDER_CURSOR } from '#chat/wording.ts';
import { BadRequestError } from '#commons/errors.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { fromItem } from './message-item.ts';
import { type Order, pageEdge, pageRange, type Visible } from './page-range.ts';
import { RoomStore } from './table-store.ts';

export interface RecentRequest {
  /** Only messages above this sequence number (the conversation's `base`). */
  after: number;
  /** Only messages below this sequence number. */
  before: number;
  count: number;
  /** Strongly consistent: for the newest messages, which may have been written just now. */
  consistent: boolean;
}

/** The newest messages before a question: what a turn's context is taken from. */
export interface RecentMessages {
  /** Up to `count` of the newest messages in (after, before), oldest first. */
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
  /** In the requested order. */
  messages: StoredMessage[];
  total: number;
  hasMore: boolean;
  /** Where the next page starts, when there is one. */
  nextCursor: string | null;
}

/** A conversation's visible messages, read back. Every method stays inside `userId`'s partition. */
export interface HistoryStore {
  /** One page of a conversation, by page number or by cursor. */
  page(userId: string, roomId: string, request: PageRequest): Promise<HistoryPage>;
  /** Every visible message, oldest first, a Query of `pageSize` at a time (for export). */
  readAll(userId: string, roomId: string, pageSize?: number): AsyncGenerator<StoredMessage[]>;
}

const historyCursor = z.object({ o: z.enum(['asc', 'desc']), s: z.number().int().nonnegative() });

/**
 * Reads of a conversation's messages, by sequence number: page N is a key range (reads
 * proportional to the page, not to N). Everything at or below `base` is cleared: never shown,
 * counted or sent as context.
 */
export class DynamoHistoryStore extends RoomStore implements RecentMessages, HistoryStore {
  async recent(userId: string, roomId: string, request: RecentRequest) {
    const { after, before, count, consistent } = request;
    if (count <= 0 || before - 1 <= after) return [];
    const items = await this.range(
      userId,
      roomId,
      { from: after + 1, to: before - 1 },
      { ascending: false, limit: count, consistent },
    );
    return items.map(fromItem).reverse();
  }

  async page(userId: string, roomId: string, request: PageRequest): Promise<HistoryPage> {
    const { limit, order } = request;
    const room = await this.room(userId, roomId);
    if (!room) return { messages: [], total: 0, hasMore: false, nextCursor: null };
    const visible: Visible = { first: (room.base ?? 0) + 1, last: Number(room.seq) };
    let position: { page: number } | { after: number } = { page: request.page };
    if (request.cursor) {
      const cursor = decodeCursor(request.cursor, historyCursor);
      if (cursor.o !== order) throw new BadRequestError(OTHER_ORDER_CURSOR);
      position = { after: cursor.s };
    }
    const range = pageRange(visible, order, limit, position);
    const items =
      range.from > range.to
        ? []
        : await this.range(userId, roomId, range, {
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

  async *readAll(userId: string, roomId: string, pageSize = 500): AsyncGenerator<StoredMessage[]> {
    const room = await this.room(userId, roomId);
    if (!room) return;
    let from = Number(room.base ?? 0) + 1;
    const last = Number(room.seq);
    while (from <= last) {
      const items = await this.range(
        userId,
        roomId,
        { from, to: last },
        { ascending: true, limit: pageSize, consistent: true },
      );
      if (items.length === 0) return;
      yield items.map(fromItem);
      from = Number(items.at(-1)?.seq) + 1;
    }
  }
}
