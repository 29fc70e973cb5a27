import { defaultRoomId, type historyAnswer, historyQuerySchema } from '#api/schemas.ts';
import { parseQuery, requireSelf } from '#http/input.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { messageView } from '#http/views.ts';
import { historyStore } from '#wiring/stores.ts';

const messages = historyStore();

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
