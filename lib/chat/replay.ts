import { GoneError } from '#commons/errors.ts';
import type { Exchange } from './message.ts';
import type { ChatDeps, PreparedTurn } from './turn.ts';
import { REPLAY_GONE } from './wording.ts';

/** What an idempotency record keeps of an exchange: where it is, never its text. */
export interface ExchangeRecord {
  room_id: string;
  user_seq: number;
  ai_seq: number;
}

/** The record a repeat of this turn's request replays from. */
export const exchangeRecord = (turn: PreparedTurn): ExchangeRecord => ({
  room_id: turn.roomId,
  user_seq: turn.user.seq,
  ai_seq: turn.ai.seq,
});

/**
 * The exchange an idempotency record names, read afresh (so a replay never shows text that was
 * cleared): 410 once its messages were cleared or deleted.
 */
export async function replayExchange(
  deps: Pick<ChatDeps, 'exchanges'>,
  userId: string,
  record: ExchangeRecord,
): Promise<Exchange> {
  const { room_id, user_seq, ai_seq } = record;
  const exchange = await deps.exchanges.exchange(userId, room_id, { user: user_seq, ai: ai_seq });
  if (!exchange) throw new GoneError(REPLAY_GONE);
  return exchange;
}
