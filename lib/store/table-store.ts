import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type Batches, backoff } from './batches.ts';
import type { MessageItem } from './message-item.ts';
import type { RoomItem } from './room-item.ts';
import { keys, ROOM_PREFIX } from './table.ts';

/** What every DynamoDB store is made with. */
export interface TableOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Waits before retry `attempt` of what a batch left unprocessed. Default: `backoff`. */
  sleep?: (attempt: number) => Promise<void>;
}

/** What every DynamoDB store holds: the client, the table, the wait between batch retries. */
export abstract class TableStore {
  protected readonly db: DynamoDBDocumentClient;
  protected readonly table: string;
  protected readonly batches: Batches;

  constructor({ client, tableName, sleep = backoff }: TableOptions) {
    this.db = client;
    this.table = tableName;
    this.batches = { db: client, table: tableName, sleep };
  }
}

/**
 * The stores of a conversation's items, and the two reads they share. Every key is inside the
 * user's own partition.
 */
export abstract class RoomStore extends TableStore {
  /** A conversation's item, strongly consistent; undefined when there is none. */
  protected async room(userId: string, roomId: string): Promise<RoomItem | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.user(userId), sk: keys.room(roomId) },
        ConsistentRead: true,
      }),
    );
    return Item as RoomItem | undefined;
  }

  /** Messages with sequence numbers in [from, to], at most `limit`, from the given end. */
  protected async range(
    userId: string,
    roomId: string,
    range: { from: number; to: number },
    options: { ascending: boolean; limit: number; consistent: boolean },
  ): Promise<MessageItem[]> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': keys.user(userId),
          ':from': keys.message(roomId, range.from),
          ':to': keys.message(roomId, range.to),
        },
        ScanIndexForward: options.ascending,
        Limit: options.limit,
        ConsistentRead: options.consistent,
      }),
    );
    return Items as MessageItem[];
  }
}

/**
 * Every conversation item of a user's partition (`projection` of each), a Query page at a time;
 * strongly consistent when `consistent`.
 */
export async function* roomItems(
  { db, table }: { db: DynamoDBDocumentClient; table: string },
  userId: string,
  options: { projection: string; consistent: boolean },
): AsyncGenerator<Record<string, unknown>> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :room)',
        ExpressionAttributeValues: { ':pk': keys.user(userId), ':room': ROOM_PREFIX },
        ProjectionExpression: options.projection,
        ExclusiveStartKey: startKey,
        ...(options.consistent ? { ConsistentRead: true } : {}),
      }),
    );
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}
