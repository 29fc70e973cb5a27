import { findReply, followReply } from '#chat/follow-reply.ts';
import { replySettings } from '#commons/config.ts';
import { sendFollowEvents } from '#http/follow-events.ts';
import { messageIdParam, resumeOffset } from '#http/input.ts';
import { underLease } from '#http/leases.ts';
import { streamRoute } from '#http/route.ts';
import { SSE_HEADERS, SseBody } from '#http/sse.ts';
import { replyStore, streamLeases } from '#wiring/stores.ts';

const replies = replyStore();
const { STREAM_POLL_MS, STREAM_FLUSH_MS, STREAM_FOLLOW_IDLE_MS } = replySettings();
const leases = streamLeases();
/** Time kept back from the function's timeout to say goodbye (a `reconnect` event). */
const END_MARGIN_MS = 5_000;

export const handler = streamRoute(async (event, context) => {
  const { userId } = context;
  const messageId = messageIdParam(event);
  const { offset, reasoningOffset } = resumeOffset(event);
  const { ref } = await findReply(replies, userId, messageId);
  return underLease(leases, userId, async () => {
    const sse = new SseBody();
    const events = followReply(replies, userId, ref, offset, {
      pollMs: STREAM_POLL_MS,
      flushMs: STREAM_FLUSH_MS,
      idleMs: STREAM_FOLLOW_IDLE_MS,
      ...(reasoningOffset === undefined ? {} : { reasoningOffset }),
      until: Date.now() + context.getRemainingTimeInMillis() - END_MARGIN_MS,
    });
    return {
      statusCode: 200,
      headers: SSE_HEADERS,
      body: sse.stream,
      background: sendFollowEvents(events, sse),
    };
  });
});
