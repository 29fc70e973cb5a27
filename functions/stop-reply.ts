import type { stopAnswer } from '#api/schemas.ts';
import { stopReply } from '#chat/follow-reply.ts';
import { replySettings } from '#commons/config.ts';
import { messageIdParam } from '#http/input.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { messageView } from '#http/views.ts';
import { replyStore } from '#wiring/stores.ts';

const replies = replyStore();
const { STREAM_FLUSH_MS } = replySettings();

export const handler = httpRoute(async (event, { userId }) => {
  const { stopped, message } = await stopReply(
    replies,
    userId,
    messageIdParam(event),
    STREAM_FLUSH_MS,
  );
  return ok<typeof stopAnswer>({ stopped, message: messageView(message) });
});
