import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { keys, roomKey, TABLE } from '#store/table.ts';

/** A document client on a local DynamoDB endpoint. */
export function localDocumentClient(endpoint: string) {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}

/**
 * Writes a conversation of `count` messages straight into the table, as the service lays them
 * out (alternating questions and complete replies), many batches at once: far faster than
 * sending them, for tests and benchmarks of long conversations.
 */
export async function seedConversation(
  db: DynamoDBDocumentClient,
  table: string,
  userId: string,
  roomId: string,
  count: number,
  content: (i: number) => string = (i) => `message ${i + 1}`,
  onProgress?: (done: number, total: number) => void,
  /** Stores each message's token count, as a service that had its encoder loaded would. */
  tokens?: { encoding: string; count: (text: string) => number },
) {
  const pk = keys.user(userId);
  const now = new Date().toISOString();
  const items = Array.from({ length: count }, (_, i) => {
    const ai = i % 2 === 1;
    const id = ulid();
    return [
      {
        pk,
        sk: keys.message(roomId, i + 1),
        id,
        room_id: roomId,
        seq: i + 1,
        sender_id: ai ? 'ai-assistant' : userId,
        content: content(i),
        message_type: ai ? 'ai' : 'user',
        status: 'complete',
        ...(ai ? { ai_model: 'gpt-4o-mini' } : {}),
        ...(tokens ? { tokens: tokens.count(content(i)), tokens_encoding: tokens.encoding } : {}),
        created_at: now,
        updated_at: now,
      },
      ...(ai ? [{ pk, sk: keys.reply(id), room_id: roomId, seq: i + 1 }] : []),
    ];
  }).flat();
  const batches: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  for (let i = 0; i < batches.length; i += 16) {
    onProgress?.(Math.min(count, Math.round((i / batches.length) * count)), count);
    await Promise.all(
      batches.slice(i, i + 16).map(async (batch) => {
        let pending = batch.map((Item) => ({ PutRequest: { Item } }));
        while (pending.length > 0) {
          const { UnprocessedItems } = await db.send(
            new BatchWriteCommand({ RequestItems: { [table]: pending } }),
          );
          pending = (UnprocessedItems?.[table] ?? []) as typeof pending;
        }
      }),
    );
  }
  onProgress?.(count, count);
  await db.send(
    new PutCommand({
      TableName: table,
      Item: {
        pk,
        sk: keys.room(roomId),
        room_id: roomId,
        seq: count,
        message_count: count,
        created_at: now,
        updated_at: now,
        last_message_at: now,
        last_message_preview: content(count - 1).slice(0, 120),
        auto_title: content(0).slice(0, 60),
        [TABLE.roomsIndex.sortKey]: `${now}#${roomKey(roomId)}`,
      },
    }),
  );
}

/** Every item of a user's partition, by sort key. */
export async function itemsOf(
  db: DynamoDBDocumentClient,
  table: string,
  userId: string,
): Promise<string[]> {
  const found: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.user(userId) },
        ProjectionExpression: 'sk',
        ExclusiveStartKey: startKey,
      }),
    );
    found.push(...(page.Items ?? []).map((item) => item.sk as string));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return found;
}
