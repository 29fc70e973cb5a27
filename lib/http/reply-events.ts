import {
  autoTitle,
  type ChatDeps,
  type ExchangeRecord,
  exchangeRecord,
  type PreparedTurn,
} from '../chat.ts';
import { AppError } from '../errors.ts';
import { logger } from '../logger.ts';
import { writeReply } from '../reply-writer.ts';
import type { Exchange } from '../store/messages.ts';
import { REPLY_GONE } from '../wording.ts';
import type { SseBody } from './sse.ts';
import { messageView } from './views.ts';

/**
 * Writes a prepared turn's reply as server-sent events: `user_message`, `ai_message_started`
 * (the reply's id, to follow it after a refresh), a `delta` per piece (its `id` is the reply's
 * length so far, in code points), then `ai_message` (the stored reply) and, when the model
 * failed, `error`. Settles with the idempotency record once the reply is stored, client or not.
 */
export async function streamReply(
  deps: ChatDeps,
  turn: PreparedTurn,
  sse: SseBody,
): Promise<ExchangeRecord> {
  sse.send('user_message', messageView(turn.user));
  sse.send('ai_message_started', messageView(turn.ai));
  try {
    const { message, failure } = await writeReply(deps, turn, {
      onDelta: ({ content, offset }) => sse.send('delta', { content }, String(offset)),
    });
    if (message) sse.send('ai_message', messageView(message));
    else sse.send('error', { error: REPLY_GONE });
    if (failure) sse.send('error', { error: failure });
    sse.end();
    await autoTitle(deps, turn, message);
    return exchangeRecord(turn);
  } catch (error) {
    const known = error instanceof AppError;
    (known ? logger.warn : logger.error).call(logger, 'streamed reply failed', {
      error: { name: (error as Error).name, message: (error as Error).message },
    });
    sse.send('error', { error: known ? error.message : 'Internal server error' });
    throw error;
  } finally {
    sse.end();
  }
}

/** A replayed stream: the stored messages as they are now, no deltas. */
export function replayReply(exchange: Exchange, sse: SseBody) {
  sse.send('user_message', messageView(exchange.user));
  sse.send('ai_message', messageView(exchange.ai));
  sse.end();
}
