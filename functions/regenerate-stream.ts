import { prepareRegeneration } from '#lib/chat.ts';
import { chatDeps } from '#lib/chat-wiring.ts';
import { streamRoute } from '#lib/http/route.ts';
import { regenerateRequestParser } from '#lib/http/send-request.ts';
import { streamedTurn } from '#lib/http/turns.ts';
import { idempotencyStore } from '#lib/wiring.ts';

const parse = regenerateRequestParser();
const deps = chatDeps();
const idempotency = idempotencyStore();
/** Time kept back from the function's timeout to store the reply after the model stops. */
const SAVE_MARGIN_MS = 5_000;

export const handler = streamRoute(async (event, context) => {
  const { userId } = context;
  const { request, key } = parse(event, userId);
  const deadline = Date.now() + context.getRemainingTimeInMillis() - SAVE_MARGIN_MS;
  return streamedTurn({
    deps,
    idempotency,
    userId,
    key,
    fingerprint: ['regenerate-stream', request],
    prepare: () => prepareRegeneration(deps, request, deadline),
  });
});
