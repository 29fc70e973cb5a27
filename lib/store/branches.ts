import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Child, StoredMessage } from '#chat/message.ts';
import { CHANGED_MEANWHILE, TOO_MANY_VERSIONS } from '#chat/wording.ts';
import { ConflictError } from '#commons/errors.ts';
import { childItem, toItem } from './message-item.ts';
import { emptyReply, type NewMessages, question, type StartedExchange } from './new-messages.ts';
import { commonDepth, depthOf, pathLength, type Run, seqAt } from './path.ts';
import { activePath, baseOf, leafOf, previewOf, type RoomItem } from './room-item.ts';
import { keys, roomKey, TABLE } from './table.ts';
import { type Found, TreeReads } from './tree.ts';

/** The most versions one place of a conversation holds (edits, or regenerated replies). */
export const MAX_VERSIONS = 100;
/** Tries at a change to the tree that loses a race with another (then 409). */
const ATTEMPTS = 10;

/**
 * Writes that change a conversation's shape: new messages on a branch of their own (an edit, a
 * regenerate, a continuation from an earlier reply, a send after a switch), and a switch to
 * another branch. Each is one transaction, conditional on the conversation not having changed
 * since it was read (its `seq` and active leaf), so racing changes keep one consistent tree;
 * the loser reads again and tries again.
 */
export abstract class BranchWrites extends TreeReads {
  /**
   * Stores new messages under the message at `under` (0: as a conversation's first message),
   * making their branch the active one: nothing of any other branch changes, but for the place
   * where the old path left the new one remembering the leaf it led to.
   */
  protected async branch(
    userId: string,
    roomId: string,
    under: number,
    start: NewMessages,
    seen?: RoomItem,
  ): Promise<StartedExchange> {
    let room = seen;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await jitter(attempt);
      room = attempt === 0 && room ? room : await this.room(userId, roomId);
      if (!room) throw new ConflictError(CHANGED_MEANWHILE);
      const first = under <= baseOf(room);
      const parent = first ? null : await this.messageAt(userId, roomId, under, baseOf(room));
      if (!first && !parent) throw new ConflictError(CHANGED_MEANWHILE);
      const written = await this.#tryBranch(userId, roomId, room, parent ?? null, start);
      if (written) return written;
    }
    throw new ConflictError(CHANGED_MEANWHILE);
  }

  async #tryBranch(
    userId: string,
    roomId: string,
    room: RoomItem,
    parent: StoredMessage | null,
    start: NewMessages,
  ): Promise<StartedExchange | undefined> {
    const base = baseOf(room);
    const seq = Number(room.seq ?? 0);
    const first = seq + 1;
    const above = parent ? await this.pathTo(userId, roomId, parent, room) : [];
    const siblings = parent
      ? await this.childrenOf(userId, roomId, parent, room)
      : await this.rootsOf(userId, roomId, room);
    if (siblings.length >= MAX_VERSIONS) throw new ConflictError(TOO_MANY_VERSIONS);
    const now = Date.now();
    const messages = this.#newMessages(roomId, first, parent?.seq ?? 0, above, start);
    const head = messages[0] as StoredMessage;
    const children: Child[] = [...siblings, { seq: first, id: head.id, at: now }];
    const left = leftBehind(activePath(room), above, leafOf(room));
    // Where the old path leaves the new one is the new place itself, or a message above it.
    const place = left && left.at === (parent?.seq ?? 0) ? children : undefined;
    if (place && left) remember(place, left);
    const elsewhere =
      left && !place ? await this.#rememberedAt(userId, roomId, left, room) : undefined;
    const path = [...above, [first, first + messages.length - 1] as const];
    const reply = messages.at(-1) as StoredMessage;
    const pk = keys.user(userId);
    const transact = [
      this.#roomUpdate(pk, roomId, room, {
        path,
        roots: parent ? (elsewhere?.at === 0 ? elsewhere.children : undefined) : children,
        start,
      }),
      ...(parent ? [kidsUpdate(this.table, pk, roomId, parent.seq, children)] : []),
      ...(elsewhere && elsewhere.at !== 0
        ? [kidsUpdate(this.table, pk, roomId, elsewhere.at, elsewhere.children)]
        : []),
      ...messages.map((message) => ({
        Put: {
          TableName: this.table,
          Item: { pk, sk: keys.message(roomId, message.seq), ...toItem(message) },
        },
      })),
      // The reply's pointer, so it can be followed and stopped by its id alone.
      {
        Put: {
          TableName: this.table,
          Item: { pk, sk: keys.reply(reply.id), room_id: roomId, seq: reply.seq },
        },
      },
    ];
    if (!(await this.#transact(transact))) return undefined;
    const siblingIds = children.map((child) => child.id);
    const placed = messages.map((message, i) => ({
      ...message,
      parentId: i === 0 ? (parent?.id ?? null) : head.id,
      siblingIds: i === 0 ? siblingIds : [message.id],
    }));
    const ai = placed.at(-1) as StoredMessage;
    if (start.user) return { user: placed[0] as StoredMessage, ai, above, base };
    // A new version of a reply: its question is the parent, shown where it is.
    const [asked] = await this.placeAll(userId, roomId, [parent as StoredMessage], room);
    return { user: asked as StoredMessage, ai, above: trimLast(above), base };
  }

  /** The messages a branch starts with: the question (if any) and the empty reply. */
  #newMessages(
    roomId: string,
    first: number,
    parentSeq: number,
    above: Run[],
    start: NewMessages,
  ): StoredMessage[] {
    const now = new Date().toISOString();
    const messages: StoredMessage[] = [];
    if (start.user) {
      messages.push(question(roomId, first, parentSeq, start.user, now));
    }
    const seq = first + messages.length;
    messages.push(
      emptyReply(roomId, seq, messages.length > 0 ? first : parentSeq, start.reply, now),
    );
    // A run's first message keeps the path above it, so any message of the run finds its own.
    const head = messages[0] as StoredMessage;
    head.ancestry = above.map(([from, to]) => [from, to] as const);
    for (const message of messages) message.runSeq = first;
    return messages;
  }

  /** A conversation item's new path, as a transaction's update conditional on it being unchanged. */
  #roomUpdate(
    pk: string,
    roomId: string,
    room: RoomItem,
    change: { path: (readonly [number, number])[]; roots?: Child[]; start: NewMessages },
  ) {
    const [tail, leaf] = change.path.at(-1) as readonly [number, number];
    const closed = change.path.slice(0, -1).flat();
    const then = new Date().toISOString();
    const sets = [
      '#seq = :last',
      '#tail = :tail',
      '#leaf = :leaf',
      'runs = :runs',
      'message_count = :count',
      'updated_at = :now',
    ];
    const values: Record<string, unknown> = {
      ':last': leaf,
      ':tail': tail,
      ':leaf': leaf,
      ':runs': closed,
      ':count': pathLength(change.path),
      ':now': then,
      ':seen': Number(room.seq ?? 0),
      ':seenLeaf': leafOf(room),
    };
    if (change.roots) {
      sets.push('roots = :roots');
      values[':roots'] = change.roots.map(childItem);
    }
    const names: Record<string, string> = { '#seq': 'seq', '#tail': 'tail', '#leaf': 'leaf' };
    if (change.start.user) {
      sets.push('last_message_at = :now', 'last_message_preview = :preview');
      values[':preview'] = previewOf(change.start.user.content);
      names['#activity'] = TABLE.roomsIndex.sortKey;
      values[':activity'] = `${then}#${roomKey(roomId)}`;
      sets.push(
        `#activity = ${change.start.leadsRooms ? 'if_not_exists(#activity, :activity)' : ':activity'}`,
      );
      if (change.start.title) {
        sets.push('auto_title = if_not_exists(auto_title, :title)');
        values[':title'] = change.start.title;
      }
    }
    return {
      Update: {
        TableName: this.table,
        Key: { pk, sk: keys.room(roomId) },
        UpdateExpression: `SET ${sets.join(', ')}`,
        // Nothing was added, cleared or switched since the conversation was read.
        ConditionExpression: '#seq = :seen AND (attribute_not_exists(#leaf) OR #leaf = :seenLeaf)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  /** The children of the message where the old path left, the child it followed remembering its leaf. */
  async #rememberedAt(userId: string, roomId: string, left: LeftBehind, room: RoomItem) {
    const children =
      left.at === 0
        ? await this.rootsOf(userId, roomId, room)
        : (await this.messageAt(userId, roomId, left.at, baseOf(room)))?.children;
    if (!children?.some((child) => child.seq === left.child)) return undefined;
    const copy = children.map((child) => ({ ...child }));
    remember(copy, left);
    return { at: left.at, children: copy };
  }

  /**
   * Makes the path through a message active: above it, the path to it; below it, the leaf last
   * followed from its place, else the most recent way down. Undefined when there is no such
   * message.
   */
  protected async switchTo(
    userId: string,
    roomId: string,
    messageId: string,
  ): Promise<Found | undefined> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await jitter(attempt);
      const found = await this.find(userId, roomId, messageId);
      if (!found) return undefined;
      const { message, room } = found;
      const current = activePath(room);
      if (depthOf(current, message.seq) !== undefined) {
        const leaf = await this.messageAt(userId, roomId, leafOf(room), baseOf(room));
        return { message: leaf ?? message, room, isActiveLeaf: true };
      }
      const siblings =
        message.parentSeq > baseOf(room)
          ? (await this.messageAt(userId, roomId, message.parentSeq, baseOf(room)))?.children
          : await this.rootsOf(userId, roomId, room);
      const remembered = siblings?.find((child) => child.seq === message.seq)?.leaf;
      const leaf = await this.descend(userId, roomId, message, room, remembered);
      const path = await this.pathTo(userId, roomId, leaf, room);
      const left = leftBehind(current, path, leafOf(room));
      const at = left && (await this.#rememberedAt(userId, roomId, left, room));
      if (at) {
        // The way now followed from there is the newest followed.
        const entered = at.children.find((child) => child.seq === seqAt(path, left.depth + 1));
        if (entered) entered.at = Date.now();
      }
      const pk = keys.user(userId);
      const transact = [
        this.#pathUpdate(pk, roomId, room, path, at?.at === 0 ? at.children : undefined),
        ...(at && at.at !== 0 ? [kidsUpdate(this.table, pk, roomId, at.at, at.children)] : []),
      ];
      if (await this.#transact(transact)) return { message: leaf, room, isActiveLeaf: true };
    }
    throw new ConflictError(CHANGED_MEANWHILE);
  }

  #pathUpdate(pk: string, roomId: string, room: RoomItem, path: Run[], roots?: Child[]) {
    const [tail, leaf] = path.at(-1) as Run;
    return {
      Update: {
        TableName: this.table,
        Key: { pk, sk: keys.room(roomId) },
        UpdateExpression: `SET #tail = :tail, #leaf = :leaf, runs = :runs, message_count = :count${roots ? ', roots = :roots' : ''}`,
        ConditionExpression: '#seq = :seen AND (attribute_not_exists(#leaf) OR #leaf = :seenLeaf)',
        ExpressionAttributeNames: { '#seq': 'seq', '#tail': 'tail', '#leaf': 'leaf' },
        ExpressionAttributeValues: {
          ':tail': tail,
          ':leaf': leaf,
          ':runs': path.slice(0, -1).flat(),
          ':count': pathLength(path),
          ':seen': Number(room.seq ?? 0),
          ':seenLeaf': leafOf(room),
          ...(roots ? { ':roots': roots.map(childItem) } : {}),
        },
      },
    };
  }

  /** Runs a transaction; false when a condition failed (another change won the race). */
  async #transact(items: unknown[]): Promise<boolean> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items as never }));
      return true;
    } catch (error) {
      if ((error as Error).name === 'TransactionCanceledException') return false;
      throw error;
    }
  }
}

/** Where an old path leaves a new one: at which message, by which child, to which leaf. */
interface LeftBehind {
  /** The last message both paths hold (0: they differ from the first message). */
  at: number;
  depth: number;
  /** The child the old path followed from there. */
  child: number;
  leaf: number;
}

function leftBehind(old: Run[], next: Run[], leaf: number): LeftBehind | undefined {
  const depth = commonDepth(old, next);
  const child = seqAt(old, depth + 1);
  if (child === undefined) return undefined;
  return { at: depth === 0 ? 0 : (seqAt(old, depth) as number), depth, child, leaf };
}

/** The child the old path followed remembers where it led. */
function remember(children: Child[], left: LeftBehind) {
  const child = children.find((candidate) => candidate.seq === left.child);
  if (child) child.leaf = left.leaf;
}

function kidsUpdate(table: string, pk: string, roomId: string, seq: number, children: Child[]) {
  return {
    Update: {
      TableName: table,
      Key: { pk, sk: keys.message(roomId, seq) },
      UpdateExpression: 'SET kids = :kids',
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeValues: { ':kids': children.map(childItem) },
    },
  };
}

/** The path above a message, from the path to it. */
function trimLast(path: Run[]): Run[] {
  const copy = path.map(([from, to]) => [from, to] as Run);
  const last = copy.at(-1) as Run;
  if (last[1] > last[0]) copy[copy.length - 1] = [last[0], last[1] - 1];
  else copy.pop();
  return copy;
}

const jitter = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * Math.min(attempt, 5)));
