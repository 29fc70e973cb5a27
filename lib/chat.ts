import { allowedModels, type ModelSettings } from './config.ts';
import { isDependencyFailure } from './dependency-failure.ts';
import { BadRequestError, ConflictError, GoneError, SavedButUnavailableError } from './errors.ts';
import { fitContext } from './fit-context.ts';
import { settleIfDead } from './follow-reply.ts';
import { type KeyVault, UndecryptableKeyError } from './key-vault.ts';
import type { UsageLimits } from './limits.ts';
import { logger } from './logger.ts';
import { recordUpstreamFailure } from './metrics.ts';
import {
  type ChatModel,
  type ChatTurn,
  ModelKeyRejectedError,
  ModelUnavailableError,
} from './model.ts';
import type { AccountStore, ApiKeyRecord } from './store/accounts.ts';
import { effectiveStatus, type TokenCount } from './store/message-item.ts';
import type { Exchange, MessageStore, StoredMessage } from './store/messages.ts';
import type { ReplyRef, ReplyStore } from './store/replies.ts';
import {
  contextWindow,
  encodingFor,
  loadedCounter,
  MESSAGE_OVERHEAD_TOKENS,
  tokenCounter,
} from './token-count.ts';
import {
  AI_SENDER_ID,
  BAD_KEY_MESSAGE,
  ERROR_MODEL,
  KEY_REJECTED_REPLY,
  NO_KEY_MESSAGE,
  REPLAY_GONE,
  UPSTREAM_FAILED_REPLY,
} from './wording.ts';

/** How long past its writer's last sign of life a reply is still taken as being written. */
export const STALE_MARGIN_MS = 10_000;
const TITLE_CHARS = 60;

export interface ChatDeps {
  messages: MessageStore;
  replies: ReplyStore;
  accounts: AccountStore;
  vault: KeyVault;
  model: ChatModel;
  limits: UsageLimits;
  settings: ModelSettings;
  /** The server-wide key for users who have none, when one is configured. */
  fallbackKey: () => Promise<string | undefined>;
}

export interface SendRequest {
  userId: string;
  roomId: string;
  content: string;
  /** One of ALLOWED_MODELS; default OPENAI_MODEL. */
  model?: string;
}

/** An exchange begun and its model call prepared: what send and stream share. */
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

export type { Exchange } from './store/messages.ts';

/** The model a request asked for, if the deployment allows it: 400 otherwise. */
export function chooseModel(settings: ModelSettings, requested: string | undefined): string {
  const allowed = allowedModels(settings);
  if (requested === undefined) return settings.OPENAI_MODEL;
  if (!allowed.includes(requested)) {
    throw new BadRequestError(`model must be one of: ${allowed.join(', ')}`);
  }
  return requested;
}

/**
 * Everything before the model call: check the key and the user's limits (429 with nothing
 * stored), store the question and an empty reply in their places, and build the context that
 * fits the token budget. `deadline` (epoch ms) is when the reply must be stored by.
 */
export async function prepareTurn(
  deps: ChatDeps,
  request: SendRequest,
  deadline: number,
): Promise<PreparedTurn> {
  const { userId, roomId, content } = request;
  const model = chooseModel(deps.settings, request.model);
  const { apiKey, leadsRooms } = await admitSend(deps, userId, roomId);
  const started = await deps.messages.beginExchange(userId, roomId, {
    leadsRooms,
    user: { senderId: userId, content, ...countIfLoaded(model, content) },
    reply: newReply(deps.settings, model, deadline),
    title: titleFrom(content),
  });
  return withContext(
    deps,
    {
      userId,
      roomId,
      user: started.user,
      ai: started.ai,
      apiKey,
      model,
      deadline,
      opensConversation: started.user.seq === started.base + 1,
    },
    started.base,
  );
}

export interface RegenerateRequest {
  userId: string;
  roomId: string;
  model?: string;
}

/**
 * A new reply to a conversation's last question, in the place of its last reply: the same
 * question and the same context as the first time, a new id. 409 when the conversation does not
 * end with a finished reply (or changes meanwhile). Key, limits and accounting as for a send.
 */
export async function prepareRegeneration(
  deps: ChatDeps,
  request: RegenerateRequest,
  deadline: number,
): Promise<PreparedTurn> {
  const { userId, roomId } = request;
  const model = chooseModel(deps.settings, request.model);
  const last = await deps.messages.lastExchange(userId, roomId);
  if (!last) throw new ConflictError(NOTHING_TO_REGENERATE);
  if (effectiveStatus(last.ai) === 'streaming') throw new ConflictError(STILL_WRITING);
  // A reply whose writer died reads as `error`: settle it so, and the swap below can take it.
  last.ai = await settleIfDead(deps.replies, userId, last.ai);
  const { apiKey } = await admitSend(deps, userId, roomId);
  const ai = await deps.messages.replaceReply(
    userId,
    last.ai,
    newReply(deps.settings, model, deadline),
  );
  if (!ai) throw new ConflictError(CHANGED_MEANWHILE);
  return withContext(
    deps,
    {
      userId,
      roomId,
      user: last.user,
      ai,
      apiKey,
      model,
      deadline,
      opensConversation: last.user.seq === last.base + 1,
    },
    last.base,
  );
}

export const NOTHING_TO_REGENERATE = 'The conversation does not end with a reply to regenerate';
export const STILL_WRITING = 'The last reply is still being written; stop it first';
const CHANGED_MEANWHILE = 'The conversation changed meanwhile; reload it and try again';

/**
 * The user's key and one counted send: one read of the account gives the key and the limits,
 * one conditional write counts the send (400 without a key, 429 over a limit, nothing stored).
 */
async function admitSend(deps: ChatDeps, userId: string, roomId: string) {
  const account = await deps.accounts.read(userId);
  const apiKey = await resolveApiKey(deps, userId, account.apiKey);
  const leadsRooms = await deps.limits.admit(userId, roomId, account);
  return { apiKey, leadsRooms };
}

function newReply(settings: ModelSettings, model: string, deadline: number) {
  return {
    senderId: AI_SENDER_ID,
    aiModel: model,
    staleAfter: staleAfter(settings, deadline, 'first'),
  };
}

/** The model call for a turn whose messages are stored: the context that fits, then the question. */
async function withContext(
  deps: ChatDeps,
  turn: Omit<PreparedTurn, 'prompt'>,
  base: number,
): Promise<PreparedTurn> {
  const { model } = turn;
  try {
    const earlier = await fitContext(
      deps.messages,
      turn.userId,
      { user: turn.user, base },
      {
        budget: contextBudget(deps.settings, model),
        maxMessages: deps.settings.CONTEXT_MAX_MESSAGES,
        counter: () => tokenCounter(model),
        encoding: encodingFor(model),
        skip: (message) => !sentAsContext(message),
      },
    );
    const prompt: ChatTurn[] = [
      { role: 'system', content: deps.settings.SYSTEM_PROMPT },
      ...earlier.map(toTurn),
      { role: 'user', content: turn.user.content },
    ];
    return { ...turn, prompt };
  } catch (error) {
    throw await afterSave(deps, { ...turn, prompt: [] }, error);
  }
}

const TITLE_PROMPT =
  'Write a title of at most six words for a conversation that begins with the exchange below. Answer with the title only, without quotes.';

/**
 * With AUTO_TITLES=model, the model names a conversation after its first reply, with the
 * user's key (its tokens counted like any other use). A failure keeps the default title (the
 * first message) and is logged without the key.
 */
export async function autoTitle(
  deps: ChatDeps,
  turn: PreparedTurn,
  reply: StoredMessage | undefined,
): Promise<void> {
  if (deps.settings.AUTO_TITLES !== 'model' || !turn.opensConversation) return;
  if (reply?.status !== 'complete') return;
  try {
    const named = await deps.model.complete({
      apiKey: turn.apiKey,
      model: turn.model,
      messages: [
        { role: 'system', content: TITLE_PROMPT },
        { role: 'user', content: turn.user.content },
        { role: 'assistant', content: reply.content },
      ],
    });
    const title = titleFrom(named.content.replace(/^["'\s]+|["'\s.]+$/g, ''));
    if (title) await deps.messages.setAutoTitle(turn.userId, turn.roomId, title);
    if (named.usage) await deps.limits.recordTokens(turn.userId, named.usage.totalTokens);
  } catch (error) {
    logger.warn('could not name the conversation', { error: { name: (error as Error).name } });
  }
}

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
  return new SavedButUnavailableError(exchangeRecord(turn), { cause: error });
}

/**
 * When a reply's writer counts as dead if it has not saved again: its patience for the model
 * (before the first piece, or between pieces) plus a save interval and a margin, and never
 * later than its deadline plus the margin.
 */
export function staleAfter(
  settings: ModelSettings,
  deadline: number,
  wait: 'first' | 'next',
  now = Date.now(),
): number {
  const patience =
    wait === 'first' ? settings.STREAM_FIRST_TOKEN_TIMEOUT_MS : settings.STREAM_IDLE_TIMEOUT_MS;
  return Math.min(now + patience + settings.STREAM_FLUSH_MS, deadline) + STALE_MARGIN_MS;
}

/**
 * What the model is shown of earlier messages: questions, and replies that said something
 * (complete, stopped, or cut short by a failure). Replies still being written, empty ones and
 * stored fallback apologies are left out.
 */
export function sentAsContext(message: StoredMessage): boolean {
  if (message.messageType === 'user') return true;
  const status = effectiveStatus(message);
  return status !== 'streaming' && message.aiModel !== ERROR_MODEL && message.content.length > 0;
}

/** A conversation's default title: its first message, cut at a word boundary near 60 characters. */
export function titleFrom(content: string): string {
  const text = content.replace(/\s+/g, ' ').trim();
  const chars = [...text];
  if (chars.length <= TITLE_CHARS) return text;
  const cut = chars.slice(0, TITLE_CHARS + 1).join('');
  const space = cut.lastIndexOf(' ');
  return `${(space > TITLE_CHARS / 2 ? cut.slice(0, space) : chars.slice(0, TITLE_CHARS).join('')).trimEnd()}…`;
}

/**
 * A text's exact token count, if this container has the model's encoder loaded already (it is
 * never loaded just for this): stored with the message, it spares later sends the encoder.
 */
export function countIfLoaded(model: string, text: string): { tokens?: TokenCount } {
  const counter = loadedCounter(model);
  return counter ? { tokens: { encoding: encodingFor(model), count: counter(text) } } : {};
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

/** Where a prepared turn's reply is. */
export const replyRef = (turn: PreparedTurn): ReplyRef => ({
  id: turn.ai.id,
  roomId: turn.roomId,
  seq: turn.ai.seq,
});

/** What an idempotency record keeps of an exchange: where it is, never its text. */
export interface ExchangeRecord extends Record<string, unknown> {
  room_id: string;
  user_seq: number;
  ai_seq: number;
}

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
  deps: Pick<ChatDeps, 'messages'>,
  userId: string,
  record: Record<string, unknown>,
): Promise<Exchange> {
  const { room_id, user_seq, ai_seq } = record as ExchangeRecord;
  const exchange = await deps.messages.exchange(userId, room_id, { user: user_seq, ai: ai_seq });
  if (!exchange) throw new GoneError(REPLAY_GONE);
  return exchange;
}

/** The default budget's ceiling: what a long conversation sends on every message. */
export const DEFAULT_CONTEXT_BUDGET = 16_000;

/**
 * CONTEXT_TOKEN_BUDGET, or a budget well below the model's window: 16,000 tokens or half the
 * window, whichever is smaller, and never more than the window leaves beside the reply and the
 * system prompt. (The whole window would bill the user's key for ~100,000 input tokens on every
 * message of a long chat.)
 */
export function contextBudget(settings: ModelSettings, model: string): number {
  if (settings.CONTEXT_TOKEN_BUDGET) return settings.CONTEXT_TOKEN_BUDGET;
  const window = contextWindow(model);
  const system = Buffer.byteLength(settings.SYSTEM_PROMPT, 'utf8') + MESSAGE_OVERHEAD_TOKENS;
  const room = window - settings.OPENAI_MAX_TOKENS - system;
  return Math.max(1, Math.min(DEFAULT_CONTEXT_BUDGET, Math.floor(window / 2), room));
}

/** The user's own key, else the server-wide fallback when one is configured. */
async function resolveApiKey(
  deps: ChatDeps,
  userId: string,
  record: ApiKeyRecord | undefined,
): Promise<string> {
  if (!record) {
    const fallback = await deps.fallbackKey();
    if (fallback) return fallback;
    throw new BadRequestError(NO_KEY_MESSAGE);
  }
  try {
    return await deps.vault.decrypt(userId, record.ciphertext);
  } catch (error) {
    if (error instanceof UndecryptableKeyError) throw new BadRequestError(BAD_KEY_MESSAGE);
    throw error;
  }
}

function toTurn(message: StoredMessage): ChatTurn {
  return { role: message.messageType === 'user' ? 'user' : 'assistant', content: message.content };
}
