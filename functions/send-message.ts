import { prepareTurn } from '#lib/chat.ts';
import { chatDeps } from '#lib/chat-wiring.ts';
import { httpRoute } from '#lib/http/route.ts';
import { sendRequestParser } from '#lib/http/send-request.ts';
import { bufferedTurn } from '#lib/http/turns.ts';
import { idempotencyStore } from '#lib/wiring.ts';

const parse = sendRequestParser();
const deps = chatDeps();
const idempotency = idempotencyStore();

export const handler = httpRoute(async (event, { userId }) => {
  const { request, key } = parse(event, userId);
  // One deadline for the model call and its retries, inside API Gateway's 29 s.
  const deadline = Date.now() + deps.settings.OPENAI_TIMEOUT_MS;
  return bufferedTurn({
    deps,
    idempotency,
    userId,
    key,
    fingerprint: ['send', request],
    prepare: () => prepareTurn(deps, request, deadline),
  });
});
