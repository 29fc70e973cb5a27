import { renameBodySchema, type roomAnswer } from '#api/schemas.ts';
import { NO_SUCH_CONVERSATION } from '#chat/wording.ts';
import { httpSettings } from '#commons/config.ts';
import { NotFoundError } from '#commons/errors.ts';
import { parseBody, roomIdParam } from '#http/input.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { roomDetailsView } from '#http/views.ts';
import { conversationStore } from '#wiring/stores.ts';

const { MAX_BODY_BYTES } = httpSettings();
const conversations = conversationStore();

export const handler = httpRoute(async (event, { userId }) => {
  const roomId = roomIdParam(event);
  const { title } = parseBody(event, renameBodySchema, MAX_BODY_BYTES);
  const room = await conversations.rename(userId, roomId, title);
  if (!room) throw new NotFoundError(NO_SUCH_CONVERSATION);
  return ok<typeof roomAnswer>({ room: roomDetailsView(room) });
});
