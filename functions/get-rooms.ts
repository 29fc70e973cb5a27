import { parseQuery } from '#lib/http/input.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { roomView } from '#lib/http/views.ts';
import { type roomsAnswer, roomsQuerySchema } from '#lib/schemas.ts';
import { messageStore } from '#lib/wiring.ts';

const messages = messageStore();

export const handler = httpRoute(async (event, { userId }) => {
  const { limit, cursor } = parseQuery(event, roomsQuerySchema);
  const page = await messages.rooms(userId, limit, cursor);
  return ok<typeof roomsAnswer>({
    rooms: page.rooms.map(roomView),
    pagination: { limit, has_more: page.nextCursor !== null, next_cursor: page.nextCursor },
  });
});
