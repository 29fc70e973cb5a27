import { isDependencyFailure } from '#commons/dependency-failure.ts';
import {
  ModelKeyRejectedError,
  ModelUnavailableError,
  SavedButUnavailableError,
} from '#commons/errors.ts';
import { logger } from '#commons/logger.ts';
import { recordUpstreamFailure } from '#commons/metrics.ts';
import { exchangeRecord } from './replay.ts';
import { type ChatDeps, type PreparedTurn, replyRef } from './turn.ts';
import {
  ERROR_MODEL,
  KEY_REJECTED_REPLY,
  OUTAGE_AFTER_SAVE,
  UPSTREAM_FAILED_REPLY,
} from './wording.ts';

/**
 * What to throw when something fails once the exchange is stored: an outage becomes "your
 * message was saved" (so a client reloads instead of resending, and a retry with the same
 * Idempotency-Key replays the exchange); the reply is ended as `error` if the table lets us.
 */
export async function afterSave(
  deps: Pick<ChatDeps, 'replies'>,
  turn: PreparedTurn,
  error: unknown,
): Promise<unknown> {
  if (!isDependencyFailure(error)) return error;
  await deps.replies
    .finish(turn.userId, replyRef(turn), {
      status: 'error',
      content: UPSTREAM_FAILED_REPLY,
      aiModel: ERROR_MODEL,
    })
    // The table is failing already: if this write fails too, readers settle the reply as
    // `error` once its staleAfter passes, so nothing stays `streaming` for good.
    .catch(() => undefined);
  return new SavedButUnavailableError(OUTAGE_AFTER_SAVE, exchangeRecord(turn), { cause: error });
}

/** What the user is told when the model fails. */
export function fallbackReply(error: unknown): string {
  return error instanceof ModelKeyRejectedError ? KEY_REJECTED_REPLY : UPSTREAM_FAILED_REPLY;
}

/** The model call failed (as opposed to our own storage or a bug). */
export function isModelError(error: unknown): boolean {
  return error instanceof ModelKeyRejectedError || error instanceof ModelUnavailableError;
}

/** Error names and the upstream status, never the upstream's text (it may echo the key). */
export function logModelFailure(error: unknown) {
  const cause = (error as Error).cause as { name?: string; status?: number } | undefined;
  const rejected = error instanceof ModelKeyRejectedError;
  recordUpstreamFailure(rejected ? 'model_key_rejected' : 'model_unavailable');
  logger.warn('model call failed', {
    reason: rejected ? 'key rejected' : 'upstream error',
    error: { name: (error as Error).name, cause: cause?.name, status: cause?.status },
  });
}
