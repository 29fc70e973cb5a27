import { prepareTurn } from '#chat/prepare.ts';
import { replyDeadline } from '#chat/turn.ts';
import { httpRoute } from '#http/route.ts';
import { sendRequestParser } from '#http/send-request.ts';
import { bufferedTurn } from '#http/turns.ts';
import { chatDeps } from '#wiring/chat.ts';

const parse = sendRequestParser();
const deps = chatDeps();

export const handler = httpRoute(async (event, { userId }) => {
  const { request, key } = parse(event, userId);
  const deadline = replyDeadline(deps.settings);
  return bufferedTurn(deps, {
    userId,
    key,
    fingerprint: ['send', request],
    prepare: () => prepareTurn(deps, request, deadline),
  });
});
