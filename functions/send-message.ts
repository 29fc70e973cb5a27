import { exchangeRecord, prepareTurn, replayExchange } from '#lib/chat.ts';
import { GoneError } from '#lib/errors.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { sendRequestParser } from '#lib/http/send-request.ts';
import { exchangeView } from '#lib/http/views.ts';
import { idempotent } from '#lib/idempotency.ts';
import { writeReply } from '#lib/reply-writer.ts';
import { chatDeps, idempotencyStore } from '#lib/wiring.ts';
import { REPLY_GONE } from '#lib/wording.ts';

const parse = sendRequestParser();
const deps = await chatDeps();
const idempotency = idempotencyStore();

export const handler = httpRoute(async (event, { userId }) => {
  const { request, key } = parse(event, userId);
  // One deadline for the model call and its retries, inside API Gateway's 29 s.
  const deadline = Date.now() + deps.settings.OPENAI_TIMEOUT_MS;
  const outcome = await idempotent(idempotency, userId, key, ['send', request], async () => {
    const turn = await prepareTurn(deps, request, deadline);
    const written = writeReply(deps, turn).then(({ message }) => ({
      user: turn.user,
      ai: message,
    }));
    return { value: written, finished: written.then(() => exchangeRecord(turn)) };
  });
  if (outcome.kind === 'replay') {
    const exchange = await replayExchange(deps, userId, outcome.record);
    return ok(exchangeView(exchange), 200, { 'Idempotent-Replayed': 'true' });
  }
  const { user, ai } = await outcome.value;
  await outcome.background;
  if (!ai) throw new GoneError(REPLY_GONE);
  return ok(exchangeView({ user, ai }));
});
