import { type roomsAnswer, roomsQuerySchema } from '#api/schemas.ts';
import { parseQuery } from '#http/input.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { roomView } from '#http/views.ts';
import { conversationStore } from '#wiring/stores.ts';

const conversations = conversationStore();

export const handler = httpRoute(async (event, { userId }) => {
  const { limit, cursor } = parseQuery(event, roomsQuerySchema);
  const page = await conversations.rooms(userId, limit, cursor);
  return ok<typeof roomsAnswer>({
    rooms: page.rooms.map(roomView),
    pagination: { limit, has_more: page.nextCursor !== null, next_cursor: page.nextCursor },
  });
});
