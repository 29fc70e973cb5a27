import type { KeyVault } from '#adapters/key-vault.ts';
import type { ChatModel, ChatTurn } from '#adapters/model.ts';
import type { ModelSettings, ReplySettings } from '#commons/config.ts';
import type { AccountStore } from '#store/accounts.ts';
import type { AutoTitles } from '#store/conversations.ts';
import type { ExchangeStore } from '#store/exchanges.ts';
import type { RecentMessages } from '#store/history.ts';
import type { IdempotencyStore } from '#store/idempotency.ts';
import type { ReplyRef, ReplyStore } from '#store/replies.ts';
import type { UsageLimits } from './limits.ts';
import type { MessagePart, StoredMessage } from './message.ts';
import type { ExchangeRecord } from './replay.ts';

/** What a turn reads of the settings: the model's, and how its reply is saved. */
export type TurnSettings = ModelSettings & ReplySettings;

/** Everything a turn works through, each behind an interface (tests hand in fakes). */
export interface ChatDeps {
  /** A conversation's question-and-reply pairs. */
  exchanges: ExchangeStore;
  /** The newest messages before a question: what its context is taken from. */
  history: RecentMessages;
  titles: AutoTitles;
  replies: ReplyStore;
  accounts: AccountStore;
  vault: KeyVault;
  model: ChatModel;
  limits: UsageLimits;
  /** Send's and stream's `Idempotency-Key` records: where each exchange is. */
  idempotency: IdempotencyStore<ExchangeRecord>;
  settings: TurnSettings;
  /** The server-wide key for users who have none, when one is configured. */
  fallbackKey: () => Promise<string | undefined>;
}

export interface SendRequest {
  userId: string;
  roomId: string;
  /** The question's text: its text parts joined. */
  content: string;
  /** Its parts, when it is more than one text part. */
  parts?: MessagePart[];
  /** The client's own metadata, stored with the question and returned as given. */
  metadata?: Record<string, unknown>;
  /** One of ALLOWED_MODELS; default OPENAI_MODEL. */
  model?: string;
  /** A question of this conversation the new one is a new version of. */
  editOf?: string;
  /** A reply of this conversation the new question follows. */
  parentId?: string;
}

export interface RegenerateRequest {
  userId: string;
  roomId: string;
  model?: string;
  /** The reply to make a new version of; default the active leaf. */
  messageId?: string;
}

/** An exchange begun and its model call prepared: what send, stream and regenerate share. */
export interface PreparedTurn {
  userId: string;
  roomId: string;
  user: StoredMessage;
  /** The reply, stored empty and `streaming` before the model is called. */
  ai: StoredMessage;
  apiKey: string;
  model: string;
  /** What the model is asked: the system prompt, the context that fits, the question. */
  prompt: ChatTurn[];
  /** Epoch ms by which the reply must be stored. */
  deadline: number;
  /** The question is the conversation's first (since it was last cleared). */
  opensConversation: boolean;
}

/** Where a prepared turn's reply is. */
export const replyRef = (turn: PreparedTurn): ReplyRef => ({
  id: turn.ai.id,
  roomId: turn.roomId,
  seq: turn.ai.seq,
});

/** Time kept back from a streaming function's timeout to store the reply after the model stops. */
const SAVE_MARGIN_MS = 5_000;

/**
 * Epoch ms by which a turn's reply must be stored: answered as JSON, the model's deadline
 * (OPENAI_TIMEOUT_MS, for the call and its retries, inside API Gateway's 29 s); streamed, the
 * function's time left (`streamTimeLeftMs`) less the time to store the reply.
 */
export function replyDeadline(
  settings: ModelSettings,
  streamTimeLeftMs?: number,
  now = Date.now(),
): number {
  if (streamTimeLeftMs === undefined) return now + settings.OPENAI_TIMEOUT_MS;
  return now + streamTimeLeftMs - SAVE_MARGIN_MS;
}
