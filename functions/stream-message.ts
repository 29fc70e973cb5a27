import { prepareTurn } from '#lib/chat.ts';
import { chatDeps, idempotencyStore } from '#lib/chat-deps.ts';
import { replayStream, SSE_HEADERS, streamTurn } from '#lib/chat-stream.ts';
import { streamRoute } from '#lib/http/route.ts';
import { sendRequestParser } from '#lib/http/send-request.ts';
import { exchangeView } from '#lib/http/views.ts';
import { fingerprint } from '#lib/idempotency.ts';
import { logger } from '#lib/logger.ts';

const parse = sendRequestParser();
const deps = chatDeps();
const idempotency = idempotencyStore();
/** Time kept back from the function's timeout to store the reply after the model stops. */
const SAVE_MARGIN_MS = 5_000;

export const handler = streamRoute(async (event, context) => {
  const { userId } = context;
  const { request, key } = parse(event, userId);
  if (key) {
    const claim = await idempotency.claim(userId, key, fingerprint(['stream', request]));
    if (claim.kind === 'replay') {
      const headers = { ...SSE_HEADERS, 'Idempotent-Replayed': 'true' };
      return { statusCode: 200, headers, body: replayStream(claim.result) };
    }
  }
  const turn = await prepareTurn(deps, request).catch(async (error: unknown) => {
    if (key) await idempotency.release(userId, key).catch(() => undefined);
    throw error;
  });
  const deadline = context.getRemainingTimeInMillis() - SAVE_MARGIN_MS;
  const { body, done } = streamTurn(deps, turn, deadline);
  const settleKey = async (exchange: Awaited<typeof done>) => {
    if (!key) return;
    if (!exchange) return idempotency.release(userId, key);
    await idempotency.complete(userId, key, exchangeView(exchange));
  };
  // The function stays alive until the reply is stored and the key settled, client or not.
  context.waitFor = done.then(settleKey).catch((error: Error) => {
    logger.warn('could not settle the idempotency key', { error: { name: error.name } });
  });
  return { statusCode: 200, headers: SSE_HEADERS, body };
});
