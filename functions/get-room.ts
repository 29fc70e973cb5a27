import type { roomAnswer } from '#api/schemas.ts';
import { NO_SUCH_CONVERSATION } from '#chat/wording.ts';
import { NotFoundError } from '#commons/errors.ts';
import { roomIdParam } from '#http/input.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { roomDetailsView } from '#http/views.ts';
import { conversationStore } from '#wiring/stores.ts';

const conversations = conversationStore();

export const handler = httpRoute(async (event, { userId }) => {
  const room = await conversations.summary(userId, roomIdParam(event));
  // A conversation with nothing in it and no name of its own (cleared, or being deleted) is gone.
  if (!room || (room.messageCount === 0 && !room.titled)) {
    throw new NotFoundError(NO_SUCH_CONVERSATION);
  }
  return ok<typeof roomAnswer>({ room: roomDetailsView(room) });
});
