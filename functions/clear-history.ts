import { type clearAnswer, clearQuerySchema, defaultRoomId } from '#api/schemas.ts';
import { logger } from '#commons/logger.ts';
import { parseQuery, requireSelf } from '#http/input.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { clearStore } from '#wiring/stores.ts';

const conversations = clearStore();

export const handler = httpRoute(async (event, context) => {
  const { userId } = context;
  requireSelf(event.pathParameters?.userId, userId, 'Unauthorized to clear this chat history');
  const { room_id } = parseQuery(event, clearQuerySchema);
  const { deleted, purged } = await conversations.clear(
    userId,
    room_id ?? defaultRoomId(userId),
    () => context.getRemainingTimeInMillis(),
  );
  // The history is empty either way; what is left is hidden and goes with the next clear.
  if (!purged) logger.info('clear left items to delete later', { deleted });
  return ok<typeof clearAnswer>({ message: `Cleared ${deleted} messages`, deleted_count: deleted });
});
