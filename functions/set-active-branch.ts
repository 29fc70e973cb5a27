import { activeBodySchema, type roomAnswer } from '#api/schemas.ts';
import { NO_SUCH_MESSAGE } from '#chat/wording.ts';
import { httpSettings } from '#commons/config.ts';
import { NotFoundError } from '#commons/errors.ts';
import { parseBody, roomIdParam } from '#http/input.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { roomDetailsView } from '#http/views.ts';
import { conversationStore, exchangeStore } from '#wiring/stores.ts';

const { MAX_BODY_BYTES } = httpSettings();
const exchanges = exchangeStore();
const conversations = conversationStore();

export const handler = httpRoute(async (event, { userId }) => {
  const roomId = roomIdParam(event);
  const { message_id } = parseBody(event, activeBodySchema, MAX_BODY_BYTES);
  const switched = await exchanges.activate(userId, roomId, message_id);
  const room = switched && (await conversations.summary(userId, roomId));
  if (!room) throw new NotFoundError(NO_SUCH_MESSAGE);
  return ok<typeof roomAnswer>({ room: roomDetailsView(room) });
});
