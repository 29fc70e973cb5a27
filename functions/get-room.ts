import { NotFoundError } from '#lib/errors.ts';
import { roomIdParam } from '#lib/http/input.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { roomDetailsView } from '#lib/http/views.ts';
import type { roomAnswer } from '#lib/schemas.ts';
import { messageStore } from '#lib/wiring.ts';

const messages = messageStore();

export const handler = httpRoute(async (event, { userId }) => {
  const room = await messages.summary(userId, roomIdParam(event));
  // A conversation with nothing in it and no name of its own (cleared, or being deleted) is gone.
  if (!room || (room.messageCount === 0 && !room.titled)) {
    throw new NotFoundError('No such conversation');
  }
  return ok<typeof roomAnswer>({ room: roomDetailsView(room) });
});
