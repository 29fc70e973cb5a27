import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { DynamoMessageStore, PartialClearError } from '../../lib/store/messages.ts';

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    endpoint: inject('dynamoEndpoint'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  }),
);
const store = new DynamoMessageStore({
  client: db,
  tableName: inject('tableName'),
  sleep: async () => {},
});
const user = () => `store-${crypto.randomUUID()}`;
const message = (content: string) => ({ senderId: 'u', content, messageType: 'user' as const });

describe('the DynamoDB message store, on DynamoDB Local', () => {
  it('never overwrites messages written in the same millisecond, and orders them stably', async () => {
    const userId = user();

    const written = await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.append(userId, 'r', message(`${i}`))),
    );

    const page = await store.page(userId, 'r', { page: 1, limit: 100, order: 'asc' });
    expect(page.total).toBe(40);
    expect(new Set(written.map((m) => m.seq)).size).toBe(40);
    expect(page.messages.map((m) => m.seq)).toEqual([...Array(40).keys()].map((i) => i + 1));
    expect((await store.page(userId, 'r', { page: 1, limit: 100, order: 'asc' })).messages).toEqual(
      page.messages,
    );
  });

  it('keeps a room whose id is another room id plus a suffix apart from it', async () => {
    const userId = user();
    await store.append(userId, 'ai_chat_a', message('a'));
    await store.append(userId, 'ai_chat_a#1', message('a#1'));

    expect(await store.clear(userId, 'ai_chat_a')).toBe(1);
    expect(
      (await store.page(userId, 'ai_chat_a#1', { page: 1, limit: 10, order: 'asc' })).messages.map(
        (m) => m.content,
      ),
    ).toEqual(['a#1']);
  });
});

describe('clearing when DynamoDB leaves deletes unprocessed', () => {
  /** The real client, except that the first attempt of each batch leaves its last 3 deletes undone. */
  function throttledBatches(counter: { calls: number }): DynamoDBDocumentClient {
    return new Proxy(db, {
      get(target, property) {
        if (property !== 'send') return Reflect.get(target, property);
        return async (command: unknown) => {
          if (!(command instanceof BatchWriteCommand)) return target.send(command as never);
          counter.calls += 1;
          const [table, requests] = Object.entries(command.input.RequestItems ?? {})[0] ?? [];
          if (counter.calls % 2 === 1 && table && requests && requests.length > 3) {
            await target.send(
              new BatchWriteCommand({ RequestItems: { [table]: requests.slice(0, -3) } }),
            );
            return { UnprocessedItems: { [table]: requests.slice(-3) } };
          }
          return target.send(command);
        };
      },
    });
  }

  it('retries the unprocessed deletes until all are done', async () => {
    const userId = user();
    for (let i = 0; i < 30; i++) await store.append(userId, 'r', message(`${i}`));
    const counter = { calls: 0 };
    const faulty = new DynamoMessageStore({
      client: throttledBatches(counter),
      tableName: inject('tableName'),
      sleep: async () => {},
    });

    const deleted = await faulty.clear(userId, 'r');

    expect(deleted).toBe(30);
    expect(counter.calls).toBe(4);
    expect(await store.page(userId, 'r', { page: 1, limit: 100, order: 'asc' })).toMatchObject({
      messages: [],
      total: 0,
      hasMore: false,
    });
  });

  it('gives up with a retryable error after repeated failures, keeping the count true', async () => {
    const userId = user();
    for (let i = 0; i < 20; i++) await store.append(userId, 'r', message(`${i}`));
    const stuck = new Proxy(db, {
      get(target, property) {
        if (property !== 'send') return Reflect.get(target, property);
        return async (command: unknown) => {
          if (!(command instanceof BatchWriteCommand)) return target.send(command as never);
          const [table, requests = []] = Object.entries(command.input.RequestItems ?? {})[0] ?? [];
          await target.send(
            new BatchWriteCommand({ RequestItems: { [table as string]: requests.slice(0, 1) } }),
          );
          return { UnprocessedItems: { [table as string]: requests.slice(1) } };
        };
      },
    });
    const faulty = new DynamoMessageStore({
      client: stuck,
      tableName: inject('tableName'),
      sleep: async () => {},
    });

    const attempt = faulty.clear(userId, 'r');

    await expect(attempt).rejects.toBeInstanceOf(PartialClearError);
    const after = await store.page(userId, 'r', { page: 1, limit: 100, order: 'asc' });
    expect(after.messages).toHaveLength(12);
    expect(after.total).toBe(12);
    expect(await store.clear(userId, 'r')).toBe(after.messages.length);
  });
});
