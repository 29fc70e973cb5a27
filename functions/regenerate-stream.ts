import { prepareRegeneration } from '#chat/prepare.ts';
import { replyDeadline } from '#chat/turn.ts';
import { streamRoute } from '#http/route.ts';
import { regenerateRequestParser } from '#http/send-request.ts';
import { streamedTurn } from '#http/turns.ts';
import { chatDeps } from '#wiring/chat.ts';

const parse = regenerateRequestParser();
const deps = chatDeps();

export const handler = streamRoute(async (event, context) => {
  const { userId } = context;
  const { request, key } = parse(event, userId);
  const deadline = replyDeadline(deps.settings, context.getRemainingTimeInMillis());
  return streamedTurn(deps, {
    userId,
    key,
    fingerprint: ['regenerate-stream', request],
    prepare: () => prepareRegeneration(deps, request, deadline),
  });
});
