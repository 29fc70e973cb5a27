import type { Exchange } from '#chat/message.ts';
import type { TurnEvent } from '#chat/run-turn.ts';
import { INTERNAL_ERROR, REPLY_GONE } from '#chat/wording.ts';
import { AppError } from '#commons/errors.ts';
import { logger } from '#commons/logger.ts';
import type { SseBody } from './sse.ts';
import { reasoningId } from './sse.ts';
import { messageView } from './views.ts';

/**
 * A turn's events as our server-sent events: `user_message`, `ai_message_started` (the reply's
 * id, to follow it after a refresh), a `delta` per piece (its `id` is the reply's length so far,
 * in code points), then `ai_message` (the stored reply) and, when the model failed, `error`.
 */
export function sendTurnEvents(sse: SseBody): (event: TurnEvent) => void {
  return function sendTurnEvent(event) {
    switch (event.type) {
      case 'started':
        sse.send('user_message', messageView(event.user));
        sse.send('ai_message_started', messageView(event.ai));
        return;
      case 'delta':
        sse.send('delta', { content: event.content }, String(event.offset));
        return;
      case 'reasoning':
        sse.send('reasoning', { content: event.content }, reasoningId(event.offset));
        return;
      case 'ended':
        if (event.message) sse.send('ai_message', messageView(event.message));
        else sse.send('error', { error: REPLY_GONE });
        if (event.failure) sse.send('error', { error: event.failure });
        sse.end();
        return;
      case 'failed': {
        const { error } = event;
        const known = error instanceof AppError;
        (known ? logger.warn : logger.error).call(logger, 'streamed reply failed', {
          error: { name: (error as Error).name, message: (error as Error).message },
        });
        sse.send('error', { error: known ? error.message : INTERNAL_ERROR });
        sse.end();
      }
    }
  };
}

/** A replayed stream: the stored messages as they are now, no deltas. */
export function sendReplay(exchange: Exchange, sse: SseBody) {
  sse.send('user_message', messageView(exchange.user));
  sse.send('ai_message', messageView(exchange.ai));
  sse.end();
}
