import { allowedModels, type ModelSettings } from '#commons/config.ts';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  UndecryptableKeyError,
} from '#commons/errors.ts';
import type { ApiKeyRecord } from '#store/accounts.ts';
import type { ReplyStart } from '#store/exchanges.ts';
import { pathLength, type Run } from '#store/path.ts';
import { promptFor } from './context.ts';
import { afterSave } from './failures.ts';
import { settleIfDead } from './follow-reply.ts';
import { effectiveStatus, staleAfter } from './liveness.ts';
import type { StoredMessage } from './message.ts';
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
  EDIT_NOT_QUESTION,
  NO_KEY_MESSAGE,
  NO_SUCH_MESSAGE,
  NOTHING_TO_REGENERATE,
  PARENT_NOT_REPLY,
  REGENERATE_NOT_REPLY,
  STILL_BEING_WRITTEN,
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
 *
 * Without `editOf` or `parentId` the question follows the active leaf. With `editOf` (a
 * question) it becomes a new version of that question, under the same parent; with `parentId`
 * (a reply) it follows that reply. Either way its branch becomes the active one and its context
 * is the path above it only.
 */
export async function prepareTurn(
  deps: PrepareDeps,
  request: SendRequest,
  deadline: number,
): Promise<PreparedTurn> {
  const { userId, roomId, content } = request;
  const model = chooseModel(deps.settings, request.model);
  const under = await placeOf(deps, request);
  const { apiKey, leadsRooms } = await admitSend(deps, userId, roomId);
  const start = {
    leadsRooms,
    user: {
      senderId: userId,
      content,
      ...(request.parts ? { parts: request.parts } : {}),
      ...(request.metadata ? { metadata: request.metadata } : {}),
      ...countIfLoaded(model, content),
    },
    reply: newReply(deps.settings, model, deadline),
    title: titleFrom(content),
  };
  const started =
    under === undefined
      ? await deps.exchanges.beginExchange(userId, roomId, start)
      : await deps.exchanges.beginBranch(userId, roomId, under, start);
  return withPrompt(deps, {
    userId,
    roomId,
    user: started.user,
    ai: started.ai,
    apiKey,
    model,
    deadline,
    opensConversation: pathLength(started.above) === 0,
    above: started.above,
  });
}

/**
 * Where a send's question goes: after the active leaf (undefined), or under the message with this
 * sequence number. 404 for an id not in the conversation, 400 for one of the wrong kind, 409 for
 * a reply still being written.
 */
async function placeOf(deps: PrepareDeps, request: SendRequest): Promise<number | undefined> {
  const { userId, roomId } = request;
  if (request.editOf) {
    const found = await deps.exchanges.find(userId, roomId, request.editOf);
    if (!found) throw new NotFoundError(NO_SUCH_MESSAGE);
    if (found.message.messageType !== 'user') throw new BadRequestError(EDIT_NOT_QUESTION);
    return found.message.parentSeq;
  }
  if (request.parentId) {
    const found = await deps.exchanges.find(userId, roomId, request.parentId);
    if (!found) throw new NotFoundError(NO_SUCH_MESSAGE);
    if (found.message.messageType !== 'ai') throw new BadRequestError(PARENT_NOT_REPLY);
    await finishedReply(deps, userId, found.message);
    // After the active leaf is where a send goes anyway.
    return found.isActiveLeaf ? undefined : found.message.seq;
  }
  return undefined;
}

/** A reply that may be branched from: not being written (409); one whose writer died is settled. */
async function finishedReply(deps: PrepareDeps, userId: string, reply: StoredMessage) {
  if (effectiveStatus(reply) === 'streaming') throw new ConflictError(STILL_BEING_WRITTEN);
  return settleIfDead(deps.replies, userId, reply);
}

/**
 * A new version of a reply (by default the active leaf), next to it under the same question: the
 * same question and the same context as the first time, a new id; the old version and all that
 * followed it stay. 409 when there is no reply to regenerate or it is still being written. Key,
 * limits and accounting as for a send.
 */
export async function prepareRegeneration(
  deps: PrepareDeps,
  request: RegenerateRequest,
  deadline: number,
): Promise<PreparedTurn> {
  const { userId, roomId } = request;
  const model = chooseModel(deps.settings, request.model);
  const found = request.messageId
    ? await deps.exchanges.find(userId, roomId, request.messageId)
    : await deps.exchanges.activeLeaf(userId, roomId);
  if (!found) {
    if (request.messageId) throw new NotFoundError(NO_SUCH_MESSAGE);
    throw new ConflictError(NOTHING_TO_REGENERATE);
  }
  if (found.message.messageType !== 'ai') {
    if (request.messageId) throw new BadRequestError(REGENERATE_NOT_REPLY);
    throw new ConflictError(NOTHING_TO_REGENERATE);
  }
  if (effectiveStatus(found.message) === 'streaming') throw new ConflictError(STILL_WRITING);
  // A reply whose writer died reads as `error`: settle it so before it gets a sibling.
  await settleIfDead(deps.replies, userId, found.message);
  const { apiKey } = await admitSend(deps, userId, roomId);
  const started = await deps.exchanges.beginBranch(userId, roomId, found.message.parentSeq, {
    reply: newReply(deps.settings, model, deadline),
  });
  return withPrompt(deps, {
    userId,
    roomId,
    user: started.user,
    ai: started.ai,
    apiKey,
    model,
    deadline,
    opensConversation: pathLength(started.above) === 0,
    above: started.above,
  });
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
  turn: Omit<PreparedTurn, 'prompt'> & { above: Run[] },
): Promise<PreparedTurn> {
  const { above, ...prepared } = turn;
  try {
    const { prompt, seen } = await promptFor(deps, prepared, above);
    // A question after the active leaf shows the leaf as its parent: it was read for the context.
    const user =
      prepared.user.parentId === undefined
        ? {
            ...prepared.user,
            parentId: seen.find((message) => message.seq === prepared.user.parentSeq)?.id ?? null,
          }
        : prepared.user;
    return { ...prepared, user, prompt };
  } catch (error) {
    throw await afterSave(deps, { ...prepared, prompt: [] }, error);
  }
}
