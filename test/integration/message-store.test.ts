import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { DynamoClearStore } from '#store/clear.ts';
import { DynamoExchangeStore } from '#store/exchanges.ts';
import { DynamoHistoryStore } from '#store/history.ts';
import { keys } from '#store/table.ts';
import { itemsOf, localDocumentClient, seedConversation } from '../support/seed.ts';

const db = localDocumentClient(inject('dynamoEndpoint'));
const table = inject('tableName');
const options = { client: db, tableName: table, sleep: async () => {} };
const exchanges = new DynamoExchangeStore(options);
const history = new DynamoHistoryStore(options);
const clearing = new DynamoClearStore(options);
const user = () => `store-${crypto.randomUUID()}`;
const forever = () => 60_000;
const start = (content: string) => ({
  user: { senderId: 'u', content },
  reply: { senderId: 'ai-assistant', aiModel: 'm', staleAfter: Date.now() + 60_000 },
  title: content,
});
const firstPage = (userId: string, roomId: string) =>
  history.page(userId, roomId, { page: 1, limit: 100, order: 'asc' });

describe('the DynamoDB message store, on DynamoDB Local', () => {
  it('never overwrites exchanges begun in the same millisecond, and keeps each question beside its reply', async () => {
    const userId = user();

    const begun = await Promise.all(
      Array.from({ length: 20 }, (_, i) => exchanges.beginExchange(userId, 'r', start(`${i}`))),
    );

    const page = await firstPage(userId, 'r');
    expect(page.total).toBe(40);
    expect(page.messages.map((m) => m.seq)).toEqual([...Array(40).keys()].map((i) => i + 1));
    for (const { user: question, ai } of begun) {
      expect(ai.seq).toBe(question.seq + 1);
      expect(page.messages[ai.seq - 1]).toMatchObject({ id: ai.id, status: 'streaming' });
    }
    expect(new Set(page.messages.map((m) => m.id)).size).toBe(40);
  });

  it('keeps a room whose id is another room id plus a suffix apart from it', async () => {
    const userId = user();
    await exchanges.beginExchange(userId, 'ai_chat_a', start('a'));
    await exchanges.beginExchange(userId, 'ai_chat_a#1', start('a#1'));

    expect((await clearing.clear(userId, 'ai_chat_a', forever)).deleted).toBe(2);
    expect((await firstPage(userId, 'ai_chat_a#1')).messages.map((m) => m.content)).toEqual([
      'a#1',
      '',
    ]);
  });
});

describe('clearing a conversation', () => {
  it('empties history at once even when cut off mid-purge, and a later clear finishes the deletion', async () => {
    const userId = user();
    await seedConversation(db, table, userId, 'r', 3_000);
    let calls = 0;
    // Time runs out after the first purge step, as a function reaching its timeout would.
    const cutOff = () => (calls++ < 1 ? 60_000 : 0);

    const first = await clearing.clear(userId, 'r', cutOff);
    await exchanges.beginExchange(userId, 'r', start('after the clear'));

    expect(first).toEqual({ deleted: 3_000, purged: false, existed: true });
    const page = await firstPage(userId, 'r');
    expect(page.total).toBe(2);
    expect(page.messages.map((m) => m.content)).toEqual(['after the clear', '']);
    expect((await itemsOf(db, table, userId)).length).toBeGreaterThan(3);

    const second = await clearing.clear(userId, 'r', forever);

    expect(second).toEqual({ deleted: 2, purged: true, existed: true });
    expect(await itemsOf(db, table, userId)).toEqual([keys.room('r')]);
    expect(await firstPage(userId, 'r')).toMatchObject({ messages: [], total: 0 });
  }, 60_000);

  it('keeps the count true when DynamoDB keeps refusing deletes, and a later clear finishes', async () => {
    const userId = user();
    await seedConversation(db, table, userId, 'r', 40);
    const stuck = new Proxy(db, {
      get(target, property) {
        if (property !== 'send') return Reflect.get(target, property);
        return async (command: unknown) => {
          if (!(command instanceof BatchWriteCommand)) return target.send(command as never);
          const [name, requests = []] = Object.entries(command.input.RequestItems ?? {})[0] ?? [];
          await target.send(
            new BatchWriteCommand({ RequestItems: { [name as string]: requests.slice(0, 1) } }),
          );
          return { UnprocessedItems: { [name as string]: requests.slice(1) } };
        };
      },
    }) as DynamoDBDocumentClient;
    const faulty = new DynamoClearStore({ ...options, client: stuck });

    const first = await faulty.clear(userId, 'r', forever);

    expect(first).toMatchObject({ deleted: 40, purged: false });
    expect(await firstPage(userId, 'r')).toMatchObject({ messages: [], total: 0 });
    expect(await clearing.clear(userId, 'r', forever)).toEqual({
      deleted: 0,
      purged: true,
      existed: true,
    });
    expect(await itemsOf(db, table, userId)).toEqual([keys.room('r')]);
  });

  it('keeps total equal to what paging returns when clears race sends', async () => {
    const userId = user();
    const sends = Array.from({ length: 30 }, (_, i) =>
      exchanges.beginExchange(userId, 'race', start(`m${i}`)),
    );
    const clears = Array.from({ length: 6 }, (_, i) =>
      new Promise((done) => setTimeout(done, i * 7)).then(() =>
        clearing.clear(userId, 'race', forever),
      ),
    );

    const results = await Promise.allSettled([...sends, ...clears]);

    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    const page = await firstPage(userId, 'race');
    expect(page.total).toBe(page.messages.length);
    expect(page.total % 2).toBe(0);
    const cleared = (await Promise.all(clears)) as { deleted: number }[];
    expect(cleared.reduce((sum, c) => sum + c.deleted, 0) + page.total).toBe(60);
  });
});
