import type { TokenUsage } from '#adapters/model.ts';
import { logger } from '#commons/logger.ts';
import { recordModelCall } from '#commons/metrics.ts';
import { codePoints } from '#commons/text.ts';
import type { Piece, ReplyEnd, WriterSignal } from '#store/replies.ts';
import { afterSave, fallbackReply, isModelError, logModelFailure } from './failures.ts';
import { staleAfter } from './liveness.ts';
import type { MessagePart, StoredMessage } from './message.ts';
import { countIfLoaded } from './tokens.ts';
import { type ChatDeps, type PreparedTurn, replyRef } from './turn.ts';
import { ERROR_MODEL, REPLY_TOO_LONG, UPSTREAM_FAILED_REPLY } from './wording.ts';

/** What writing a reply works through. */
export type WriterDeps = Pick<ChatDeps, 'replies' | 'model' | 'limits' | 'settings'>;

/** A piece of a reply, with its length in code points once it is added. */
export interface Delta {
  content: string;
  offset: number;
}

export interface WrittenReply {
  /** The stored reply as it ended; undefined when it was cleared or deleted while written. */
  message: StoredMessage | undefined;
  /** What to tell the user when the model failed. */
  failure?: string;
}

export interface WriteReplyOptions {
  /** Each piece of text as the model writes it (the stream route sends them on). */
  onDelta?: (delta: Delta) => void;
  /** Each piece of the model's reasoning, with the reasoning's length so far. */
  onReasoning?: (delta: Delta) => void;
}

/** How often the writer renews its promise of life on the message item. */
const HEARTBEAT_MS = 10_000;

/**
 * The most text one reply stores in all, in UTF-8 bytes: far past any model's longest answer,
 * and what keeps a runaway upstream from writing without end. (Past what one item holds, the
 * text is kept across items.)
 */
export const MAX_REPLY_BYTES = 4_000_000;

/**
 * Asks the model for a prepared turn's reply and writes it into the reply's place as it arrives.
 *
 * Every STREAM_FLUSH_MS the writer looks at the reply's item: its owner may have asked it to
 * stop (the upstream call is aborted, no more tokens are billed, what was written is kept as
 * `stopped`), or someone may follow it. What is new since the last save is saved as a piece of
 * its own, holding that text only: every STREAM_FLUSH_MS while someone follows, every
 * STREAM_SAVE_MS otherwise (history then shows the text that far behind). Every 10 s the writer
 * renews its promise of life. A failing model leaves `error`. The reply is written to its end
 * whether or not anyone is listening, and stored whole once it ends.
 */
export async function writeReply(
  deps: WriterDeps,
  turn: PreparedTurn,
  options: WriteReplyOptions = {},
): Promise<WrittenReply> {
  const { userId } = turn;
  const ref = replyRef(turn);
  const { STREAM_FLUSH_MS: flushMs, STREAM_SAVE_MS: saveMs } = deps.settings;
  const abort = new AbortController();
  const reply = { text: '', reasoning: '' };
  const pending = { text: '', reasoning: '' };
  // Set by the looks (a closure), read after the model loop.
  const writer: { signal: WriterSignal } = { signal: 'writing' };
  let unsaved: Piece | undefined;
  let pieces = turn.ai.pieceBase ?? 0;
  let savedAt = Date.now();
  let beatAt = Date.now();
  let watched = false;
  let everWatched = false;

  const tick = async () => {
    const now = Date.now();
    const due = watched || now - savedAt >= saveMs;
    if (!unsaved && due && (pending.text || pending.reasoning)) {
      pieces += 1;
      unsaved = {
        n: pieces,
        ...pending,
        at: now,
        staleAfter: staleAfter(deps.settings, turn.deadline, 'next', now),
      };
      pending.text = '';
      pending.reasoning = '';
    }
    // A piece is written once under its number: one that failed is written again as it was.
    if (unsaved) {
      await deps.replies.append(userId, ref, unsaved);
      unsaved = undefined;
      savedAt = now;
    }
    let next: WriterSignal;
    if (now - beatAt >= HEARTBEAT_MS) {
      next = await deps.replies.heartbeat(
        userId,
        ref,
        staleAfter(deps.settings, turn.deadline, 'next', now),
      );
      beatAt = now;
    } else {
      const looked = await deps.replies.check(userId, ref);
      next = looked.signal;
      watched = looked.watched;
      everWatched ||= watched;
    }
    if (next !== 'writing' && writer.signal === 'writing') {
      writer.signal = next;
      abort.abort();
    }
  };
  let looking: Promise<void> | undefined;
  const timer = setInterval(() => {
    // One look at a time: a slow write delays the next, it never reorders them.
    looking ??= tick()
      .catch((error: Error) => {
        // The final write stores what this one could not; the reply goes on meanwhile.
        logger.warn('could not save a reply in progress', { error: { name: error.name } });
      })
      .finally(() => {
        looking = undefined;
      });
  }, flushMs);

  let bytes = 0;
  let tooLong = false;
  const text = wholeCodePoints((piece) => {
    if (tooLong) return;
    const fitted = fitBytes(piece, MAX_REPLY_BYTES - bytes);
    if (fitted !== piece) {
      tooLong = true;
      abort.abort();
    }
    bytes += Buffer.byteLength(fitted, 'utf8');
    if (!fitted) return;
    reply.text += fitted;
    pending.text += fitted;
    options.onDelta?.({ content: fitted, offset: codePoints(reply.text) });
  });
  const reasoning = wholeCodePoints((piece) => {
    if (tooLong) return;
    reply.reasoning += piece;
    pending.reasoning += piece;
    bytes += Buffer.byteLength(piece, 'utf8');
    options.onReasoning?.({ content: piece, offset: codePoints(reply.reasoning) });
  });

  let model = turn.model;
  let usage: TokenUsage | undefined;
  let finishReason: string | undefined;
  let failure: unknown;
  const called = performance.now();
  let firstTokenMs: number | undefined;
  try {
    for await (const step of deps.model.stream({
      apiKey: turn.apiKey,
      model: turn.model,
      messages: turn.prompt,
      deadlineMs: Math.max(1_000, turn.deadline - Date.now()),
      signal: abort.signal,
    })) {
      if (step.type === 'delta') {
        firstTokenMs ??= performance.now() - called;
        text.add(step.content);
      } else if (step.type === 'reasoning') {
        reasoning.add(step.content);
      } else {
        model = step.model;
        usage = step.usage;
        finishReason = step.finishReason;
      }
    }
  } catch (error) {
    // An abort of our own (a stop, the message went, too long) is not a model failure.
    if (writer.signal === 'writing' && !tooLong) {
      if (!isModelError(error)) throw error;
      logModelFailure(error);
      failure = error;
    }
  } finally {
    text.end();
    reasoning.end();
    clearInterval(timer);
    recordModelCall({
      firstTokenMs,
      totalMs: performance.now() - called,
      promptTokens: usage?.promptTokens,
      completionTokens: usage?.completionTokens,
    });
    await looking;
  }

  if (writer.signal === 'gone') return { message: await deps.replies.read(userId, ref) };
  const facts = {
    ...(finishReason ? { finishReason } : {}),
    ...(firstTokenMs === undefined ? {} : { firstTokenMs }),
    durationMs: performance.now() - called,
  };
  const ended = tooLong
    ? { status: 'error' as const, content: reply.text, aiModel: model, usage, partial: true }
    : endOf({ text: reply.text, model, usage, failure, stopped: writer.signal === 'stop' });
  const end: ReplyEnd = {
    ...ended,
    ...facts,
    ...(reply.reasoning ? { parts: partsOf(reply.reasoning, ended.content) } : {}),
    ...countIfLoaded(turn.model, reply.text),
  };
  const followed = { followed: everWatched };
  const message = await deps.replies
    .finish(userId, ref, end, followed)
    .catch(async (error: unknown) => {
      throw await afterSave(deps, turn, error);
    });
  if (usage) await countUsage(deps, userId, usage.totalTokens);
  return {
    // Its place in the tree is what it was given when it was stored empty.
    message: message && { ...message, parentId: turn.ai.parentId, siblingIds: turn.ai.siblingIds },
    ...(end.status === 'error'
      ? { failure: tooLong ? REPLY_TOO_LONG : failure ? fallbackReply(failure) : end.content }
      : {}),
  };
}

/**
 * A text stream cut on whole code points: an upstream may split a surrogate pair across chunks,
 * so the first half waits for the second (offsets and stored text count the same code points),
 * and a lone half is never stored: it becomes U+FFFD.
 */
function wholeCodePoints(emit: (piece: string) => void) {
  let carry = '';
  return {
    add(chunk: string) {
      const whole = carry + chunk;
      const last = whole.charCodeAt(whole.length - 1);
      const cut = last >= 0xd800 && last <= 0xdbff ? whole.length - 1 : whole.length;
      carry = whole.slice(cut);
      const piece = whole.slice(0, cut).toWellFormed();
      if (piece) emit(piece);
    },
    end() {
      if (carry) emit('\uFFFD');
      carry = '';
    },
  };
}

/** The longest start of `text` (whole code points) that takes at most `room` bytes. */
function fitBytes(text: string, room: number): string {
  if (Buffer.byteLength(text, 'utf8') <= room) return text;
  let used = 0;
  let end = 0;
  for (const char of text) {
    used += Buffer.byteLength(char, 'utf8');
    if (used > room) break;
    end += char.length;
  }
  return text.slice(0, end);
}

/** A reply's parts: the reasoning first, as it was written, then the text. */
function partsOf(reasoning: string, text: string): MessagePart[] {
  return [
    { type: 'reasoning', text: reasoning },
    ...(text ? [{ type: 'text' as const, text }] : []),
  ];
}

/** How a reply ends, from what the model wrote and how the writing stopped. */
function endOf(written: {
  text: string;
  model: string;
  usage: TokenUsage | undefined;
  failure: unknown;
  stopped: boolean;
}): ReplyEnd {
  const { text, model, usage, failure, stopped } = written;
  if (stopped) return { status: 'stopped', content: text, aiModel: model, usage };
  if (failure || !text) {
    // What the model wrote before failing is kept (`partial`); with nothing written, the
    // seed's apology is stored in its place, as a send always did.
    return text
      ? { status: 'error', content: text, aiModel: model, usage, partial: true }
      : {
          status: 'error',
          content: failure ? fallbackReply(failure) : UPSTREAM_FAILED_REPLY,
          aiModel: ERROR_MODEL,
        };
  }
  return { status: 'complete', content: text, aiModel: model, usage };
}

async function countUsage(deps: WriterDeps, userId: string, tokens: number) {
  await deps.limits.recordTokens(userId, tokens).catch((error: Error) => {
    logger.warn('could not record token usage', { error: { name: error.name } });
  });
}
