import type { MessageStore, StartedExchange, StoredMessage } from './store/messages.ts';
import { MESSAGE_OVERHEAD_TOKENS, type TokenCounter } from './tokens.ts';

export interface FitOptions {
  /** Tokens the earlier messages and the new one may use together. */
  budget: number;
  /** A hard cap on how many earlier messages are sent, whatever their size. */
  maxMessages: number;
  /** The model's token counter; built only if the cheap bound does not settle the question. */
  counter: () => TokenCounter;
  /** Messages to leave out (failed replies). */
  skip: (message: StoredMessage) => boolean;
}

const FIRST_CHUNK = 16;
const MAX_CHUNK = 128;

/**
 * The longest run of most recent messages before `newest` that fits the budget with it, oldest
 * first. It reads backwards in growing chunks, so reads are in proportion to what is sent.
 *
 * A token is at least one byte, so a text's UTF-8 length bounds its token count. While the
 * bounds fit, nothing is tokenized (building the encoder costs about a second at cold start);
 * once they do not, everything taken so far is counted exactly with js-tiktoken.
 */
export async function fitContext(
  store: MessageStore,
  userId: string,
  exchange: Pick<StartedExchange, 'user' | 'base'>,
  options: FitOptions,
): Promise<StoredMessage[]> {
  const newest = exchange.user;
  let counter: TokenCounter | undefined;
  const cost = (message: StoredMessage) =>
    (counter ? counter(message.content) : Buffer.byteLength(message.content, 'utf8')) +
    MESSAGE_OVERHEAD_TOKENS;

  const taken: StoredMessage[] = [];
  let used = cost(newest);
  let before = newest.seq;
  let chunk = FIRST_CHUNK;
  for (;;) {
    // The newest messages may have been written a moment ago: read them strongly consistent.
    // Older ones were written at least a few exchanges ago, so an eventually consistent read
    // (half the price) sees them.
    const earlier = await store.recent(userId, newest.roomId, {
      after: exchange.base,
      before,
      count: chunk,
      consistent: before === newest.seq,
    });
    for (const message of [...earlier].reverse()) {
      if (options.skip(message)) continue;
      let price = cost(message);
      if (used + price > options.budget && !counter) {
        counter = options.counter();
        used = [newest, ...taken].reduce((sum, m) => sum + cost(m), 0);
        price = cost(message);
      }
      if (used + price > options.budget || taken.length >= options.maxMessages) {
        return withoutOrphanReply(taken);
      }
      taken.unshift(message);
      used += price;
    }
    if (earlier.length < chunk || !earlier[0]) return taken;
    before = earlier[0].seq;
    chunk = Math.min(chunk * 2, MAX_CHUNK);
  }
}

/** A reply whose question did not fit would open the context mid-exchange: leave it out. */
function withoutOrphanReply(messages: StoredMessage[]): StoredMessage[] {
  return messages[0]?.messageType === 'ai' ? messages.slice(1) : messages;
}
