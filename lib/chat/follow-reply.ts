import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError } from '#commons/errors.ts';
import { codePoints } from '#commons/text.ts';
import type { ReplyEnd, ReplyRef, ReplyStore } from '#store/replies.ts';
import { effectiveStatus } from './liveness.ts';
import { reasoningOf, type StoredMessage } from './message.ts';
import { ERROR_MODEL, NO_SUCH_REPLY, UPSTREAM_FAILED_REPLY } from './wording.ts';

/** What a follower of a reply sees: new text or reasoning, the end, or a request to come back later. */
export type FollowEvent =
  | { type: 'delta'; content: string; offset: number }
  | { type: 'reasoning'; content: string; offset: number }
  | { type: 'end'; message: StoredMessage }
  | { type: 'gone' }
  | { type: 'reconnect'; offset: number };

export interface FollowOptions {
  /** How often to look for new text. */
  pollMs: number;
  /** How often the writer saves while followed: a look is timed just after its next save. */
  flushMs: number;
  /** Epoch ms: stop following before then (inside the function's timeout) and say so. */
  until: number;
  /** Code points of reasoning the client already has (default: all, once it has text). */
  reasoningOffset?: number;
  /** End the follow (asking the client to reconnect) after this long with nothing new. */
  idleMs?: number;
}

/** How often a follower looks at the reply's own item (its end, a stop, its writer's life). */
const LOOK_MS = 1_000;
/** How long a follower's word that it follows lasts, renewed every LOOK_MS. */
const WATCH_MS = 3_000;

/** The owner's reply with this id, or 404 (another user's id is not found either). */
export async function findReply(
  replies: ReplyStore,
  userId: string,
  messageId: string,
): Promise<{ ref: ReplyRef; message: StoredMessage }> {
  const ref = await replies.locate(userId, messageId);
  const message = ref && (await replies.peek(userId, ref));
  if (!ref || !message) throw new NotFoundError(NO_SUCH_REPLY);
  return { ref, message };
}

/**
 * Follows a reply from `offset` (code points of text the client already has) to its end: what
 * it lacks as `reasoning` and `delta`s, each carrying the length after it, then the stored
 * message. DynamoDB is the only shared state: the follower reads the reply once, then only the
 * pieces the writer saves after it (a look costs the same however long the reply), says that it
 * follows (so the writer saves as often as it looks), and looks at the reply's own item now and
 * then. A reply whose writer died is settled as `error` here, so no follower waits for ever.
 */
export async function* followReply(
  replies: ReplyStore,
  userId: string,
  ref: ReplyRef,
  offset: number,
  options: FollowOptions,
): AsyncGenerator<FollowEvent> {
  let message = await replies.read(userId, ref);
  if (!message) {
    yield { type: 'gone' };
    return;
  }
  const sent = {
    text: offset,
    reasoning: options.reasoningOffset ?? (offset > 0 ? Number.POSITIVE_INFINITY : 0),
  };
  const rest = function* (whole: StoredMessage): Generator<FollowEvent> {
    // A stored fallback apology replaced what was written: it is not a continuation.
    if (whole.aiModel === ERROR_MODEL) return;
    const reasoning = [...reasoningOf(whole)].slice(sent.reasoning).join('');
    if (reasoning) {
      sent.reasoning += codePoints(reasoning);
      yield { type: 'reasoning', content: reasoning, offset: sent.reasoning };
    }
    const text = [...whole.content].slice(sent.text).join('');
    if (text) {
      sent.text += codePoints(text);
      yield { type: 'delta', content: text, offset: sent.text };
    }
  };
  yield* rest(message);
  let last = message.pieces ?? message.pieceBase ?? 0;
  let lastSavedAt = 0;
  // A reply that shows nothing new for long holds a function for nothing: let the client come back.
  let changedAt = Date.now();
  let lookedAt = Date.now();
  let watchedAt = 0;
  for (;;) {
    if (message.status !== 'streaming') {
      yield* rest(message);
      yield { type: 'end', message: await replies.placed(userId, message) };
      return;
    }
    if (effectiveStatus(message) === 'error') {
      const whole = await replies.read(userId, ref);
      const settled = whole && (await settleDead(replies, userId, whole, 'error'));
      message = settled ?? (await replies.read(userId, ref));
      if (!message) {
        yield { type: 'gone' };
        return;
      }
      continue;
    }
    const now = Date.now();
    if (now + options.pollMs > options.until || now - changedAt > (options.idleMs ?? Infinity)) {
      yield { type: 'reconnect', offset: sent.text };
      return;
    }
    if (now - watchedAt >= LOOK_MS) {
      watchedAt = now;
      await replies.watch(userId, ref, now + WATCH_MS);
    }
    // Just after the writer's next save, when its last one is known; else a poll interval.
    const next = lastSavedAt + options.flushMs + 20 - Date.now();
    await sleep(lastSavedAt && next > 0 && next < options.pollMs * 2 ? next : options.pollMs);
    let ended = false;
    for (const piece of await replies.piecesAfter(userId, ref, last)) {
      if (piece.end) {
        ended = true;
        break;
      }
      last = piece.n;
      lastSavedAt = piece.at;
      changedAt = Date.now();
      message = { ...message, staleAfter: Math.max(message.staleAfter ?? 0, piece.staleAfter) };
      if (piece.reasoning && Number.isFinite(sent.reasoning)) {
        sent.reasoning += codePoints(piece.reasoning);
        yield { type: 'reasoning', content: piece.reasoning, offset: sent.reasoning };
      }
      if (piece.text) {
        sent.text += codePoints(piece.text);
        yield { type: 'delta', content: piece.text, offset: sent.text };
      }
    }
    if (ended || Date.now() - lookedAt >= LOOK_MS) {
      lookedAt = Date.now();
      const item = await replies.peek(userId, ref);
      if (!item) {
        yield { type: 'gone' };
        return;
      }
      const staleAfter = Math.max(item.staleAfter ?? 0, message.staleAfter ?? 0);
      message =
        item.status === 'streaming'
          ? { ...message, status: item.status, staleAfter }
          : ((await replies.read(userId, ref)) ?? item);
    }
  }
}

/**
 * Stops a reply being written: the writer sees the request at its next save, aborts the model
 * call and stores what it has as `stopped`. Waits for that (a few save intervals); a writer
 * that does not answer is dead, and the reply is settled as `stopped` here. A reply that had
 * already ended is returned as it is, with `stopped: false`.
 */
export async function stopReply(
  replies: ReplyStore,
  userId: string,
  messageId: string,
  flushMs: number,
): Promise<{ stopped: boolean; message: StoredMessage }> {
  const { stopped, message } = await stopAndWait(replies, userId, messageId, flushMs);
  return { stopped, message: await replies.placed(userId, message) };
}

async function stopAndWait(
  replies: ReplyStore,
  userId: string,
  messageId: string,
  flushMs: number,
): Promise<{ stopped: boolean; message: StoredMessage }> {
  const found = await findReply(replies, userId, messageId);
  const { ref } = found;
  // A reply whose writer died has ended already (as `error`), whatever it is stored as.
  const dead = await settleIfDead(replies, userId, found.message);
  if (dead.status !== 'streaming') return { stopped: false, message: dead };
  const asked = await replies.requestStop(userId, ref);
  if (!asked) throw new NotFoundError(NO_SUCH_REPLY);
  if (asked.status !== 'streaming')
    return { stopped: false, message: await whole(replies, userId, ref) };
  const patience = Date.now() + 3 * flushMs + 1_000;
  while (Date.now() < patience) {
    await sleep(Math.min(100, flushMs));
    const item = await replies.peek(userId, ref);
    if (!item) throw new NotFoundError(NO_SUCH_REPLY);
    if (item.status !== 'streaming') {
      return { stopped: item.status === 'stopped', message: await whole(replies, userId, ref) };
    }
  }
  const message = await whole(replies, userId, ref);
  const settled = await settleDead(replies, userId, message, 'stopped');
  if (settled) return { stopped: settled.status === 'stopped', message: settled };
  // It saved meanwhile: alive after all, and it will stop at its next save.
  const current = await replies.read(userId, ref);
  if (!current) throw new NotFoundError(NO_SUCH_REPLY);
  return { stopped: true, message: current };
}

/** A reply read whole (its text from its pieces, or from its overflow items); 404 when gone. */
async function whole(replies: ReplyStore, userId: string, ref: ReplyRef) {
  const message = await replies.read(userId, ref);
  if (!message) throw new NotFoundError(NO_SUCH_REPLY);
  return message;
}

/**
 * A reply as every operation must treat it: one stored `streaming` whose writer is dead (past
 * its `staleAfter`) is settled as `error` first, keeping what was saved. Anything else is
 * returned as it is.
 */
export async function settleIfDead(
  replies: ReplyStore,
  userId: string,
  message: StoredMessage,
): Promise<StoredMessage> {
  if (message.status !== 'streaming' || effectiveStatus(message) !== 'error') return message;
  // Settled with everything it wrote, which its pieces hold.
  const ref = { id: message.id, roomId: message.roomId, seq: message.seq };
  const whole = (await replies.read(userId, ref)) ?? message;
  return (
    (await settleDead(replies, userId, whole, 'error')) ??
    (await replies.read(userId, ref)) ??
    message
  );
}

/**
 * Ends a reply whose writer is gone with what it last saved; if the writer saved meanwhile
 * (it is alive after all), the message as it now is.
 */
async function settleDead(
  replies: ReplyStore,
  userId: string,
  seen: StoredMessage,
  status: 'error' | 'stopped',
): Promise<StoredMessage | undefined> {
  const end: ReplyEnd =
    status === 'stopped' || seen.content
      ? {
          status,
          content: seen.content,
          aiModel: seen.aiModel ?? ERROR_MODEL,
          partial: status === 'error',
        }
      : { status, content: UPSTREAM_FAILED_REPLY, aiModel: ERROR_MODEL };
  const after = await replies.settle(userId, seen, end);
  return after && after.status !== 'streaming' ? after : undefined;
}
