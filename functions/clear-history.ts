import { parseQuery, requireSelf } from '#lib/http/input.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { logger } from '#lib/logger.ts';
import { type clearAnswer, clearQuerySchema, defaultRoomId } from '#lib/schemas.ts';
import { messageStore } from '#lib/wiring.ts';

const messages = messageStore();

export const handler = httpRoute(async (event, context) => {
  const { userId } = context;
  requireSelf(event.pathParameters?.userId, userId, 'Unauthorized to clear this chat history');
  const { room_id } = parseQuery(event, clearQuerySchema);
  const { deleted, purged } = await messages.clear(userId, room_id ?? defaultRoomId(userId), () =>
    context.getRemainingTimeInMillis(),
  );
  // The history is empty either way; what is left is hidden and goes with the next clear.
  if (!purged) logger.info('clear left items to delete later', { deleted });
  return ok<typeof clearAnswer>({ message: `Cleared ${deleted} messages`, deleted_count: deleted });
});
