import { dynamoDb } from './clients/dynamodb.ts';
import { storeSettings } from './config.ts';
import { DynamoApiKeyStore } from './store/api-keys.ts';
import { DynamoMessageStore } from './store/messages.ts';

/**
 * The production wiring, built from validated settings. Handlers call these at module scope,
 * so a missing setting fails the cold start with a message naming it. The model client is
 * built only by the routes that call the model, so no other bundle carries it.
 */
export const messageStore = () =>
  new DynamoMessageStore({ client: dynamoDb, tableName: storeSettings().TABLE_NAME });

export const apiKeyStore = () =>
  new DynamoApiKeyStore({ client: dynamoDb, tableName: storeSettings().TABLE_NAME });
