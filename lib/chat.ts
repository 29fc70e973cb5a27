import { allowedModels, type ModelSettings } from './config.ts';
import { fitContext } from './context.ts';
import { BadRequestError } from './errors.ts';
import { type KeyVault, UndecryptableKeyError } from './key-vault.ts';
import type { UsageLimits } from './limits.ts';
import { logger } from './logger.ts';
import {
  type ChatModel,
  type ChatTurn,
  ModelKeyRejectedError,
  ModelUnavailableError,
} from './model.ts';
import type { ApiKeyStore } from './store/api-keys.ts';
import type { MessageStore, NewMessage, StoredMessage, TokenUsage } from './store/messages.ts';
import { contextWindow, MESSAGE_OVERHEAD_TOKENS, tokenCounter } from './tokens.ts';

/** The sender id of every AI message. */
export const AI_SENDER_ID = 'ai-assistant';
/** `ai_model` of a stored fallback reply written when the model call failed. */
export const ERROR_MODEL = 'error';

export const NO_KEY_MESSAGE = 'No API key found. Please add your OpenAI API key in settings.';
export const BAD_KEY_MESSAGE = 'Invalid API key. Please update your API key in settings.';
export const UPSTREAM_FAILED_REPLY =
  "I'm sorry, I'm having trouble processing your request right now. Please try again later.";
export const KEY_REJECTED_REPLY =
  'Your API key was rejected by the AI provider, so I could not answer. Please update your API key in settings.';

export interface ChatDeps {
  messages: MessageStore;
  apiKeys: ApiKeyStore;
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

/** A user message stored and its model call prepared: what send and stream share. */
export interface PreparedTurn {
  userId: string;
  roomId: string;
  user: StoredMessage;
  apiKey: string;
  model: string;
  messages: ChatTurn[];
}

export interface Exchange {
  user: StoredMessage;
  ai: StoredMessage;
}

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
 * stored), store the user's message, and build the context that fits the token budget.
 */
export async function prepareTurn(deps: ChatDeps, request: SendRequest): Promise<PreparedTurn> {
  const { userId, roomId, content } = request;
  const model = chooseModel(deps.settings, request.model);
  const apiKey = await resolveApiKey(deps, userId);
  await deps.limits.admit(userId);
  const user = await deps.messages.append(userId, roomId, {
    senderId: userId,
    content,
    messageType: 'user',
  });
  const earlier = await fitContext(deps.messages, userId, user, {
    budget: contextBudget(deps.settings, model),
    maxMessages: deps.settings.CONTEXT_MAX_MESSAGES,
    counter: () => tokenCounter(model),
    skip: (message) => message.aiModel === ERROR_MODEL,
  });
  const messages: ChatTurn[] = [
    { role: 'system', content: deps.settings.SYSTEM_PROMPT },
    ...earlier.map(toTurn),
    { role: 'user', content },
  ];
  return { userId, roomId, user, apiKey, model, messages };
}

/** Stores the AI's reply and counts its tokens against the user's daily limit. */
export async function storeReply(
  deps: ChatDeps,
  turn: PreparedTurn,
  reply: Omit<NewMessage, 'senderId' | 'messageType'>,
): Promise<StoredMessage> {
  const ai = await deps.messages.append(turn.userId, turn.roomId, {
    ...reply,
    senderId: AI_SENDER_ID,
    messageType: 'ai',
  });
  await countUsage(deps, turn.userId, reply.usage);
  return ai;
}

/**
 * The seed's send: store the user's message, ask the model with the conversation as context,
 * store the reply (or a fallback reply when the model fails) and return both.
 */
export async function sendMessage(deps: ChatDeps, request: SendRequest): Promise<Exchange> {
  const turn = await prepareTurn(deps, request);
  try {
    const completion = await deps.model.complete(turn);
    const ai = await storeReply(deps, turn, {
      content: completion.content,
      aiModel: completion.model,
      usage: completion.usage,
    });
    return { user: turn.user, ai };
  } catch (error) {
    if (!isModelError(error)) throw error;
    logModelFailure(error);
    const ai = await storeReply(deps, turn, {
      content: fallbackReply(error),
      aiModel: ERROR_MODEL,
    });
    return { user: turn.user, ai };
  }
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
  logger.warn('model call failed', {
    reason: error instanceof ModelKeyRejectedError ? 'key rejected' : 'upstream error',
    error: { name: (error as Error).name, cause: cause?.name, status: cause?.status },
  });
}

/** CONTEXT_TOKEN_BUDGET, or the model's window less the reply's room and the system prompt. */
function contextBudget(settings: ModelSettings, model: string): number {
  if (settings.CONTEXT_TOKEN_BUDGET) return settings.CONTEXT_TOKEN_BUDGET;
  const system = Buffer.byteLength(settings.SYSTEM_PROMPT, 'utf8') + MESSAGE_OVERHEAD_TOKENS;
  return Math.max(1, contextWindow(model) - settings.OPENAI_MAX_TOKENS - system);
}

async function countUsage(deps: ChatDeps, userId: string, usage: TokenUsage | undefined) {
  if (!usage) return;
  await deps.limits.recordTokens(userId, usage.totalTokens).catch((error: Error) => {
    logger.warn('could not record token usage', { error: { name: error.name } });
  });
}

/** The user's own key, else the server-wide fallback when one is configured. */
async function resolveApiKey(deps: ChatDeps, userId: string): Promise<string> {
  const record = await deps.apiKeys.get(userId);
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
