import { NotFoundError } from '#lib/errors.ts';
import { roomIdParam } from '#lib/http/input.ts';
import { ok } from '#lib/http/respond.ts';
import { httpRoute } from '#lib/http/route.ts';
import { logger } from '#lib/logger.ts';
import type { deleteRoomAnswer } from '#lib/schemas.ts';
import { messageStore } from '#lib/wiring.ts';

const messages = messageStore();

export const handler = httpRoute(async (event, context) => {
  const { deleted, purged, existed } = await messages.clear(
    context.userId,
    roomIdParam(event),
    () => context.getRemainingTimeInMillis(),
    { remove: true },
  );
  if (!existed) throw new NotFoundError('No such conversation');
  // Gone from every route either way; what is left is hidden and goes with the next delete.
  if (!purged) logger.info('delete left items to remove later', { deleted });
  return ok<typeof deleteRoomAnswer>({ deleted_count: deleted });
});
