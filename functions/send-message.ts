import { sendMessage } from '#lib/chat.ts';
import { chatDeps, idempotencyStore } from '#lib/chat-deps.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { sendRequestParser } from '#lib/http/send-request.ts';
import { exchangeView } from '#lib/http/views.ts';
import { idempotent } from '#lib/idempotency.ts';

const parse = sendRequestParser();
const deps = chatDeps();
const idempotency = idempotencyStore();

export const handler = httpRoute(async (event, { userId }) => {
  const { request, key } = parse(event, userId);
  const { result, replayed } = await idempotent(
    idempotency,
    userId,
    key,
    ['send', request],
    async () => exchangeView(await sendMessage(deps, request)),
  );
  return ok(result, 200, replayed ? { 'Idempotent-Replayed': 'true' } : {});
});
