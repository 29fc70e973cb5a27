import { BatchGetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Exchange, StoredMessage } from '#chat/message.ts';
import { busy, putItems } from './batches.ts';
import { BranchWrites } from './branches.ts';
import { itemWhenConditionFailed, unlessConditionFailed } from './conditions.ts';
import { fromItem, type MessageItem, toItem } from './message-item.ts';
import {
  emptyReply,
  type NewMessages,
  type QuestionStart,
  question,
  type StartedExchange,
} from './new-messages.ts';
import { activePath, baseOf, leafOf, previewOf, type RoomItem } from './room-item.ts';
import { keys, roomKey, TABLE } from './table.ts';
import type { Found } from './tree.ts';

export type { NewMessages, QuestionStart, ReplyStart, StartedExchange } from './new-messages.ts';
export type { Found } from './tree.ts';

/**
 * A conversation's messages as a tree: where a turn's messages are stored, how a message is found
 * by its id, and which branch is active. Every method stays inside `userId`'s own partition.
 */
export interface ExchangeStore {
  /**
   * A send: the question and an empty reply (`streaming`) after the active leaf. The reply exists
   * from the moment the model is asked.
   */
  beginExchange(
    userId: string,
    roomId: string,
    start: NewMessages & { user: QuestionStart },
  ): Promise<StartedExchange>;
  /**
   * New messages under the message at `under` (0, or the parent of a first message: as a new
   * first message of the conversation), on a branch of their own that becomes the active one:
   * an edit, a regenerate, a continuation. For a reply alone, `user` is the question above it.
   */
  beginBranch(
    userId: string,
    roomId: string,
    under: number,
    start: NewMessages,
  ): Promise<StartedExchange>;
  /** The message with this id in this conversation, if it is there and not cleared. */
  find(userId: string, roomId: string, messageId: string): Promise<Found | undefined>;
  /** The conversation's active leaf, if it has messages. */
  activeLeaf(userId: string, roomId: string): Promise<Found | undefined>;
  /** Makes the path through a message active; its new leaf, or undefined when there is none. */
  activate(userId: string, roomId: string, messageId: string): Promise<Found | undefined>;
  /** An exchange by its places, if it is still there and not cleared, as it is shown. */
  exchange(
    userId: string,
    roomId: string,
    seqs: { user: number; ai: number },
  ): Promise<Exchange | undefined>;
  /** Messages as they are shown: each with its parent's id and its versions' ids. */
  place(userId: string, roomId: string, messages: StoredMessage[]): Promise<StoredMessage[]>;
}

/**
 * Messages keyed by user and a per-conversation sequence number: the conversation item hands
 * out sequence numbers atomically, so concurrent sends never collide. A send after the active
 * leaf, while that leaf is the newest message, takes the next two numbers with one update (the
 * path grows, nothing else is written); anything else is a branch (`BranchWrites`).
 */
export class DynamoExchangeStore extends BranchWrites implements ExchangeStore {
  async beginExchange(
    userId: string,
    roomId: string,
    start: NewMessages & { user: QuestionStart },
  ): Promise<StartedExchange> {
    const pk = keys.user(userId);
    const then = new Date().toISOString();
    let old: RoomItem | undefined;
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: keys.room(roomId) },
          UpdateExpression:
            'SET #seq = if_not_exists(#seq, :zero) + :two, #leaf = if_not_exists(#seq, :zero) + :two, ' +
            'message_count = if_not_exists(message_count, :zero) + :two, room_id = :room, updated_at = :now, ' +
            'created_at = if_not_exists(created_at, :now), last_message_at = :now, ' +
            `last_message_preview = :preview, #activity = ${start.leadsRooms ? 'if_not_exists(#activity, :activity)' : ':activity'}, ` +
            'auto_title = if_not_exists(auto_title, :title)',
          // The active leaf is the newest message: the new ones follow it on its run.
          ConditionExpression: 'attribute_not_exists(#leaf) OR #leaf = #seq',
          ExpressionAttributeNames: {
            '#seq': 'seq',
            '#leaf': 'leaf',
            '#activity': TABLE.roomsIndex.sortKey,
          },
          ExpressionAttributeValues: {
            ':zero': 0,
            ':two': 2,
            ':room': roomId,
            ':now': then,
            ':preview': previewOf(start.user.content),
            ':activity': `${then}#${roomKey(roomId)}`,
            ':title': start.title ?? '',
          },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      old = Attributes as RoomItem | undefined;
    } catch (error) {
      // The active leaf is an older message (a branch was switched to): a branch of its own.
      const room = itemWhenConditionFailed<RoomItem>(error);
      return this.branch(userId, roomId, leafOf(room), start, room);
    }
    return this.#append(userId, roomId, old, start);
  }

  /** Stores the question and the reply in the two places the update took, after the old leaf. */
  async #append(
    userId: string,
    roomId: string,
    old: RoomItem | undefined,
    start: NewMessages & { user: QuestionStart },
  ): Promise<StartedExchange> {
    const pk = keys.user(userId);
    const seq = Number(old?.seq ?? 0);
    const base = baseOf(old);
    const leaf = leafOf(old);
    const run = Number(old?.tail ?? base + 1);
    // Stamped after the places are handed out, so time order follows sequence order as
    // closely as clocks allow.
    const now = new Date().toISOString();
    const user = {
      ...question(roomId, seq + 1, leaf > base ? leaf : 0, start.user, now),
      runSeq: run,
    };
    const ai = { ...emptyReply(roomId, seq + 2, seq + 1, start.reply, now), runSeq: run };
    const items = [
      { pk, sk: keys.message(roomId, user.seq), ...toItem(user) },
      { pk, sk: keys.message(roomId, ai.seq), ...toItem(ai) },
      { pk, sk: keys.reply(ai.id), room_id: roomId, seq: ai.seq },
    ];
    try {
      // One batch: the places are unique, so no write can overwrite another message.
      await putItems(items, this.batches);
    } catch (error) {
      // The write's own error is what the caller must see. If giving the places back fails too
      // (the table is failing already), the path ends at two messages that are not there until
      // the next send or clear; nothing stored is wrong.
      await this.#giveBack(pk, roomId, { leaf, ours: ai.seq }).catch(() => undefined);
      throw error;
    }
    // The old leaf had no children, so the new question is its only one, as its reply is.
    return {
      user: { ...user, siblingIds: [user.id] },
      ai: { ...ai, parentId: user.id, siblingIds: [ai.id] },
      above: activePath(old),
      base,
    };
  }

  /**
   * Takes an exchange that could not be stored back out of the path, unless another send has
   * followed it or a clear hidden it meanwhile.
   */
  async #giveBack(pk: string, roomId: string, places: { leaf: number; ours: number }) {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: keys.room(roomId) },
          UpdateExpression: 'SET #leaf = :leaf ADD message_count :minus',
          ConditionExpression: '#leaf = :ours AND (attribute_not_exists(#base) OR #base < :ours)',
          ExpressionAttributeNames: { '#base': 'base', '#leaf': 'leaf' },
          ExpressionAttributeValues: { ':minus': -2, ':leaf': places.leaf, ':ours': places.ours },
        }),
      )
      .catch(unlessConditionFailed);
  }

  beginBranch(userId: string, roomId: string, under: number, start: NewMessages) {
    return this.branch(userId, roomId, under, start);
  }

  async activeLeaf(userId: string, roomId: string): Promise<Found | undefined> {
    const room = await this.room(userId, roomId);
    const leaf = room && (await this.messageAt(userId, roomId, leafOf(room), baseOf(room)));
    return room && leaf ? { message: leaf, room, isActiveLeaf: true } : undefined;
  }

  activate(userId: string, roomId: string, messageId: string) {
    return this.switchTo(userId, roomId, messageId);
  }

  async exchange(userId: string, roomId: string, seqs: { user: number; ai: number }) {
    const pk = keys.user(userId);
    const { Responses, UnprocessedKeys } = await this.db.send(
      new BatchGetCommand({
        RequestItems: {
          [this.table]: {
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
    const found = Responses?.[this.table] ?? [];
    const room = found.find((item) => item.sk === keys.room(roomId)) as RoomItem | undefined;
    const message = (seq: number) => {
      const item = found.find((candidate) => candidate.sk === keys.message(roomId, seq));
      return item ? fromItem(item as MessageItem) : undefined;
    };
    const [user, ai] = [message(seqs.user), message(seqs.ai)];
    if (!room || !user || !ai || baseOf(room) >= seqs.user) return undefined;
    const whole = await this.bodies(userId, roomId, [user, ai]);
    const [placedUser, placedAi] = await this.placeAll(userId, roomId, whole, room);
    return { user: placedUser as StoredMessage, ai: placedAi as StoredMessage };
  }

  async place(userId: string, roomId: string, messages: StoredMessage[]) {
    const room = await this.room(userId, roomId);
    return room ? this.placeAll(userId, roomId, messages, room) : messages;
  }
}
