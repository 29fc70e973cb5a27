import { parseQuery, requireSelf } from '#lib/http/input.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { clearQuerySchema, defaultRoomId } from '#lib/schemas.ts';
import { messageStore } from '#lib/services.ts';

const messages = messageStore();

export const handler = httpRoute(async (event, { userId }) => {
  requireSelf(event.pathParameters?.userId, userId, 'Unauthorized to clear this chat history');
  const { room_id } = parseQuery(event, clearQuerySchema);
  const deleted = await messages.clear(userId, room_id ?? defaultRoomId(userId));
  return ok({ message: `Cleared ${deleted} messages`, deleted_count: deleted });
});
