import { DeleteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { deleteItems, type ItemKey } from './batches.ts';
import { unlessConditionFailed } from './conditions.ts';
import type { RoomItem } from './room-item.ts';
import { keys, TABLE } from './table.ts';
import { RoomStore } from './table-store.ts';

export interface ClearResult {
  /** How many visible messages the clear removed from the conversation. */
  deleted: number;
  /** Whether every cleared item is gone from the table too (else a later clear finishes). */
  purged: boolean;
  /** Whether there was a conversation at all. */
  existed: boolean;
}

/** Empties or removes a conversation. Every method stays inside `userId`'s own partition. */
export interface ClearStore {
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
}

/** Keys read per purge step: enough to keep the batches busy, few enough to stop in time. */
const PURGE_PAGE = 250;
/** Time kept back for the last purge step and the answer. */
const PURGE_MARGIN_MS = 1_500;

/**
 * A clear moves the conversation's `base` up to its last sequence number: everything at or
 * below it is hidden at once, and deleted as soon as time allows.
 */
export class DynamoClearStore extends RoomStore implements ClearStore {
  async clear(
    userId: string,
    roomId: string,
    timeLeftMs: () => number,
    options: { remove?: boolean } = {},
  ): Promise<ClearResult> {
    const pk = keys.user(userId);
    // History and count move together: everything up to the current `seq` is hidden at once,
    // however long the purge below takes or wherever it is cut off. Text derived from the
    // cleared messages (preview, automatic title) goes with them; a removal takes the title too.
    const old = await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: keys.room(roomId) },
          // The tree goes whole: the path is empty, and the next message is a first one.
          UpdateExpression: `SET #base = #seq, #leaf = #seq, #tail = #seq + :one, runs = :none, message_count = :zero REMOVE roots, #activity, last_message_preview, auto_title${options.remove ? ', title' : ''}`,
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeNames: {
            '#base': 'base',
            '#seq': 'seq',
            '#leaf': 'leaf',
            '#tail': 'tail',
            '#activity': TABLE.roomsIndex.sortKey,
          },
          ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':none': [] },
          ReturnValues: 'ALL_OLD',
        }),
      )
      .then(({ Attributes }) => Attributes as RoomItem | undefined, unlessConditionFailed);
    if (!old) return { deleted: 0, purged: true, existed: false };
    const upTo = Number(old.seq);
    const purged = await this.#purge(pk, roomId, upTo, timeLeftMs);
    // The conversation item goes last, once nothing of it is left, and only if no send has
    // brought the conversation back meanwhile; until then it keeps the place of what remains.
    if (options.remove && purged) {
      await this.db
        .send(
          new DeleteCommand({
            TableName: this.table,
            Key: { pk, sk: keys.room(roomId) },
            ConditionExpression: '#seq = :upTo',
            ExpressionAttributeNames: { '#seq': 'seq' },
            ExpressionAttributeValues: { ':upTo': upTo },
          }),
        )
        .catch(unlessConditionFailed);
    }
    return { deleted: Math.max(0, Number(old.message_count)), purged, existed: true };
  }

  /**
   * Deletes a conversation's items up to `upTo` (and the pointers of its replies), newest first
   * so a reply still being written notices soonest, while time allows. Starting from the
   * bottom every time also catches items written after an earlier purge passed them.
   */
  async #purge(pk: string, roomId: string, upTo: number, timeLeftMs: () => number) {
    // A reply's pieces and long text first: they are found by their own keys, not the message's.
    for (const [from, to] of [
      [keys.piecePrefix(roomId, 0), `${keys.piecePrefix(roomId, upTo)}~`],
      [keys.overflowPrefix(roomId, 0), `${keys.overflowPrefix(roomId, upTo)}~`],
    ] as const) {
      if (!(await this.#purgeRange(pk, from, to, timeLeftMs))) return false;
    }
    for (;;) {
      if (timeLeftMs() < PURGE_MARGIN_MS) return false;
      const { Items = [] } = await this.db.send(
        new QueryCommand({
          TableName: this.table,
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
        // Deletes DynamoDB kept refusing: stop here rather than read the same keys again.
        if ((await deleteItems(targets, this.batches)) < targets.length) return false;
      }
    }
  }

  /** Deletes every item with a key in [from, to] while time allows; whether all went. */
  async #purgeRange(pk: string, from: string, to: string, timeLeftMs: () => number) {
    for (;;) {
      if (timeLeftMs() < PURGE_MARGIN_MS) return false;
      const { Items = [] } = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
          ProjectionExpression: 'pk, sk',
          Limit: PURGE_PAGE,
          ConsistentRead: true,
        }),
      );
      if (Items.length === 0) return true;
      const targets = Items.map((item) => ({ pk, sk: item.sk as string }));
      if ((await deleteItems(targets, this.batches)) < targets.length) return false;
    }
  }
}
