import type { ModelSettings } from './config.ts';
import { BadRequestError } from './errors.ts';
import { type KeyVault, UndecryptableKeyError } from './key-vault.ts';
import { logger } from './logger.ts';
import { type ChatModel, type ChatTurn, ModelKeyRejectedError } from './model.ts';
import type { ApiKeyStore } from './store/api-keys.ts';
import type { MessageStore, NewMessage, StoredMessage } from './store/messages.ts';

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
  settings: Pick<ModelSettings, 'SYSTEM_PROMPT' | 'CONTEXT_MESSAGES'>;
  /** The server-wide key for users who have none, when one is configured. */
  fallbackKey: () => Promise<string | undefined>;
}

export interface Exchange {
  user: StoredMessage;
  ai: StoredMessage;
}

/**
 * The seed's send: store the user's message, ask the model with the conversation as context,
 * store the reply (or a fallback reply when the model fails) and return both.
 */
export async function sendMessage(
  deps: ChatDeps,
  { userId, roomId, content }: { userId: string; roomId: string; content: string },
): Promise<Exchange> {
  const apiKey = await resolveApiKey(deps, userId);
  const user = await deps.messages.append(userId, roomId, {
    senderId: userId,
    content,
    messageType: 'user',
  });
  const earlier = await deps.messages.recent(
    userId,
    roomId,
    user.seq,
    deps.settings.CONTEXT_MESSAGES,
  );
  const turns: ChatTurn[] = [
    { role: 'system', content: deps.settings.SYSTEM_PROMPT },
    ...earlier.filter((message) => message.aiModel !== ERROR_MODEL).map(toTurn),
    { role: 'user', content },
  ];
  const ai = await deps.messages.append(userId, roomId, await reply(deps, apiKey, turns));
  return { user, ai };
}

async function reply(deps: ChatDeps, apiKey: string, messages: ChatTurn[]): Promise<NewMessage> {
  try {
    const completion = await deps.model.complete({ apiKey, messages });
    return {
      senderId: AI_SENDER_ID,
      content: completion.content,
      messageType: 'ai',
      aiModel: completion.model,
    };
  } catch (error) {
    const rejected = error instanceof ModelKeyRejectedError;
    logger.warn('model call failed', {
      reason: rejected ? 'key rejected' : 'upstream error',
      error: error instanceof Error ? describeCause(error) : typeof error,
    });
    return {
      senderId: AI_SENDER_ID,
      content: rejected ? KEY_REJECTED_REPLY : UPSTREAM_FAILED_REPLY,
      messageType: 'ai',
      aiModel: ERROR_MODEL,
    };
  }
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

/** Error names and the upstream status, never the upstream's text (it may echo the key). */
function describeCause(error: Error): Record<string, unknown> {
  const cause = error.cause as { name?: string; status?: number } | undefined;
  return { name: error.name, cause: cause?.name, status: cause?.status };
}
