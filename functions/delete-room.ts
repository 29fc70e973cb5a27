import type { deleteRoomAnswer } from '#api/schemas.ts';
import { NO_SUCH_CONVERSATION } from '#chat/wording.ts';
import { NotFoundError } from '#commons/errors.ts';
import { logger } from '#commons/logger.ts';
import { roomIdParam } from '#http/input.ts';
import { ok } from '#http/respond.ts';
import { httpRoute } from '#http/route.ts';
import { clearStore } from '#wiring/stores.ts';

const conversations = clearStore();

export const handler = httpRoute(async (event, context) => {
  const { deleted, purged, existed } = await conversations.clear(
    context.userId,
    roomIdParam(event),
    () => context.getRemainingTimeInMillis(),
    { remove: true },
  );
  if (!existed) throw new NotFoundError(NO_SUCH_CONVERSATION);
  // Gone from every route either way; what is left is hidden and goes with the next delete.
  if (!purged) logger.info('delete left items to remove later', { deleted });
  return ok<typeof deleteRoomAnswer>({ deleted_count: deleted });
});
