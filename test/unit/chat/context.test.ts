import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT_BUDGET, fitContext } from '#chat/context.ts';
import type { StoredMessage } from '#chat/message.ts';
import { MESSAGE_OVERHEAD_TOKENS } from '#chat/tokens.ts';
import type { RecentMessages, RecentRequest } from '#store/history.ts';

/** A conversation in memory; counts the messages each read returns. */
function conversation(contents: string[]) {
  const messages: StoredMessage[] = contents.map((content, i) => ({
    id: `m${i + 1}`,
    roomId: 'r',
    seq: i + 1,
    parentSeq: i,
    senderId: i % 2 === 0 ? 'u' : 'ai-assistant',
    messageType: i % 2 === 0 ? 'user' : 'ai',
    content,
    status: 'complete',
    createdAt: new Date(0).toISOString(),
    updatedAt: new Date(0).toISOString(),
  }));
  const reads: number[] = [];
  const requests: RecentRequest[] = [];
  const store: RecentMessages = {
    async recent(_user: string, _room: string, request: RecentRequest) {
      // One line of messages: depth and sequence number are the same.
      const { before, count } = request;
      const found = messages.filter((m) => m.seq >= before - count && m.seq < before);
      reads.push(found.length);
      requests.push(request);
      return found;
    },
  };
  return { messages, store, reads, requests };
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
      { user: messages[2] as StoredMessage, above: [[1, 2]] },
      {
        budget: 1_000,
        maxMessages: 100,
        counter: async () => {
          built = true;
          return words();
        },
        skip: () => false,
        encoding: 'words',
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
      { user: messages[6] as StoredMessage, above: [[1, 6]] },
      {
        budget,
        maxMessages: 100,
        counter: async () => words(),
        skip: () => false,
        encoding: 'words',
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
      { user: messages[1_000] as StoredMessage, above: [[1, 1_000]] },
      {
        budget: 10 * cost('m1'),
        maxMessages: 100,
        counter: async () => words(),
        skip: () => false,
        encoding: 'words',
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
      { user: messages[6] as StoredMessage, above: [[1, 6]] },
      {
        budget: 1_000,
        maxMessages: 3,
        counter: async () => words(),
        skip: (m) => m.content === 'error reply',
        encoding: 'words',
      },
    );

    expect(fitted.map((m) => m.content)).toEqual(['q3', 'a3']);
  });

  it('with the defaults, sends a 1,000-message conversation within the budget: the newest messages, in order, from a question, reading about what it sends', async () => {
    const texts = Array.from({ length: 1_001 }, (_, i) =>
      `${i % 2 === 0 ? 'question' : 'answer'} ${i} ${'word '.repeat(60)}`.trim(),
    );
    const { messages, store, reads, requests } = conversation(texts);
    const budget = DEFAULT_CONTEXT_BUDGET;

    const fitted = await fitContext(
      store,
      'u',
      { user: messages[1_000] as StoredMessage, above: [[1, 1_000]] },
      {
        budget,
        maxMessages: 100,
        counter: async () => words(),
        skip: () => false,
        encoding: 'words',
      },
    );

    const sent = [...fitted, messages[1_000] as StoredMessage];
    expect(sent.reduce((sum, m) => sum + cost(m.content), 0)).toBeLessThanOrEqual(budget);
    expect(fitted[0]?.messageType).toBe('user');
    expect(fitted.map((m) => m.seq)).toEqual(
      Array.from({ length: fitted.length }, (_, i) => 1_000 - fitted.length + i + 1),
    );
    // 65 tokens a message: the budget holds about 240, the cap 100; what is read follows the cap.
    expect(fitted.length).toBe(100);
    expect(reads.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(102);
    expect(requests[0]).toMatchObject({ count: 2, consistent: true });
    expect(requests.slice(1).every((r) => !r.consistent)).toBe(true);
  });

  it('reads only what a small budget holds, whatever the message cap', async () => {
    const { messages, store, reads } = conversation(
      Array.from({ length: 1_001 }, (_, i) => `m${i} ${'word '.repeat(20)}`.trim()),
    );

    const fitted = await fitContext(
      store,
      'u',
      { user: messages[1_000] as StoredMessage, above: [[1, 1_000]] },
      {
        budget: 10 * cost(messages[0]?.content as string),
        maxMessages: 1_000,
        counter: async () => words(),
        skip: () => false,
        encoding: 'words',
      },
    );

    expect(fitted.length).toBeLessThanOrEqual(9);
    expect(reads.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(24);
    expect(reads.length).toBeLessThanOrEqual(3);
  });

  it('uses counts stored with the messages and never loads the encoder when they fit', async () => {
    const { messages, store } = conversation(
      Array.from({ length: 41 }, (_, i) => `m${i} ${'word '.repeat(200)}`.trim()),
    );
    for (const message of messages) message.tokens = { encoding: 'words', count: 201 };
    let loaded = false;

    const fitted = await fitContext(
      store,
      'u',
      { user: messages[40] as StoredMessage, above: [[1, 40]] },
      {
        budget: 41 * (201 + MESSAGE_OVERHEAD_TOKENS),
        maxMessages: 100,
        counter: async () => {
          loaded = true;
          return words();
        },
        skip: () => false,
        encoding: 'words',
      },
    );

    expect(fitted).toHaveLength(40);
    expect(loaded).toBe(false);
  });
});
