import { BatchGetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import type { Exchange, StoredMessage, TokenCount } from '#chat/message.ts';
import { busy, putItems } from './batches.ts';
import { unlessConditionFailed } from './conditions.ts';
import { fromItem, type MessageItem, toItem } from './message-item.ts';
import { previewOf, type RoomItem } from './room-item.ts';
import { keys, roomKey, TABLE } from './table.ts';
import { RoomStore } from './table-store.ts';

/** The reply about to be written: who writes it, and when its writer counts as dead. */
export interface ReplyStart {
  senderId: string;
  /** The model the reply is asked of. */
  aiModel: string;
  /** Epoch ms after which the reply counts as dead if its writer has not saved again. */
  staleAfter: number;
}

/** What a send hands in: the question, and the reply about to be written. */
export interface ExchangeStart {
  /**
   * The conversation already leads the user's rooms list (it had their last send), so its
   * place in the rooms index stays as it is: moving it costs two index writes.
   */
  leadsRooms?: boolean;
  user: { senderId: string; content: string; tokens?: TokenCount };
  reply: ReplyStart;
  /** Becomes the conversation's title if it has none (taken from its first message). */
  title: string;
}

export interface StartedExchange extends Exchange {
  /** The conversation's `base` when the exchange began: earlier context lies above it. */
  base: number;
}

/**
 * A conversation's question-and-reply pairs: where a turn is stored, read back and replaced.
 * Every method stays inside `userId`'s own partition.
 */
export interface ExchangeStore {
  /**
   * Takes the next two places in a conversation and stores the question in the first and an
   * empty reply (`streaming`) in the second: the reply exists from the moment the model is asked.
   */
  beginExchange(userId: string, roomId: string, start: ExchangeStart): Promise<StartedExchange>;
  /** An exchange by its places, if it is still there and not cleared. */
  exchange(
    userId: string,
    roomId: string,
    seqs: { user: number; ai: number },
  ): Promise<Exchange | undefined>;
  /** The conversation's last two messages (strongly consistent), and its `base`. */
  lastExchange(userId: string, roomId: string): Promise<StartedExchange | undefined>;
  /**
   * Puts a new, empty reply (`streaming`, a new id) in the place of the conversation's last
   * reply, atomically and only if nothing changed since `old` was read; undefined otherwise.
   */
  replaceReply(
    userId: string,
    old: StoredMessage,
    reply: ReplyStart,
  ): Promise<StoredMessage | undefined>;
}

/**
 * Messages keyed by user and a per-conversation sequence number: the conversation item hands
 * out sequence numbers atomically, two per exchange, so concurrent sends never collide and a
 * question and its reply stay adjacent. The count is kept, not counted.
 */
export class DynamoExchangeStore extends RoomStore implements ExchangeStore {
  readonly #nextId = monotonicFactory();

  async beginExchange(userId: string, roomId: string, start: ExchangeStart) {
    const pk = keys.user(userId);
    const then = new Date().toISOString();
    const { Attributes = {} } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
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
          ':preview': previewOf(start.user.content),
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
    const ai = this.#emptyReply(roomId, seq, start.reply, now);
    const items = [
      { pk, sk: keys.message(roomId, user.seq), ...toItem(user) },
      { pk, sk: keys.message(roomId, ai.seq), ...toItem(ai) },
      { pk, sk: keys.reply(ai.id), room_id: roomId, seq: ai.seq },
    ];
    try {
      // One batch: the places are unique, so no write can overwrite another message.
      await putItems(items, this.batches);
    } catch (error) {
      // The write's own error is what the caller must see. If giving the count back fails too
      // (the table is failing already), the conversation counts two messages it does not
      // show until its next clear; the messages themselves are not wrong.
      await this.#giveBack(pk, roomId, user.seq).catch(() => undefined);
      throw error;
    }
    return { user, ai, base };
  }

  /**
   * Takes an exchange that could not be stored back out of the count, unless a clear has
   * hidden its places meanwhile (the clear already zeroed the count).
   */
  async #giveBack(pk: string, roomId: string, firstSeq: number) {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: keys.room(roomId) },
          UpdateExpression: 'ADD message_count :minus',
          ConditionExpression: 'attribute_not_exists(#base) OR #base < :seq',
          ExpressionAttributeNames: { '#base': 'base' },
          ExpressionAttributeValues: { ':minus': -2, ':seq': firstSeq },
        }),
      )
      .catch(unlessConditionFailed);
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
    if (!room || !user || !ai || (room.base ?? 0) >= seqs.user) return undefined;
    return { user, ai };
  }

  async lastExchange(userId: string, roomId: string): Promise<StartedExchange | undefined> {
    const room = await this.room(userId, roomId);
    if (!room) return undefined;
    const base = Number(room.base ?? 0);
    const last = Number(room.seq);
    if (last - 1 <= base) return undefined;
    const items = await this.range(
      userId,
      roomId,
      { from: last - 1, to: last },
      { ascending: true, limit: 2, consistent: true },
    );
    const [user, ai] = items.map(fromItem);
    if (!user || !ai || user.messageType !== 'user' || ai.messageType !== 'ai') return undefined;
    return { user, ai, base };
  }

  async replaceReply(userId: string, old: StoredMessage, reply: ReplyStart) {
    const pk = keys.user(userId);
    const ai = this.#emptyReply(old.roomId, old.seq, reply, new Date().toISOString());
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              // Nothing was added after it and no clear hid it since it was read.
              ConditionCheck: {
                TableName: this.table,
                Key: { pk, sk: keys.room(old.roomId) },
                ConditionExpression:
                  '#seq = :seq AND (attribute_not_exists(#base) OR #base < :seq)',
                ExpressionAttributeNames: { '#seq': 'seq', '#base': 'base' },
                ExpressionAttributeValues: { ':seq': old.seq },
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: { pk, sk: keys.message(old.roomId, old.seq), ...toItem(ai) },
                ConditionExpression: 'id = :old AND #status <> :streaming',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':old': old.id, ':streaming': 'streaming' },
              },
            },
            { Delete: { TableName: this.table, Key: { pk, sk: keys.reply(old.id) } } },
            {
              Put: {
                TableName: this.table,
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

  /** A reply as it is stored before the model is asked: empty, `streaming`, a new id. */
  #emptyReply(roomId: string, seq: number, reply: ReplyStart, now: string): StoredMessage {
    return {
      id: this.#nextId(),
      roomId,
      seq,
      senderId: reply.senderId,
      content: '',
      messageType: 'ai',
      status: 'streaming',
      aiModel: reply.aiModel,
      createdAt: now,
      updatedAt: now,
      staleAfter: reply.staleAfter,
    };
  }
}
