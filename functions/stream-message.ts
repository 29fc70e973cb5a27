import { prepareTurn, replayExchange } from '#lib/chat.ts';
import { replayReply, streamReply } from '#lib/http/reply-events.ts';
import { streamRoute } from '#lib/http/route.ts';
import { sendRequestParser } from '#lib/http/send-request.ts';
import { SSE_HEADERS, SseBody } from '#lib/http/sse.ts';
import { idempotent } from '#lib/idempotency.ts';
import { chatDeps, idempotencyStore } from '#lib/wiring.ts';

const parse = sendRequestParser();
const deps = await chatDeps();
const idempotency = idempotencyStore();
/** Time kept back from the function's timeout to store the reply after the model stops. */
const SAVE_MARGIN_MS = 5_000;

export const handler = streamRoute(async (event, context) => {
  const { userId } = context;
  const { request, key } = parse(event, userId);
  const deadline = Date.now() + context.getRemainingTimeInMillis() - SAVE_MARGIN_MS;
  const sse = new SseBody();
  const outcome = await idempotent(idempotency, userId, key, ['stream', request], async () => {
    const turn = await prepareTurn(deps, request, deadline);
    return { value: undefined, finished: streamReply(deps, turn, sse) };
  });
  if (outcome.kind === 'replay') {
    replayReply(await replayExchange(deps, userId, outcome.record), sse);
    return {
      statusCode: 200,
      headers: { ...SSE_HEADERS, 'Idempotent-Replayed': 'true' },
      body: sse.stream,
    };
  }
  // The function stays alive until the reply is stored and the key settled, client or not.
  return {
    statusCode: 200,
    headers: SSE_HEADERS,
    body: sse.stream,
    background: outcome.background,
  };
});
