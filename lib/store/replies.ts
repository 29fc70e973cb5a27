import { BatchGetCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TokenUsage } from '#adapters/model.ts';
import type {
  MessagePart,
  MessageStatus,
  ReplyFacts,
  StoredMessage,
  TokenCount,
} from '#chat/message.ts';
import { busy, putItems } from './batches.ts';
import { itemWhenConditionFailed, unlessConditionFailed } from './conditions.ts';
import { fromItem, type MessageItem, storedParts, usageItem } from './message-item.ts';
import { fitsItem, overflowChunks, type Piece, pieceItem } from './pieces.ts';
import { keys } from './table.ts';
import { TreeReads } from './tree.ts';

export type { Piece } from './pieces.ts';

/** The number of the piece that says a reply has ended: after any other. */
const END_PIECE = 999_999_999;

/** Where an AI message is: found by its id through its pointer item. */
export interface ReplyRef {
  id: string;
  roomId: string;
  seq: number;
}

/**
 * What a writer learns when it looks: keep `writing`, `stop` (its owner asked), or `gone` (the
 * message was cleared, deleted, or settled by someone else): stop, and write nothing more.
 */
export type WriterSignal = 'writing' | 'stop' | 'gone';

/** How a reply ends. */
export interface ReplyEnd extends ReplyFacts {
  status: Exclude<MessageStatus, 'streaming'>;
  content: string;
  /** Its parts, when it is more than its text (reasoning first). */
  parts?: MessagePart[];
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
  /** The message whole (a reply being written with its text so far), if it is still there. */
  read(userId: string, ref: ReplyRef): Promise<StoredMessage | undefined>;
  /** The message's own item alone (a being-written reply without its pieces): its state. */
  peek(userId: string, ref: ReplyRef): Promise<StoredMessage | undefined>;
  /** Saves what is new of a reply being written, as its next piece (written once per number). */
  append(userId: string, ref: ReplyRef, piece: Piece): Promise<void>;
  /** The pieces numbered above `after`: what a follower lacks. */
  piecesAfter(userId: string, ref: ReplyRef, after: number): Promise<Piece[]>;
  /** What the writer should do, and whether someone follows it (a read). */
  check(userId: string, ref: ReplyRef): Promise<{ signal: WriterSignal; watched: boolean }>;
  /** Renews the writer's promise of life (a write of the small item); what it should do. */
  heartbeat(userId: string, ref: ReplyRef, staleAfter: number): Promise<WriterSignal>;
  /** A follower says it follows, until `until` (epoch ms): the writer saves more often. */
  watch(userId: string, ref: ReplyRef, until: number): Promise<void>;
  /**
   * Stores the reply's end; the message as it ends up, or undefined when it is gone. With
   * `followed`, a last piece says so too, so a follower learns of it at its next look.
   */
  finish(
    userId: string,
    ref: ReplyRef,
    end: ReplyEnd,
    options?: { followed?: boolean },
  ): Promise<StoredMessage | undefined>;
  /** Asks the writer to stop; the message after the request, or undefined when it is gone. */
  requestStop(userId: string, ref: ReplyRef): Promise<StoredMessage | undefined>;
  /** Ends a reply whose writer is gone; the message as it ends up, or undefined when it is gone. */
  settle(userId: string, seen: StoredMessage, end: ReplyEnd): Promise<StoredMessage | undefined>;
  /** A reply as it is shown: with its question's id and its versions' ids. */
  placed(userId: string, message: StoredMessage): Promise<StoredMessage>;
}

/**
 * A reply lives in its message item. While it is written the item stays small (its text is in
 * its pieces); every write to it is conditional on it still being this reply (`id`) and still
 * `streaming`, so a writer never revives a cleared message or overwrites an ended one, and a stop
 * request is seen by the writer's next look.
 */
export class DynamoReplyStore extends TreeReads implements ReplyStore {
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
    const message = await this.peek(userId, ref);
    if (!message) return undefined;
    const [whole] = await this.bodies(userId, ref.roomId, [message]);
    return whole;
  }

  async peek(userId: string, ref: ReplyRef): Promise<StoredMessage | undefined> {
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

  async append(userId: string, ref: ReplyRef, piece: Piece): Promise<void> {
    // Unconditional and small: a piece written after its reply was cleared or settled is never
    // read (readers go by the message) and expires by TTL.
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: keys.user(userId),
          sk: keys.piece(ref.roomId, ref.seq, piece.n),
          ...pieceItem(piece),
        },
      }),
    );
  }

  override piecesAfter(userId: string, ref: ReplyRef, after: number): Promise<Piece[]> {
    return super.piecesAfter(userId, ref, after);
  }

  async check(userId: string, ref: ReplyRef) {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: this.#key(userId, ref),
        ProjectionExpression: 'id, #status, stop_requested, watched_until',
        ExpressionAttributeNames: { '#status': 'status' },
        ConsistentRead: true,
      }),
    );
    const item = Item as MessageItem | undefined;
    return {
      signal: signalOf(ref, item),
      watched: Number(item?.watched_until ?? 0) > Date.now(),
    };
  }

  async heartbeat(userId: string, ref: ReplyRef, staleAfter: number) {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.#key(userId, ref),
          UpdateExpression: 'SET stale_after = :stale',
          ConditionExpression:
            'id = :id AND #status = :streaming AND attribute_not_exists(stop_requested)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':stale': staleAfter,
            ':id': ref.id,
            ':streaming': 'streaming',
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'writing' as const;
    } catch (error) {
      return signalOf(ref, itemWhenConditionFailed<MessageItem>(error));
    }
  }

  async watch(userId: string, ref: ReplyRef, until: number): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.#key(userId, ref),
          UpdateExpression: 'SET watched_until = :until',
          // Never on a message that is gone (an update would make a new item) or has ended.
          ConditionExpression: 'id = :id AND #status = :streaming',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':until': until, ':id': ref.id, ':streaming': 'streaming' },
        }),
      )
      .catch(unlessConditionFailed);
  }

  async finish(userId: string, ref: ReplyRef, end: ReplyEnd, options: { followed?: boolean } = {}) {
    const message = await this.#end(userId, ref, end);
    // A follower learns of the end with the look it makes anyway (one that started too late to
    // be seen looks at the reply's item within a second).
    if (message && options.followed) {
      await this.append(userId, ref, {
        n: END_PIECE,
        text: '',
        reasoning: '',
        at: Date.now(),
        staleAfter: 0,
        end: true,
      }).catch(() => undefined);
    }
    return message;
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
    return this.finish(userId, { id: seen.id, roomId: seen.roomId, seq: seen.seq }, end, {
      followed: true,
    });
  }

  async placed(userId: string, message: StoredMessage): Promise<StoredMessage> {
    const room = await this.room(userId, message.roomId);
    if (!room) return message;
    const [placed] = await this.placeAll(userId, message.roomId, [message], room);
    return placed ?? message;
  }

  /**
   * Writes a reply's end if it is still this reply and still streaming: whole in its item, or,
   * when it is longer than an item holds, in `TEXT#` items first (written before the end, so no
   * reader sees it ended and missing its text).
   */
  async #end(userId: string, ref: ReplyRef, end: ReplyEnd) {
    const parts = storedParts(end.parts);
    const fits = fitsItem(end.content, parts);
    if (!fits) {
      const pk = keys.user(userId);
      const chunks = overflowChunks(end.content, end.parts);
      for (let i = 0; i < chunks.length; i += 25) {
        await putItems(
          chunks.slice(i, i + 25).map((chunk, j) => ({
            pk,
            sk: keys.overflow(ref.roomId, ref.seq, i + j),
            chunk,
          })),
          this.batches,
        );
      }
    }
    const values: Record<string, unknown> = {
      ':content': fits ? end.content : '',
      ':status': end.status,
      ':model': end.aiModel,
      ':now': new Date().toISOString(),
      ':id': ref.id,
      ':streaming': 'streaming',
    };
    const names: Record<string, string> = { '#status': 'status', '#content': 'content' };
    const sets = [
      '#content = :content',
      '#status = :status',
      'ai_model = :model',
      'updated_at = :now',
    ];
    const set = (attribute: string, value: unknown) => {
      if (value === undefined) return;
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      sets.push(`#${attribute} = :${attribute}`);
    };
    set('usage', end.usage && usageItem(end.usage));
    set('partial', end.partial || undefined);
    set('tokens', end.tokens?.count);
    set('tokens_encoding', end.tokens?.encoding);
    set('parts', fits ? parts : undefined);
    set('overflow', fits ? undefined : overflowChunks(end.content, end.parts).length);
    set('finish_reason', end.finishReason);
    set(
      'first_token_ms',
      end.firstTokenMs === undefined ? undefined : Math.round(end.firstTokenMs),
    );
    set('duration_ms', end.durationMs === undefined ? undefined : Math.round(end.durationMs));
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.#key(userId, ref),
          UpdateExpression: `SET ${sets.join(', ')} REMOVE stale_after, stop_requested, watched_until`,
          ConditionExpression: 'id = :id AND #status = :streaming',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const [whole] = await this.bodies(userId, ref.roomId, [fromItem(Attributes as MessageItem)]);
      return whole;
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
