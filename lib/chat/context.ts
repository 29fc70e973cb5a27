import type { ChatTurn } from '#adapters/model.ts';
import type { ModelSettings } from '#commons/config.ts';
import type { RecentMessages } from '#store/history.ts';
import { pathLength, type Run } from '#store/path.ts';
import { effectiveStatus } from './liveness.ts';
import type { StoredMessage } from './message.ts';
import {
  contextWindow,
  encodingFor,
  MESSAGE_OVERHEAD_TOKENS,
  type TokenCounter,
  tokenCounter,
} from './tokens.ts';
import type { ChatDeps } from './turn.ts';
import { ERROR_MODEL } from './wording.ts';

/** A turn's model call, and every earlier message read to make it. */
export interface Prompt {
  prompt: ChatTurn[];
  /** Every message read for the context, taken or not (the question's parent among them). */
  seen: StoredMessage[];
}

/**
 * What the model is asked for a turn whose question is stored: the system prompt, the earlier
 * messages that fit the budget (from `above`, the path above the question), the question.
 */
export async function promptFor(
  deps: Pick<ChatDeps, 'history' | 'settings'>,
  turn: { userId: string; user: StoredMessage; model: string },
  above: Run[],
): Promise<Prompt> {
  const { model } = turn;
  const { settings } = deps;
  const seen: StoredMessage[] = [];
  const earlier = await fitContext(
    deps.history,
    turn.userId,
    { user: turn.user, above, seen },
    {
      budget: contextBudget(settings, model),
      maxMessages: settings.CONTEXT_MAX_MESSAGES,
      counter: () => tokenCounter(model),
      encoding: encodingFor(model),
      skip: (message) => !sentAsContext(message),
    },
  );
  return {
    prompt: [
      { role: 'system', content: settings.SYSTEM_PROMPT },
      ...earlier.map(toTurn),
      { role: 'user', content: turn.user.content },
    ],
    seen,
  };
}

export interface FitOptions {
  /** Tokens the earlier messages and the new one may use together. */
  budget: number;
  /** A hard cap on how many earlier messages are sent, whatever their size. */
  maxMessages: number;
  /** The model's token counter; loaded only if the cheap bound does not settle the question. */
  counter: () => Promise<TokenCounter>;
  /** The model's encoding: a count stored in it is used as it is. */
  encoding: string;
  /** Messages to leave out (replies still being written, failed ones). */
  skip: (message: StoredMessage) => boolean;
}

/** The exchange before this one: it may have been written a moment ago. */
const NEWEST = 2;
const MIN_CHUNK = 8;

/**
 * The longest run of most recent messages before the new one that fits the budget with it,
 * oldest first.
 *
 * Reads follow what is sent: first the newest exchange, strongly consistent (it may have been
 * written a moment ago); then, eventually consistent (half the price; those messages were written
 * at least an exchange ago), about as many more as the budget can still hold, estimated from the
 * sizes seen so far: usually two Queries in all.
 *
 * Messages carry their exact count when whoever wrote them had the encoder loaded. For the
 * rest, a token is at least one byte, so a text's UTF-8 length bounds its count. While the
 * counts and bounds fit, nothing is tokenized (loading the encoder costs about 0.2 s and
 * 100 MiB); once they do not, the uncounted messages taken so far are counted, once.
 */
export async function fitContext(
  store: RecentMessages,
  userId: string,
  exchange: { user: StoredMessage; above: Run[]; seen?: StoredMessage[] },
  options: FitOptions,
): Promise<StoredMessage[]> {
  const newest = exchange.user;
  const { budget, maxMessages } = options;
  let counter: TokenCounter | undefined;
  const cost = (message: StoredMessage) =>
    (message.tokens?.encoding === options.encoding
      ? message.tokens.count
      : counter
        ? counter(message.content)
        : Buffer.byteLength(message.content, 'utf8')) + MESSAGE_OVERHEAD_TOKENS;

  const taken: StoredMessage[] = [];
  let used = cost(newest);
  // Depths of the path above the question: the question's own is one past its end.
  const depth = pathLength(exchange.above) + 1;
  let before = depth;
  let chunk = NEWEST;
  let read = 0;
  let readCost = 0;
  for (;;) {
    const earlier = await store.recent(userId, newest.roomId, {
      path: exchange.above,
      before,
      count: chunk,
      consistent: before === depth,
    });
    exchange.seen?.push(...earlier);
    for (const message of [...earlier].reverse()) {
      if (options.skip(message)) continue;
      let price = cost(message);
      if (used + price > budget && !counter) {
        counter = await options.counter();
        used = [newest, ...taken].reduce((sum, m) => sum + cost(m), 0);
        price = cost(message);
      }
      if (used + price > budget || taken.length >= maxMessages) {
        return withoutOrphanReply(taken);
      }
      taken.unshift(message);
      used += price;
      read += 1;
      readCost += price;
    }
    before -= chunk;
    if (before <= 1) return taken;
    // As many as the rest of the budget holds at the sizes seen so far, and one more to learn
    // where it ends; never more than the cap allows.
    const perMessage = read > 0 ? readCost / read : MESSAGE_OVERHEAD_TOKENS;
    const fits = Math.ceil((budget - used) / Math.max(perMessage, MESSAGE_OVERHEAD_TOKENS)) + 1;
    chunk = Math.max(MIN_CHUNK, Math.min(fits, maxMessages - taken.length + 1));
  }
}

/** A reply whose question did not fit would open the context mid-exchange: leave it out. */
function withoutOrphanReply(messages: StoredMessage[]): StoredMessage[] {
  return messages[0]?.messageType === 'ai' ? messages.slice(1) : messages;
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

function toTurn(message: StoredMessage): ChatTurn {
  return { role: message.messageType === 'user' ? 'user' : 'assistant', content: message.content };
}
