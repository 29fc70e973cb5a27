import { prepareRegeneration } from '#lib/chat.ts';
import { chatDeps } from '#lib/chat-wiring.ts';
import { httpRoute } from '#lib/http/route.ts';
import { regenerateRequestParser } from '#lib/http/send-request.ts';
import { bufferedTurn } from '#lib/http/turns.ts';
import { idempotencyStore } from '#lib/wiring.ts';

const parse = regenerateRequestParser();
const deps = chatDeps();
const idempotency = idempotencyStore();

export const handler = httpRoute(async (event, { userId }) => {
  const { request, key } = parse(event, userId);
  const deadline = Date.now() + deps.settings.OPENAI_TIMEOUT_MS;
  return bufferedTurn({
    deps,
    idempotency,
    userId,
    key,
    fingerprint: ['regenerate', request],
    prepare: () => prepareRegeneration(deps, request, deadline),
  });
});
