import type { ModelSettings, ReplySettings } from '#commons/config.ts';
import type { MessageStatus, StoredMessage } from './message.ts';

/**
 * How a reply's writer that died is told from one still writing: every save promises the next
 * sign of life (`staleAfter`), and a reader past that promise takes the writer as dead.
 */

/** How long past its writer's last sign of life a reply is still taken as being written. */
export const STALE_MARGIN_MS = 10_000;

/**
 * When a reply's writer counts as dead if it has not saved again: its patience for the model
 * (before the first piece, or between pieces) plus a save interval and a margin, and never
 * later than its deadline plus the margin.
 */
export function staleAfter(
  settings: ModelSettings & ReplySettings,
  deadline: number,
  wait: 'first' | 'next',
  now = Date.now(),
): number {
  const patience =
    wait === 'first' ? settings.STREAM_FIRST_TOKEN_TIMEOUT_MS : settings.STREAM_IDLE_TIMEOUT_MS;
  return Math.min(now + patience + settings.STREAM_FLUSH_MS, deadline) + STALE_MARGIN_MS;
}

/**
 * The status a reader should act on: a `streaming` reply past its `staleAfter` has a dead
 * writer and is reported as `error`, so nothing waits on it for ever.
 */
export function effectiveStatus(message: StoredMessage, now = Date.now()): MessageStatus {
  if (
    message.status === 'streaming' &&
    message.staleAfter !== undefined &&
    now > message.staleAfter
  )
    return 'error';
  return message.status;
}
