import { type Route, route } from './route-spec.ts';
import {
  apiKeyAnswer,
  apiKeyBodySchema,
  deletedKeyAnswer,
  eraseAnswer,
  healthAnswer,
  savedKeyAnswer,
} from './schemas.ts';

/** The routes on the caller's account as a whole: erasure, the API key, and health. */
export const accountRoutes: Route[] = [
  route({
    method: 'DELETE',
    path: '/api/chat/ai/me',
    handler: 'delete-me',
    auth: true,
    // The whole partition: conversations and account first, then everything else.
    dynamodb: ['dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
    // Inside API Gateway's 29 s for a buffered answer; what is left goes with the next call.
    timeoutSeconds: 25,
    contract: {
      summary: 'Delete all of my data (GDPR article 17)',
      success: { json: eraseAnswer },
      errors: [],
    },
    sample: { step: 'remove' },
  }),
  route({
    method: 'PUT',
    path: '/api/chat/ai/api-key',
    handler: 'put-api-key',
    auth: true,
    dynamodb: ['dynamodb:UpdateItem'],
    kms: ['kms:Encrypt'],
    timeoutSeconds: 10,
    contract: {
      summary: 'Store my model API key (encrypted)',
      body: apiKeyBodySchema,
      success: { json: savedKeyAnswer },
      errors: [400, 413],
    },
    sample: { step: 'set up', body: { api_key: 'sk-sample-0000000000000000' } },
  }),
  route({
    method: 'GET',
    path: '/api/chat/ai/api-key',
    handler: 'get-api-key',
    auth: true,
    dynamodb: ['dynamodb:GetItem'],
    timeoutSeconds: 10,
    contract: {
      summary: 'Whether I have a stored key, and its last four characters',
      success: { json: apiKeyAnswer },
      errors: [],
    },
    sample: { step: 'set up' },
  }),
  route({
    method: 'DELETE',
    path: '/api/chat/ai/api-key',
    handler: 'delete-api-key',
    auth: true,
    dynamodb: ['dynamodb:UpdateItem'],
    timeoutSeconds: 10,
    contract: {
      summary: 'Delete my stored key',
      success: { json: deletedKeyAnswer },
      errors: [],
    },
    sample: { step: 'remove' },
  }),
  route({
    method: 'GET',
    path: '/health',
    handler: 'health',
    auth: false,
    checksJwtSecret: true,
    dynamodb: ['dynamodb:GetItem'],
    timeoutSeconds: 10,
    contract: {
      summary: 'Whether the service can answer',
      success: { json: healthAnswer },
      errors: [],
    },
    sample: { step: 'set up' },
  }),
];
