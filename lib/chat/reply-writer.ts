import type { TokenUsage } from '#adapters/model.ts';
import { logger } from '#commons/logger.ts';
import { recordModelCall } from '#commons/metrics.ts';
import { codePoints } from '#commons/text.ts';
import type { ReplyEnd, WriterSignal } from '#store/replies.ts';
import { afterSave, fallbackReply, isModelError, logModelFailure } from './failures.ts';
import { staleAfter } from './liveness.ts';
import type { StoredMessage } from './message.ts';
import { countIfLoaded } from './tokens.ts';
import { type ChatDeps, type PreparedTurn, replyRef } from './turn.ts';
import { ERROR_MODEL, REPLY_TOO_LONG, UPSTREAM_FAILED_REPLY } from './wording.ts';

/** What writing a reply works through. */
export type WriterDeps = Pick<ChatDeps, 'replies' | 'model' | 'limits' | 'settings'>;

/** A piece of a reply, with the reply's length in code points once it is added. */
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
}

/**
 * Asks the model for a prepared turn's reply and writes it into the reply's place as it
 * arrives: the text so far is saved every STREAM_FLUSH_MS (so any reader is at most that far
 * behind), and each save, or a read when nothing is new, tells the writer whether its owner
 * asked it to stop. A stop aborts the upstream call (no more tokens billed) and keeps what was
 * written, as `stopped`; a failing model leaves `error`. The reply is written to its end
 * whether or not anyone is listening.
 */
export async function writeReply(
  deps: WriterDeps,
  turn: PreparedTurn,
  options: WriteReplyOptions = {},
): Promise<WrittenReply> {
  const { userId } = turn;
  const ref = replyRef(turn);
  const flushMs = deps.settings.STREAM_FLUSH_MS;
  const abort = new AbortController();
  let text = '';
  let offset = 0;
  let saved = '';
  // Set by the saves (a closure), read after the model loop.
  const writer: { signal: WriterSignal } = { signal: 'writing' };

  const tick = async () => {
    const snapshot = text;
    const next =
      snapshot === saved
        ? await deps.replies.check(userId, ref)
        : await deps.replies.save(
            userId,
            ref,
            snapshot,
            staleAfter(deps.settings, turn.deadline, 'next'),
          );
    if (next === 'writing') saved = snapshot;
    else if (writer.signal === 'writing') {
      writer.signal = next;
      abort.abort();
    }
  };
  let pending: Promise<void> | undefined;
  const timer = setInterval(() => {
    // One save at a time: a slow write delays the next, it never reorders them.
    pending ??= tick()
      .catch((error: Error) => {
        // The final write retries what this one could not save; the reply goes on meanwhile.
        logger.warn('could not save a reply in progress', { error: { name: error.name } });
      })
      .finally(() => {
        pending = undefined;
      });
  }, flushMs);

  let carry = '';
  let bytes = 0;
  let tooLong = false;
  const add = (raw: string) => {
    if (tooLong) return;
    // A lone surrogate (half a pair on its own) is never stored: it becomes U+FFFD.
    let piece = raw.toWellFormed();
    const size = Buffer.byteLength(piece, 'utf8');
    if (bytes + size > MAX_REPLY_BYTES) {
      // More than the reply's item holds: keep what fits, on a whole code point, and stop.
      piece = fitBytes(piece, MAX_REPLY_BYTES - bytes);
      tooLong = true;
      abort.abort();
    }
    bytes += Buffer.byteLength(piece, 'utf8');
    if (!piece) return;
    text += piece;
    offset += codePoints(piece);
    options.onDelta?.({ content: piece, offset });
  };

  let model = turn.model;
  let usage: TokenUsage | undefined;
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
        // An upstream may split a surrogate pair across chunks: the first half waits for the
        // second, so offsets and stored text count the same whole code points.
        const whole = carry + step.content;
        const cut = endsInHighSurrogate(whole) ? whole.length - 1 : whole.length;
        carry = whole.slice(cut);
        add(whole.slice(0, cut));
      } else {
        model = step.model;
        usage = step.usage;
      }
    }
  } catch (error) {
    // An abort of our own (a stop, or the message went) is not a model failure.
    if (writer.signal === 'writing' && !tooLong) {
      if (!isModelError(error)) throw error;
      logModelFailure(error);
      failure = error;
    }
  } finally {
    // Half a pair the stream never completed is not text: it is stored as U+FFFD.
    if (carry) add('\uFFFD');
    clearInterval(timer);
    recordModelCall({
      firstTokenMs,
      totalMs: performance.now() - called,
      promptTokens: usage?.promptTokens,
      completionTokens: usage?.completionTokens,
    });
    await pending;
  }

  if (writer.signal === 'gone') return { message: await deps.replies.read(userId, ref) };
  const end = {
    ...(tooLong
      ? { status: 'error' as const, content: text, aiModel: model, usage, partial: true }
      : endOf({ text, model, usage, failure, stopped: writer.signal === 'stop' })),
    ...countIfLoaded(turn.model, text),
  };
  const message = await deps.replies.finish(userId, ref, end).catch(async (error: unknown) => {
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
 * The most text one reply stores, in UTF-8 bytes: a DynamoDB item holds 400 KB in all, and the
 * reply's other attributes need the rest.
 */
export const MAX_REPLY_BYTES = 380_000;

/** The longest start of `text` (whole code points) that takes at most `room` bytes. */
function fitBytes(text: string, room: number): string {
  let used = 0;
  let end = 0;
  for (const char of text) {
    used += Buffer.byteLength(char, 'utf8');
    if (used > room) break;
    end += char.length;
  }
  return text.slice(0, end);
}

const endsInHighSurrogate = (text: string) => {
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff;
};

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
