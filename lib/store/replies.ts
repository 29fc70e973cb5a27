import { BatchGetCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TokenUsage } from '#adapters/model.ts';
import type { MessageStatus, StoredMessage, TokenCount } from '#chat/message.ts';
import { busy } from './batches.ts';
import { itemWhenConditionFailed } from './conditions.ts';
import { fromItem, type MessageItem, usageItem } from './message-item.ts';
import { keys } from './table.ts';
import { TreeReads } from './tree.ts';

/** Where an AI message is: found by its id through its pointer item. */
export interface ReplyRef {
  id: string;
  roomId: string;
  seq: number;
}

/**
 * What a writer learns when it saves: keep `writing`, `stop` (its owner asked), or `gone` (the
 * message was cleared, deleted, or settled by someone else): stop, and write nothing more.
 */
export type WriterSignal = 'writing' | 'stop' | 'gone';

/** How a reply ends. */
export interface ReplyEnd {
  status: Exclude<MessageStatus, 'streaming'>;
  content: string;
  aiModel: string;
  usage?: TokenUsage;
  partial?: boolean;
  /** Its exact token count, when the writer had the encoder at hand. */
  tokens?: TokenCount;
}

/** The life of a reply while it is written: saved, followed, stopped, settled. */
export interface ReplyStore {
  /** Where the AI message with this id is, if it is the user's. */
  locate(userId: string, messageId: string): Promise<ReplyRef | undefined>;
  /** The message, if it still exists and is not cleared. */
  read(userId: string, ref: ReplyRef): Promise<StoredMessage | undefined>;
  /** Saves the text so far of a reply being written. */
  save(userId: string, ref: ReplyRef, content: string, staleAfter: number): Promise<WriterSignal>;
  /** What a writer with nothing new to save should do (a read, no write). */
  check(userId: string, ref: ReplyRef): Promise<WriterSignal>;
  /** Stores the reply's end; the message as it ends up, or undefined when it is gone. */
  finish(userId: string, ref: ReplyRef, end: ReplyEnd): Promise<StoredMessage | undefined>;
  /** Asks the writer to stop; the message after the request, or undefined when it is gone. */
  requestStop(userId: string, ref: ReplyRef): Promise<StoredMessage | undefined>;
  /**
   * Ends a reply whose writer is gone, if nothing was written since `seen`; the message as it
   * ends up, or undefined when it is gone.
   */
  settle(userId: string, seen: StoredMessage, end: ReplyEnd): Promise<StoredMessage | undefined>;
  /** A reply as it is shown: with its question's id and its versions' ids. */
  placed(userId: string, message: StoredMessage): Promise<StoredMessage>;
}

/**
 * Replies live in their message items; every write here is conditional on the message still
 * being this reply (`id`) and still `streaming`, so a writer never revives a cleared message or
 * overwrites an ended one, and a stop request is seen by the writer's next save.
 */
export class DynamoReplyStore extends TreeReads implements ReplyStore {
  async placed(userId: string, message: StoredMessage): Promise<StoredMessage> {
    const room = await this.room(userId, message.roomId);
    if (!room) return message;
    const [placed] = await this.placeAll(userId, message.roomId, [message], room);
    return placed ?? message;
  }

  async locate(userId: string, messageId: string): Promise<ReplyRef | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.user(userId), sk: keys.reply(messageId) },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    return { id: messageId, roomId: Item.room_id as string, seq: Number(Item.seq) };
  }

  async read(userId: string, ref: ReplyRef): Promise<StoredMessage | undefined> {
    const pk = keys.user(userId);
    const roomKey = keys.room(ref.roomId);
    const { Responses, UnprocessedKeys } = await this.db.send(
      new BatchGetCommand({
        RequestItems: {
          [this.table]: {
            Keys: [
              { pk, sk: roomKey },
              { pk, sk: keys.message(ref.roomId, ref.seq) },
            ],
            ConsistentRead: true,
          },
        },
      }),
    );
    if (Object.keys(UnprocessedKeys ?? {}).length > 0) throw busy();
    const found = Responses?.[this.table] ?? [];
    const room = found.find((item) => item.sk === roomKey);
    const item = found.find((candidate) => candidate.sk !== roomKey) as MessageItem | undefined;
    if (!room || !item || item.id !== ref.id || Number(room.base ?? 0) >= ref.seq) return undefined;
    return fromItem(item);
  }

  async save(userId: string, ref: ReplyRef, content: string, staleAfter: number) {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.#key(userId, ref),
          UpdateExpression: 'SET #content = :content, updated_at = :now, stale_after = :stale',
          ConditionExpression:
            'id = :id AND #status = :streaming AND attribute_not_exists(stop_requested)',
          ExpressionAttributeNames: { '#status': 'status', '#content': 'content' },
          ExpressionAttributeValues: {
            ':content': content,
            ':now': new Date().toISOString(),
            ':stale': staleAfter,
            ':id': ref.id,
            ':streaming': 'streaming',
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'writing';
    } catch (error) {
      return signalOf(ref, itemWhenConditionFailed<MessageItem>(error));
    }
  }

  async check(userId: string, ref: ReplyRef): Promise<WriterSignal> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: this.#key(userId, ref),
        ProjectionExpression: 'id, #status, stop_requested',
        ExpressionAttributeNames: { '#status': 'status' },
        ConsistentRead: true,
      }),
    );
    return signalOf(ref, Item as MessageItem | undefined);
  }

  async finish(userId: string, ref: ReplyRef, end: ReplyEnd) {
    return this.#end(userId, ref, end, {});
  }

  async requestStop(userId: string, ref: ReplyRef) {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.#key(userId, ref),
          UpdateExpression: 'SET stop_requested = :now',
          ConditionExpression: 'id = :id AND #status = :streaming',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':now': new Date().toISOString(),
            ':id': ref.id,
            ':streaming': 'streaming',
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return fromItem(Attributes as MessageItem);
    } catch (error) {
      return this.#current(ref, error);
    }
  }

  async settle(userId: string, seen: StoredMessage, end: ReplyEnd) {
    const ref = { id: seen.id, roomId: seen.roomId, seq: seen.seq };
    return this.#end(userId, ref, end, { updatedAt: seen.updatedAt });
  }

  /** Writes a reply's end if it is still this reply, still streaming (and unchanged since `updatedAt`). */
  async #end(userId: string, ref: ReplyRef, end: ReplyEnd, unchanged: { updatedAt?: string }) {
    const sets = [
      '#content = :content',
      '#status = :status',
      'ai_model = :model',
      'updated_at = :now',
      ...(end.usage ? ['#usage = :usage'] : []),
      ...(end.partial ? ['#partial = :partial'] : []),
      ...(end.tokens ? ['tokens = :tokens', 'tokens_encoding = :encoding'] : []),
    ];
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.#key(userId, ref),
          UpdateExpression: `SET ${sets.join(', ')} REMOVE stale_after, stop_requested`,
          ConditionExpression: `id = :id AND #status = :streaming${unchanged.updatedAt ? ' AND updated_at = :seen' : ''}`,
          ExpressionAttributeNames: {
            '#status': 'status',
            '#content': 'content',
            ...(end.usage ? { '#usage': 'usage' } : {}),
            ...(end.partial ? { '#partial': 'partial' } : {}),
          },
          ExpressionAttributeValues: {
            ':content': end.content,
            ':status': end.status,
            ':model': end.aiModel,
            ':now': new Date().toISOString(),
            ':id': ref.id,
            ':streaming': 'streaming',
            ...(end.usage ? { ':usage': usageItem(end.usage) } : {}),
            ...(end.partial ? { ':partial': true } : {}),
            ...(end.tokens
              ? { ':tokens': end.tokens.count, ':encoding': end.tokens.encoding }
              : {}),
            ...(unchanged.updatedAt ? { ':seen': unchanged.updatedAt } : {}),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return fromItem(Attributes as MessageItem);
    } catch (error) {
      return this.#current(ref, error);
    }
  }

  /** After a conditional write lost: the message as it is, if it is still this reply. */
  #current(ref: ReplyRef, error: unknown): StoredMessage | undefined {
    const item = itemWhenConditionFailed<MessageItem>(error);
    return item?.id === ref.id ? fromItem(item) : undefined;
  }

  #key(userId: string, ref: ReplyRef) {
    return { pk: keys.user(userId), sk: keys.message(ref.roomId, ref.seq) };
  }
}

function signalOf(ref: ReplyRef, item: MessageItem | undefined): WriterSignal {
  if (!item || item.id !== ref.id || (item.status ?? 'complete') !== 'streaming') return 'gone';
  return item.stop_requested !== undefined ? 'stop' : 'writing';
}
