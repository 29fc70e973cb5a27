import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { getItems } from './batches.ts';
import { unlessConditionFailed } from './conditions.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import {
  baseOf,
  leafOf,
  type RoomDetails,
  type RoomItem,
  type RoomSummary,
  roomDetails,
  roomSummary,
} from './room-item.ts';
import { keys, ROOM_PREFIX, TABLE } from './table.ts';
import { roomItems } from './table-store.ts';
import { TreeReads } from './tree.ts';

export interface RoomsPage {
  rooms: RoomSummary[];
  nextCursor: string | null;
}

/** Where a model's title for a conversation goes. */
export interface AutoTitles {
  /** Replaces the automatic title (a model's), unless the conversation was cleared since. */
  setAutoTitle(userId: string, roomId: string, title: string): Promise<void>;
}

/** A user's conversations: listed, looked at, named. Every method stays in `userId`'s partition. */
export interface ConversationStore extends AutoTitles {
  /** The user's non-empty conversations, most recent activity first. */
  rooms(userId: string, limit: number, cursor?: string): Promise<RoomsPage>;
  /** A conversation's summary, if it exists. */
  summary(userId: string, roomId: string): Promise<RoomDetails | undefined>;
  /** Gives an existing conversation its owner's title; undefined when it does not exist. */
  rename(userId: string, roomId: string, title: string): Promise<RoomDetails | undefined>;
  /** Every conversation the user has, in no particular order. */
  roomIds(userId: string): AsyncGenerator<string>;
}

const roomsCursor = z.object({ sk: z.string().startsWith(ROOM_PREFIX), a: z.string().min(1) });

/**
 * Conversation items (`ROOM#{room}`), listed newest first through a sparse, keys-only index of
 * the non-empty ones.
 */
export class DynamoConversationStore extends TreeReads implements ConversationStore {
  async rooms(userId: string, limit: number, cursor?: string): Promise<RoomsPage> {
    const pk = keys.user(userId);
    const start = cursor ? decodeCursor(cursor, roomsCursor) : undefined;
    const { Items = [], LastEvaluatedKey } = await this.db.send(
      new QueryCommand({
        TableName: this.table,
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
    const found = await getItems(
      Items.map((item) => ({ pk, sk: item.sk as string })),
      this.batches,
    );
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

  async summary(userId: string, roomId: string): Promise<RoomDetails | undefined> {
    const room = await this.room(userId, roomId);
    return room && this.#withLeaf(userId, roomId, room);
  }

  /** A room's page, with the id of its active leaf (one more read). */
  async #withLeaf(userId: string, roomId: string, room: RoomItem): Promise<RoomDetails> {
    const leaf = await this.messageAt(userId, roomId, leafOf(room), baseOf(room));
    return { ...roomDetails(room), activeLeafId: leaf?.id ?? null };
  }

  async rename(userId: string, roomId: string, title: string) {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: keys.user(userId), sk: keys.room(roomId) },
          UpdateExpression: 'SET title = :title, updated_at = :now',
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeValues: { ':title': title, ':now': new Date().toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return await this.#withLeaf(userId, roomId, Attributes as RoomItem);
    } catch (error) {
      return unlessConditionFailed(error);
    }
  }

  async setAutoTitle(userId: string, roomId: string, title: string) {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: keys.user(userId), sk: keys.room(roomId) },
          UpdateExpression: 'SET auto_title = :title',
          // Only while the conversation still holds the messages the title was made from.
          ConditionExpression: 'attribute_exists(auto_title)',
          ExpressionAttributeValues: { ':title': title },
        }),
      )
      .catch(unlessConditionFailed);
  }

  async *roomIds(userId: string): AsyncGenerator<string> {
    const items = roomItems(this.batches, userId, { projection: 'room_id', consistent: false });
    for await (const item of items) yield item.room_id as string;
  }
}
