import type { FollowEvent } from '#chat/follow-reply.ts';
import { INTERNAL_ERROR, REPLY_GONE } from '#chat/wording.ts';
import { logger } from '#commons/logger.ts';
import { reasoningId, type SseBody } from './sse.ts';
import { messageView } from './views.ts';

/**
 * Sends a followed reply as server-sent events: `delta`s (each with its offset as `id`), then
 * `ai_message`; `reconnect` (with the offset) when the follow had to end first; `error` when
 * the reply was deleted. Stops early when the client goes away.
 */
export async function sendFollowEvents(events: AsyncGenerator<FollowEvent>, sse: SseBody) {
  try {
    for await (const event of events) {
      if (sse.closed) break;
      if (event.type === 'delta') {
        sse.send('delta', { content: event.content }, String(event.offset));
      } else if (event.type === 'reasoning') {
        sse.send('reasoning', { content: event.content }, reasoningId(event.offset));
      } else if (event.type === 'end') {
        sse.send('ai_message', messageView(event.message));
      } else if (event.type === 'reconnect') {
        sse.send('reconnect', { offset: event.offset });
      } else {
        sse.send('error', { error: REPLY_GONE });
      }
    }
  } catch (error) {
    logger.error('following a reply failed', { error: { name: (error as Error).name } });
    sse.send('error', { error: INTERNAL_ERROR });
  } finally {
    await events.return(undefined);
    sse.end();
  }
}
