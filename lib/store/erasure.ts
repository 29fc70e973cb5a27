import { DeleteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { deleteItems, type ItemKey } from './batches.ts';
import { keys } from './table.ts';
import { roomItems, TableStore } from './table-store.ts';

/** What erasing a user removed. */
export interface Erased {
  conversations: number;
  /** Messages that were visible in them. */
  messages: number;
  apiKey: boolean;
  /** Whether nothing of the user is left (else erasing again finishes). */
  complete: boolean;
}

/** Removes everything a user has: conversations, messages, key, limits, idempotency records. */
export interface Erasure {
  erase(userId: string, timeLeftMs: () => number): Promise<Erased>;
}

const MARGIN_MS = 1_500;
const PAGE = 500;

/**
 * Everything of a user lives in their own partition, so erasing is a walk of that one
 * partition (no other user's key is ever read or written). The account and the conversations
 * go first, so every route shows nothing at once; the rest follows while time allows.
 */
export class DynamoErasure extends TableStore implements Erasure {
  async erase(userId: string, timeLeftMs: () => number): Promise<Erased> {
    const pk = keys.user(userId);
    let conversations = 0;
    let messages = 0;
    const rooms: ItemKey[] = [];
    const items = roomItems(this.batches, userId, {
      projection: 'sk, message_count',
      consistent: true,
    });
    for await (const item of items) {
      rooms.push({ pk, sk: item.sk as string });
      conversations += 1;
      messages += Math.max(0, Number(item.message_count ?? 0));
    }
    const { Attributes } = await this.db.send(
      new DeleteCommand({
        TableName: this.table,
        Key: { pk, sk: keys.account() },
        ReturnValues: 'ALL_OLD',
      }),
    );
    await deleteItems(rooms, this.batches);
    let complete = false;
    while (timeLeftMs() >= MARGIN_MS) {
      const { Items = [] } = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ProjectionExpression: 'pk, sk',
          Limit: PAGE,
          ConsistentRead: true,
        }),
      );
      if (Items.length === 0) {
        complete = true;
        break;
      }
      const targets = Items.map((item) => ({ pk, sk: item.sk as string }));
      if ((await deleteItems(targets, this.batches)) < targets.length) break;
    }
    return { conversations, messages, apiKey: Attributes?.ciphertext !== undefined, complete };
  }
}
