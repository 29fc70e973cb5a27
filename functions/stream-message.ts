import { prepareTurn } from '#lib/chat.ts';
import { chatDeps, idempotencyStore } from '#lib/chat-deps.ts';
import { replayStream, SSE_HEADERS, streamTurn } from '#lib/chat-stream.ts';
import { httpSettings } from '#lib/config.ts';
import { parseBody, requireSelf } from '#lib/http/input.ts';
import { header } from '#lib/http/middleware.ts';
import { streamRoute } from '#lib/http/route.ts';
import { messageView } from '#lib/http/views.ts';
import { fingerprint, idempotencyKey } from '#lib/idempotency.ts';
import { defaultRoomId, sendBodySchema } from '#lib/schemas.ts';

const limits = httpSettings();
const bodySchema = sendBodySchema(limits.MAX_MESSAGE_CHARS);
const deps = chatDeps();
const idempotency = idempotencyStore();
/** Time kept back from the function's timeout to store the reply after the model stops. */
const SAVE_MARGIN_MS = 5_000;

export const handler = streamRoute(async (event, context) => {
  const body = parseBody(event, bodySchema, limits.MAX_BODY_BYTES);
  const userId = requireSelf(body.user_id, context.userId, 'Unauthorized');
  const request = {
    userId,
    roomId: body.room_id ?? defaultRoomId(userId),
    content: body.message,
    model: body.model,
  };
  const key = idempotencyKey(header(event, 'idempotency-key'));
  if (key) {
    const claim = await idempotency.claim(userId, key, fingerprint(['stream', request]));
    if (claim.kind === 'replay') {
      return {
        statusCode: 200,
        headers: { ...SSE_HEADERS, 'Idempotent-Replayed': 'true' },
        body: replayStream(claim.result),
      };
    }
  }
  const turn = await prepareTurn(deps, request).catch(async (error: unknown) => {
    if (key) await idempotency.release(userId, key).catch(() => undefined);
    throw error;
  });
  const { body: stream, done } = streamTurn(
    deps,
    turn,
    context.getRemainingTimeInMillis() - SAVE_MARGIN_MS,
  );
  context.waitFor = done.then(async (exchange) => {
    if (!key) return;
    if (exchange) {
      await idempotency.complete(userId, key, {
        user_message: messageView(exchange.user),
        ai_message: messageView(exchange.ai),
      });
    } else {
      await idempotency.release(userId, key);
    }
  });
  return { statusCode: 200, headers: SSE_HEADERS, body: stream };
});
