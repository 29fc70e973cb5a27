import { httpSettings } from '#lib/config.ts';
import { NotFoundError } from '#lib/errors.ts';
import { parseBody, roomIdParam } from '#lib/http/input.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { roomDetailsView } from '#lib/http/views.ts';
import { renameBodySchema, type roomAnswer } from '#lib/schemas.ts';
import { messageStore } from '#lib/wiring.ts';

const { MAX_BODY_BYTES } = httpSettings();
const messages = messageStore();

export const handler = httpRoute(async (event, { userId }) => {
  const roomId = roomIdParam(event);
  const { title } = parseBody(event, renameBodySchema, MAX_BODY_BYTES);
  const room = await messages.rename(userId, roomId, title);
  if (!room) throw new NotFoundError('No such conversation');
  return ok<typeof roomAnswer>({ room: roomDetailsView(room) });
});
