import { parseQuery, requireSelf } from '#lib/http/input.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { messageView } from '#lib/http/views.ts';
import { defaultRoomId, type historyAnswer, historyQuerySchema } from '#lib/schemas.ts';
import { messageStore } from '#lib/wiring.ts';

const messages = messageStore();

export const handler = httpRoute(async (event, { userId }) => {
  requireSelf(event.pathParameters?.userId, userId, 'Unauthorized to access this chat history');
  const { room_id, ...request } = parseQuery(event, historyQuerySchema);
  const history = await messages.page(userId, room_id ?? defaultRoomId(userId), request);
  return ok<typeof historyAnswer>({
    messages: history.messages.map(messageView),
    pagination: {
      page: request.page,
      limit: request.limit,
      total: history.total,
      has_more: history.hasMore,
      next_cursor: history.nextCursor,
    },
  });
});
