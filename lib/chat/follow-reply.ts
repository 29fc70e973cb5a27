import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError } from '#commons/errors.ts';
import { codePoints } from '#commons/text.ts';
import type { ReplyEnd, ReplyRef, ReplyStore } from '#store/replies.ts';
import { effectiveStatus } from './liveness.ts';
import type { StoredMessage } from './message.ts';
import { ERROR_MODEL, NO_SUCH_REPLY, UPSTREAM_FAILED_REPLY } from './wording.ts';

/** What a follower of a reply sees: new text, the end, or a request to come back later. */
export type FollowEvent =
  | { type: 'delta'; content: string; offset: number }
  | { type: 'end'; message: StoredMessage }
  | { type: 'gone' }
  | { type: 'reconnect'; offset: number };

export interface FollowOptions {
  /** How often to look for new text. */
  pollMs: number;
  /** Epoch ms: stop following before then (inside the function's timeout) and say so. */
  until: number;
}

/** The owner's reply with this id, or 404 (another user's id is not found either). */
export async function findReply(
  replies: ReplyStore,
  userId: string,
  messageId: string,
): Promise<{ ref: ReplyRef; message: StoredMessage }> {
  const ref = await replies.locate(userId, messageId);
  const message = ref && (await replies.read(userId, ref));
  if (!ref || !message) throw new NotFoundError(NO_SUCH_REPLY);
  return { ref, message };
}

/**
 * Follows a reply from `offset` (code points the client already has) to its end: the text it
 * lacks as `delta`s, each carrying the offset after it, then the stored message. DynamoDB is the
 * only shared state: this polls the message. A reply whose writer died is settled as `error`
 * here, so no follower waits for ever.
 */
export async function* followReply(
  replies: ReplyStore,
  userId: string,
  ref: ReplyRef,
  offset: number,
  options: FollowOptions,
): AsyncGenerator<FollowEvent> {
  let sent = offset;
  for (;;) {
    const message = await replies.read(userId, ref);
    if (!message) {
      yield { type: 'gone' };
      return;
    }
    const ended =
      message.status !== 'streaming'
        ? message
        : effectiveStatus(message) === 'error'
          ? await settleDead(replies, userId, message, 'error')
          : undefined;
    const current = ended ?? message;
    // A stored fallback apology replaced what was written: it is not a continuation.
    if (current.aiModel !== ERROR_MODEL) {
      const rest = [...current.content].slice(sent).join('');
      if (rest) {
        sent += codePoints(rest);
        yield { type: 'delta', content: rest, offset: sent };
      }
    }
    if (ended) {
      yield { type: 'end', message: await replies.placed(userId, ended) };
      return;
    }
    if (Date.now() + options.pollMs > options.until) {
      yield { type: 'reconnect', offset: sent };
      return;
    }
    await sleep(options.pollMs);
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
  let message = await replies.requestStop(userId, ref);
  if (!message) throw new NotFoundError(NO_SUCH_REPLY);
  if (message.status !== 'streaming') return { stopped: false, message };
  const patience = Date.now() + 3 * flushMs + 1_000;
  while (Date.now() < patience) {
    await sleep(Math.min(100, flushMs));
    message = await replies.read(userId, ref);
    if (!message) throw new NotFoundError(NO_SUCH_REPLY);
    if (message.status !== 'streaming') return { stopped: message.status === 'stopped', message };
  }
  const settled = await settleDead(replies, userId, message, 'stopped');
  if (settled) return { stopped: settled.status === 'stopped', message: settled };
  // It saved meanwhile: alive after all, and it will stop at its next save.
  const current = await replies.read(userId, ref);
  if (!current) throw new NotFoundError(NO_SUCH_REPLY);
  return { stopped: true, message: current };
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
  return (
    (await settleDead(replies, userId, message, 'error')) ??
    (await replies.read(userId, { id: message.id, roomId: message.roomId, seq: message.seq })) ??
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
