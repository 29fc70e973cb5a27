import { describe, expect, it } from 'vitest';
import { fitContext } from '../../lib/context.ts';
import type { MessageStore, RecentRequest, StoredMessage } from '../../lib/store/messages.ts';
import { MESSAGE_OVERHEAD_TOKENS } from '../../lib/tokens.ts';

/** A conversation in memory; counts the messages each read returns. */
function conversation(contents: string[]) {
  const messages: StoredMessage[] = contents.map((content, i) => ({
    id: `m${i + 1}`,
    roomId: 'r',
    seq: i + 1,
    senderId: i % 2 === 0 ? 'u' : 'ai-assistant',
    messageType: i % 2 === 0 ? 'user' : 'ai',
    content,
    status: 'complete',
    createdAt: new Date(0).toISOString(),
    updatedAt: new Date(0).toISOString(),
  }));
  const reads: number[] = [];
  const store = {
    async recent(_user: string, _room: string, { after, before, count }: RecentRequest) {
      const found = messages.filter((m) => m.seq > after && m.seq < before).slice(-count);
      reads.push(found.length);
      return found;
    },
  } as unknown as MessageStore;
  return { messages, store, reads };
}

/** One token per word, so the arithmetic is visible. */
const words = () => (text: string) => text.split(' ').length;
const cost = (text: string) => words()(text) + MESSAGE_OVERHEAD_TOKENS;

describe('fitting the context to the token budget', () => {
  it('takes everything when it all fits, without building the tokenizer', async () => {
    const { messages, store } = conversation(['hi', 'hello', 'new']);
    let built = false;

    const fitted = await fitContext(
      store,
      'u',
      { user: messages[2] as StoredMessage, base: 0 },
      {
        budget: 1_000,
        maxMessages: 100,
        counter: async () => {
          built = true;
          return words();
        },
        skip: () => false,
      },
    );

    expect(fitted.map((m) => m.content)).toEqual(['hi', 'hello']);
    expect(built).toBe(false);
  });

  it('keeps the newest run that fits exactly, and does not open with a reply', async () => {
    const texts = [
      'q one two',
      'a one two three',
      'q three',
      'a four five',
      'q six',
      'a seven',
      'new question',
    ];
    const { messages, store } = conversation(texts);
    // new (2 words) + 'a seven' + 'q six' + 'a four five' fit; 'q three' would not.
    const budget = cost('new question') + cost('a seven') + cost('q six') + cost('a four five') + 1;

    const fitted = await fitContext(
      store,
      'u',
      { user: messages[6] as StoredMessage, base: 0 },
      {
        budget,
        maxMessages: 100,
        counter: async () => words(),
        skip: () => false,
      },
    );

    // 'a four five' fits but its question does not: it is dropped rather than sent alone.
    expect(fitted.map((m) => m.content)).toEqual(['q six', 'a seven']);
  });

  it('reads in proportion to what it sends, not to the length of the history', async () => {
    const { messages, store, reads } = conversation(
      Array.from({ length: 1_001 }, (_, i) => `m${i}`),
    );

    const fitted = await fitContext(
      store,
      'u',
      { user: messages[1_000] as StoredMessage, base: 0 },
      {
        budget: 10 * cost('m1'),
        maxMessages: 100,
        counter: async () => words(),
        skip: () => false,
      },
    );

    expect(fitted).toHaveLength(8);
    expect(reads.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(16);
  });

  it('leaves out skipped messages and stops at the message cap', async () => {
    const { messages, store } = conversation(['q1', 'error reply', 'q2', 'a2', 'q3', 'a3', 'new']);

    const fitted = await fitContext(
      store,
      'u',
      { user: messages[6] as StoredMessage, base: 0 },
      {
        budget: 1_000,
        maxMessages: 3,
        counter: async () => words(),
        skip: (m) => m.content === 'error reply',
      },
    );

    expect(fitted.map((m) => m.content)).toEqual(['q3', 'a3']);
  });
});
