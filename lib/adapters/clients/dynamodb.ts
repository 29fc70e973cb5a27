import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CLIENT_PATIENCE } from './patience.ts';

/**
 * One DynamoDB client per container. The endpoint comes from the SDK's own configuration
 * (`AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local), so the same code runs everywhere.
 */
export const dynamoDb = DynamoDBDocumentClient.from(new DynamoDBClient(CLIENT_PATIENCE), {
  marshallOptions: { removeUndefinedValues: true },
});
