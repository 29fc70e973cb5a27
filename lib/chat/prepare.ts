import { allowedModels, type ModelSettings } from '#commons/config.ts';
import { BadRequestError, ConflictError, UndecryptableKeyError } from '#commons/errors.ts';
import type { ApiKeyRecord } from '#store/accounts.ts';
import type { ReplyStart } from '#store/exchanges.ts';
import { promptFor } from './context.ts';
import { afterSave } from './failures.ts';
import { settleIfDead } from './follow-reply.ts';
import { effectiveStatus, staleAfter } from './liveness.ts';
import { titleFrom } from './titles.ts';
import { countIfLoaded } from './tokens.ts';
import type {
  ChatDeps,
  PreparedTurn,
  RegenerateRequest,
  SendRequest,
  TurnSettings,
} from './turn.ts';
import {
  AI_SENDER_ID,
  BAD_KEY_MESSAGE,
  CHANGED_MEANWHILE,
  NO_KEY_MESSAGE,
  NOTHING_TO_REGENERATE,
  STILL_WRITING,
} from './wording.ts';

/** What preparing a turn works through. */
export type PrepareDeps = Pick<
  ChatDeps,
  'exchanges' | 'history' | 'replies' | 'accounts' | 'vault' | 'limits' | 'settings' | 'fallbackKey'
>;

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
  deps: PrepareDeps,
  request: SendRequest,
  deadline: number,
): Promise<PreparedTurn> {
  const { userId, roomId, content } = request;
  const model = chooseModel(deps.settings, request.model);
  const { apiKey, leadsRooms } = await admitSend(deps, userId, roomId);
  const started = await deps.exchanges.beginExchange(userId, roomId, {
    leadsRooms,
    user: { senderId: userId, content, ...countIfLoaded(model, content) },
    reply: newReply(deps.settings, model, deadline),
    title: titleFrom(content),
  });
  return withPrompt(
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

/**
 * A new reply to a conversation's last question, in the place of its last reply: the same
 * question and the same context as the first time, a new id. 409 when the conversation does not
 * end with a finished reply (or changes meanwhile). Key, limits and accounting as for a send.
 */
export async function prepareRegeneration(
  deps: PrepareDeps,
  request: RegenerateRequest,
  deadline: number,
): Promise<PreparedTurn> {
  const { userId, roomId } = request;
  const model = chooseModel(deps.settings, request.model);
  const last = await deps.exchanges.lastExchange(userId, roomId);
  if (!last) throw new ConflictError(NOTHING_TO_REGENERATE);
  if (effectiveStatus(last.ai) === 'streaming') throw new ConflictError(STILL_WRITING);
  // A reply whose writer died reads as `error`: settle it so, and the swap below can take it.
  last.ai = await settleIfDead(deps.replies, userId, last.ai);
  const { apiKey } = await admitSend(deps, userId, roomId);
  const ai = await deps.exchanges.replaceReply(
    userId,
    last.ai,
    newReply(deps.settings, model, deadline),
  );
  if (!ai) throw new ConflictError(CHANGED_MEANWHILE);
  return withPrompt(
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

/**
 * The user's key and one counted send: one read of the account gives the key and the limits,
 * one conditional write counts the send (400 without a key, 429 over a limit, nothing stored).
 */
async function admitSend(deps: PrepareDeps, userId: string, roomId: string) {
  const account = await deps.accounts.read(userId);
  const apiKey = await resolveApiKey(deps, userId, account.apiKey);
  const leadsRooms = await deps.limits.admit(userId, roomId, account);
  return { apiKey, leadsRooms };
}

/** The user's own key, else the server-wide fallback when one is configured. */
async function resolveApiKey(
  deps: PrepareDeps,
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

function newReply(settings: TurnSettings, model: string, deadline: number): ReplyStart {
  return {
    senderId: AI_SENDER_ID,
    aiModel: model,
    staleAfter: staleAfter(settings, deadline, 'first'),
  };
}

/** A turn whose messages are stored, with its model call: a failure here is after the save. */
async function withPrompt(
  deps: PrepareDeps,
  turn: Omit<PreparedTurn, 'prompt'>,
  base: number,
): Promise<PreparedTurn> {
  try {
    return { ...turn, prompt: await promptFor(deps, turn, base) };
  } catch (error) {
    throw await afterSave(deps, { ...turn, prompt: [] }, error);
  }
}
