import { prepareRegeneration } from '#chat/prepare.ts';
import { replyDeadline } from '#chat/turn.ts';
import { httpRoute } from '#http/route.ts';
import { regenerateRequestParser } from '#http/send-request.ts';
import { bufferedTurn } from '#http/turns.ts';
import { chatDeps } from '#wiring/chat.ts';

const parse = regenerateRequestParser();
const deps = chatDeps();

export const handler = httpRoute(async (event, { userId }) => {
  const { request, key } = parse(event, userId);
  const deadline = replyDeadline(deps.settings);
  return bufferedTurn(deps, {
    userId,
    key,
    fingerprint: ['regenerate', request],
    prepare: () => prepareRegeneration(deps, request, deadline),
  });
});
