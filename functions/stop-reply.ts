import { modelSettings } from '#lib/config.ts';
import { stopReply } from '#lib/follow-reply.ts';
import { messageIdParam } from '#lib/http/input.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { messageView } from '#lib/http/views.ts';
import type { stopAnswer } from '#lib/schemas.ts';
import { replyStore } from '#lib/wiring.ts';

const replies = replyStore();
const { STREAM_FLUSH_MS } = modelSettings();

export const handler = httpRoute(async (event, { userId }) => {
  const { stopped, message } = await stopReply(
    replies,
    userId,
    messageIdParam(event),
    STREAM_FLUSH_MS,
  );
  return ok<typeof stopAnswer>({ stopped, message: messageView(message) });
});
