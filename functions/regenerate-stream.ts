import { prepareRegeneration } from '#chat/prepare.ts';
import { replyDeadline } from '#chat/turn.ts';
import { underLease } from '#http/leases.ts';
import { streamRoute } from '#http/route.ts';
import { regenerateRequestParser } from '#http/send-request.ts';
import { streamedTurn } from '#http/turns.ts';
import { chatDeps } from '#wiring/chat.ts';
import { streamLeases } from '#wiring/stores.ts';

const parse = regenerateRequestParser();
const deps = chatDeps();
const leases = streamLeases();

export const handler = streamRoute(async (event, context) => {
  const { userId } = context;
  const { request, key } = parse(event, userId);
  const deadline = replyDeadline(deps.settings, context.getRemainingTimeInMillis());
  return underLease(leases, userId, () =>
    streamedTurn(deps, {
      userId,
      key,
      fingerprint: ['regenerate-stream', request],
      prepare: () => prepareRegeneration(deps, request, deadline),
    }),
  );
});
