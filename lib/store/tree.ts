import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Child, StoredMessage } from '#chat/message.ts';
import { getItems } from './batches.ts';
import { seqOf } from './message-id.ts';
import { childOf, fromItem, type MessageItem } from './message-item.ts';
import { depthOf, join, type Run, seqAt } from './path.ts';
import { fromOverflow, type Piece, type PieceItem, pieceOf, withPieces } from './pieces.ts';
import { activePath, baseOf, leafOf, type RoomItem } from './room-item.ts';
import { keys } from './table.ts';
import { RoomStore } from './table-store.ts';

/** A message found in its conversation, with the conversation's item as it was read. */
export interface Found {
  message: StoredMessage;
  /** It is the conversation's active leaf. */
  isActiveLeaf: boolean;
  room: RoomItem;
}

const found = (message: StoredMessage, room: RoomItem): Found => ({
  message,
  room,
  isActiveLeaf: leafOf(room) === message.seq,
});

/** How far a walk down a branch may go before it stops (a path that long is a bug). */
const MAX_WALK = 100_000;
/** Messages read at a time when a walk follows a run down. */
const WALK_PAGE = 100;

/**
 * Reads of a conversation as a tree: a message by its id or its place, the path above it, the
 * branch below it, and what its siblings are. Every key is inside the user's own partition.
 */
export abstract class TreeReads extends RoomStore {
  /** The message at `seq`, unless it is cleared (at or below the base) or missing. */
  protected async messageAt(
    userId: string,
    roomId: string,
    seq: number,
    base: number,
  ): Promise<StoredMessage | undefined> {
    if (seq <= base) return undefined;
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.user(userId), sk: keys.message(roomId, seq) },
        ConsistentRead: true,
      }),
    );
    return Item ? fromItem(Item as MessageItem) : undefined;
  }

  /**
   * The message with this id in this conversation, if it is there and not cleared. An id carries
   * its sequence number, so this is one read; ids made before that (plain ULIDs) are found through
   * a reply's pointer, or, for a question, by reading the conversation (once, for old data only).
   */
  async find(userId: string, roomId: string, messageId: string): Promise<Found | undefined> {
    const room = await this.room(userId, roomId);
    if (!room) return undefined;
    const base = baseOf(room);
    const seq = seqOf(messageId);
    const direct = seq === undefined ? undefined : await this.messageAt(userId, roomId, seq, base);
    if (direct?.id === messageId) return found(direct, room);
    const pointer = await this.#pointer(userId, messageId);
    if (pointer && pointer.roomId === roomId) {
      const message = await this.messageAt(userId, roomId, pointer.seq, base);
      if (message?.id === messageId) return found(message, room);
    }
    const legacy = await this.#search(userId, roomId, messageId, base);
    return legacy && found(legacy, room);
  }

  async #pointer(userId: string, messageId: string) {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.user(userId), sk: keys.reply(messageId) },
        ConsistentRead: true,
      }),
    );
    return Item ? { roomId: Item.room_id as string, seq: Number(Item.seq) } : undefined;
  }

  /** A message written before ids carried their place: read the conversation for it. */
  async #search(userId: string, roomId: string, messageId: string, base: number) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          FilterExpression: 'id = :id',
          ExpressionAttributeValues: {
            ':pk': keys.user(userId),
            ':from': keys.message(roomId, base + 1),
            ':to': keys.message(roomId, Number.MAX_SAFE_INTEGER),
            ':id': messageId,
          },
          ExclusiveStartKey: startKey,
        }),
      );
      const [item] = page.Items ?? [];
      if (item) return fromItem(item as MessageItem);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return undefined;
  }

  /**
   * Messages read whole: a long reply's text from its `TEXT#` items, and a reply being written
   * with what its pieces add so far (a Query each, only for those).
   */
  protected async bodies(userId: string, roomId: string, messages: StoredMessage[]) {
    return Promise.all(
      messages.map(async (message) => {
        if (message.overflow) {
          const items = await this.#prefix(userId, keys.overflowPrefix(roomId, message.seq));
          const body = fromOverflow(items.map((item) => String(item.chunk)));
          return { ...message, content: body.content, parts: body.parts };
        }
        if (message.status !== 'streaming') return message;
        const pieces = await this.piecesAfter(userId, message, message.pieceBase ?? 0);
        return withPieces(message, pieces);
      }),
    );
  }

  /** A reply's pieces numbered above `after`, in order (what a follower lacks). */
  protected async piecesAfter(
    userId: string,
    message: Pick<StoredMessage, 'roomId' | 'seq'>,
    after: number,
  ): Promise<Piece[]> {
    const items = await this.#prefix(
      userId,
      keys.piecePrefix(message.roomId, message.seq),
      keys.piece(message.roomId, message.seq, after + 1),
    );
    return (items as unknown as PieceItem[]).map(pieceOf);
  }

  /** Every item whose key begins with `prefix` (from `from`, when given), in key order. */
  async #prefix(userId: string, prefix: string, from = prefix) {
    const found: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': keys.user(userId),
            ':from': from,
            ':to': `${prefix}~`,
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      found.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }

  /** The path from the conversation's first message to `message`, inclusive. */
  protected async pathTo(
    userId: string,
    roomId: string,
    message: StoredMessage,
    room: RoomItem,
  ): Promise<Run[]> {
    const base = baseOf(room);
    // Messages written before the tree are one run, from the first visible message.
    const run = message.runSeq ?? base + 1;
    const start = run === message.seq ? message : await this.messageAt(userId, roomId, run, base);
    return join(start?.ancestry ?? [], [[run, message.seq]]);
  }

  /**
   * A message's children, oldest first: the list it keeps once it has more than one (or one that
   * does not follow it directly), else the message right after it, if that one follows it.
   */
  protected async childrenOf(
    userId: string,
    roomId: string,
    message: StoredMessage,
    room: RoomItem,
  ): Promise<Child[]> {
    if (message.children) return message.children;
    const next = await this.messageAt(userId, roomId, message.seq + 1, baseOf(room));
    return next && next.parentSeq === message.seq ? [{ seq: next.seq, id: next.id, at: 0 }] : [];
  }

  /** The conversation's first messages, oldest first (more than one once the first was edited). */
  protected async rootsOf(userId: string, roomId: string, room: RoomItem): Promise<Child[]> {
    if (room.roots) return room.roots.map(childOf);
    const first = seqAt(activePath(room), 1);
    const message = first && (await this.messageAt(userId, roomId, first, baseOf(room)));
    return message ? [{ seq: message.seq, id: message.id, at: 0 }] : [];
  }

  /**
   * The leaf a branch switch lands on below `from`: the one last followed through it when it was
   * left (remembered by its parent), else, at each message with several children, the child
   * followed most recently (the newest when none was), down to a message with no children.
   */
  protected async descend(
    userId: string,
    roomId: string,
    from: StoredMessage,
    room: RoomItem,
    remembered: number | undefined,
  ): Promise<StoredMessage> {
    const base = baseOf(room);
    let at = from;
    if (remembered !== undefined && remembered !== from.seq) {
      const leaf = await this.messageAt(userId, roomId, remembered, base);
      const path = leaf && (await this.pathTo(userId, roomId, leaf, room));
      if (leaf && path && depthOf(path, from.seq) !== undefined) at = leaf;
    }
    for (let steps = 0; steps < MAX_WALK; steps++) {
      if (at.children) {
        const next = latest(at.children);
        const child = next && (await this.messageAt(userId, roomId, next.seq, base));
        if (!child) return at;
        at = child;
        continue;
      }
      // Follow the run down a page at a time while each message follows the one before it.
      const items = await this.#after(userId, roomId, at.seq, base);
      let moved = false;
      for (const next of items) {
        if (next.parentSeq !== at.seq) break;
        at = next;
        moved = true;
        if (at.children) break;
      }
      if (!moved) return at;
    }
    return at;
  }

  async #after(userId: string, roomId: string, seq: number, base: number) {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': keys.user(userId),
          ':from': keys.message(roomId, Math.max(seq, base) + 1),
          ':to': keys.message(roomId, seq + WALK_PAGE),
        },
        Limit: WALK_PAGE,
        ConsistentRead: true,
      }),
    );
    return (Items as MessageItem[]).map(fromItem);
  }

  /**
   * Messages as they are shown: each with its parent's id and the ids of the versions at its
   * place. Parents not among `messages` (nor `known`) are read in one batch.
   */
  protected async placeAll(
    userId: string,
    roomId: string,
    messages: StoredMessage[],
    room: RoomItem,
    known: StoredMessage[] = [],
  ): Promise<StoredMessage[]> {
    const base = baseOf(room);
    const bySeq = new Map([...known, ...messages].map((m) => [m.seq, m]));
    const missing = [
      ...new Set(messages.map((m) => m.parentSeq).filter((seq) => seq > base && !bySeq.has(seq))),
    ];
    if (missing.length > 0) {
      const pk = keys.user(userId);
      const items = await getItems(
        missing.map((seq) => ({ pk, sk: keys.message(roomId, seq) })),
        this.batches,
      );
      for (const item of items) {
        const parent = fromItem(item as unknown as MessageItem);
        bySeq.set(parent.seq, parent);
      }
    }
    const roots = messages.some((m) => m.parentSeq <= base) ? room.roots?.map(childOf) : [];
    return messages.map((message) => {
      if (message.parentSeq <= base) {
        return { ...message, parentId: null, siblingIds: idsOf(roots, message) };
      }
      const parent = bySeq.get(message.parentSeq);
      return {
        ...message,
        parentId: parent?.id ?? null,
        siblingIds: idsOf(parent?.children, message),
      };
    });
  }
}

/** The child followed most recently; the newest when none was. */
export function latest(children: readonly Child[]): Child | undefined {
  return children.reduce<Child | undefined>(
    (best, child) => (!best || child.at >= best.at ? child : best),
    undefined,
  );
}

/** The ids of a message's versions: its parent's children, or itself alone. */
function idsOf(children: readonly Child[] | undefined, message: StoredMessage): string[] {
  return children && children.length > 0 ? children.map((child) => child.id) : [message.id];
}
