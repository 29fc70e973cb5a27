import { PassThrough } from 'node:stream';
import {
  type ChatDeps,
  type Exchange,
  fallbackReply,
  isModelError,
  logModelFailure,
  type PreparedTurn,
  storeReply,
} from './chat.ts';
import { messageView } from './http/views.ts';
import { logger } from './logger.ts';
import type { StoredMessage, TokenUsage } from './store/messages.ts';

/** One server-sent event. */
export function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};

export interface StreamedTurn {
  /** The event stream to send: `user_message`, `delta`..., then `ai_message` and/or `error`. */
  body: PassThrough;
  /**
   * Settles when the reply is stored (or could not be): the function must stay alive until
   * then, even when the client has gone away.
   */
  done: Promise<Exchange | undefined>;
}

/**
 * Streams a prepared turn's reply. The model is read to the end whatever happens to the client,
 * so the reply is stored even if the client disconnects mid-stream; a reply cut short by the
 * upstream is stored as far as it got, marked `partial`.
 */
export function streamTurn(deps: ChatDeps, turn: PreparedTurn, deadlineMs: number): StreamedTurn {
  const body = new PassThrough();
  // A client that went away destroys the stream; writes after that are dropped, not thrown.
  body.on('error', () => undefined);
  const emit = (event: string, data: unknown) => {
    if (!body.destroyed && !body.writableEnded) body.write(sse(event, data));
  };

  const run = async (): Promise<Exchange | undefined> => {
    emit('user_message', messageView(turn.user));
    let text = '';
    let model = turn.model;
    let usage: TokenUsage | undefined;
    let failure: unknown;
    try {
      for await (const step of deps.model.stream({ ...turn, deadlineMs })) {
        if (step.type === 'delta') {
          text += step.content;
          emit('delta', { content: step.content });
        } else {
          model = step.model;
          usage = step.usage;
        }
      }
    } catch (error) {
      if (!isModelError(error)) throw error;
      logModelFailure(error);
      failure = error;
    }
    let ai: StoredMessage | undefined;
    if (text) {
      ai = await storeReply(deps, turn, {
        content: text,
        aiModel: model,
        usage,
        ...(failure ? { partial: true } : {}),
      });
      emit('ai_message', messageView(ai));
    }
    if (failure || !text) {
      emit('error', {
        error: failure ? fallbackReply(failure) : 'The model returned an empty reply',
      });
    }
    return ai ? { user: turn.user, ai } : undefined;
  };

  const done = run()
    .catch((error: Error) => {
      logger.error('streamed reply failed', {
        error: { name: error.name, message: error.message },
      });
      emit('error', { error: 'Internal server error' });
      return undefined;
    })
    .finally(() => {
      if (!body.destroyed && !body.writableEnded) body.end();
    });
  return { body, done };
}

/** The events a replayed (idempotent) stream sends: the stored messages, no deltas. */
export function replayStream(result: {
  user_message?: unknown;
  ai_message?: unknown;
}): PassThrough {
  const body = new PassThrough();
  if (result.user_message) body.write(sse('user_message', result.user_message));
  if (result.ai_message) body.write(sse('ai_message', result.ai_message));
  body.end();
  return body;
}
