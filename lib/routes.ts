/**
 * The route table: the one list of what the API serves. The CDK stack and the local HTTP
 * server both read it, so a route added here exists in both, with the same access.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type DynamoAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:Query'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:BatchWriteItem'
  | 'dynamodb:ConditionCheckItem';

export type KmsAction = 'kms:Encrypt' | 'kms:Decrypt';

export interface RouteSpec {
  method: HttpMethod;
  /** API Gateway resource path; `{name}` is a path parameter. */
  path: string;
  /** File name in `functions/`, without `.ts`. */
  handler: string;
  /** Needs a bearer token. */
  auth: boolean;
  /** Reads the JWT secret without needing a token (`/health` checks that it is usable). Default: false. */
  checksJwtSecret?: boolean;
  /** Exactly the actions the handler uses on the table itself (its items, not its indexes). */
  dynamodb: DynamoAction[];
  /** Queries the rooms-by-activity index: `dynamodb:Query` granted on that index's ARN only. */
  roomsIndex?: boolean;
  /** Exactly the KMS actions the handler uses on the API-key key. */
  kms: KmsAction[];
  /** Calls the model (needs the model settings and outbound network). */
  model: boolean;
  /** Answers with a response stream (API Gateway `STREAM` mode, Lambda response streaming). */
  stream?: boolean;
  /** The function's timeout. */
  timeoutSeconds: number;
}

/**
 * Send, and stream too, use these on the table: the account (key and limits), the
 * conversation's counter, the exchange's items (one batch), the reply's saves, context reads,
 * idempotency records (claimed with a put, released with a delete, replayed with a batch read).
 */
const SEND_ACTIONS: DynamoAction[] = [
  'dynamodb:GetItem',
  'dynamodb:UpdateItem',
  'dynamodb:PutItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:DeleteItem',
];

export const routes: readonly RouteSpec[] = [
  {
    method: 'POST',
    path: '/api/chat/ai/send',
    handler: 'send-message',
    auth: true,
    dynamodb: SEND_ACTIONS,
    kms: ['kms:Decrypt'],
    model: true,
    // The model call has a 25 s deadline and API Gateway cuts a buffered answer at 29 s.
    timeoutSeconds: 30,
  },
  {
    method: 'POST',
    path: '/api/chat/ai/stream',
    handler: 'stream-message',
    auth: true,
    dynamodb: SEND_ACTIONS,
    kms: ['kms:Decrypt'],
    model: true,
    stream: true,
    // A streamed reply may run long; API Gateway streams for up to 15 minutes.
    timeoutSeconds: 300,
  },
  {
    method: 'GET',
    path: '/api/chat/ai/stream/{messageId}',
    handler: 'follow-reply',
    auth: true,
    // The reply's pointer, then the conversation and the message together, polled.
    dynamodb: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
    kms: [],
    model: false,
    stream: true,
    // Follows a reply for up to this long (less a margin), then asks the client to reconnect.
    timeoutSeconds: 300,
  },
  {
    method: 'POST',
    path: '/api/chat/ai/stream/{messageId}/stop',
    handler: 'stop-reply',
    auth: true,
    dynamodb: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
    kms: [],
    model: false,
    timeoutSeconds: 10,
  },
  {
    method: 'GET',
    path: '/api/chat/ai/history/{userId}',
    handler: 'get-history',
    auth: true,
    dynamodb: ['dynamodb:GetItem', 'dynamodb:Query'],
    kms: [],
    model: false,
    timeoutSeconds: 10,
  },
  {
    method: 'DELETE',
    path: '/api/chat/ai/history/{userId}',
    handler: 'clear-history',
    auth: true,
    dynamodb: ['dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'],
    kms: [],
    model: false,
    timeoutSeconds: 10,
  },
  {
    method: 'GET',
    path: '/api/chat/ai/rooms',
    handler: 'get-rooms',
    auth: true,
    // The index holds keys only; the rooms are read in one batch.
    dynamodb: ['dynamodb:BatchGetItem'],
    roomsIndex: true,
    kms: [],
    model: false,
    timeoutSeconds: 10,
  },
  {
    method: 'GET',
    path: '/api/chat/ai/rooms/{roomId}',
    handler: 'get-room',
    auth: true,
    dynamodb: ['dynamodb:GetItem'],
    kms: [],
    model: false,
    timeoutSeconds: 10,
  },
  {
    method: 'PATCH',
    path: '/api/chat/ai/rooms/{roomId}',
    handler: 'rename-room',
    auth: true,
    dynamodb: ['dynamodb:UpdateItem'],
    kms: [],
    model: false,
    timeoutSeconds: 10,
  },
  {
    method: 'DELETE',
    path: '/api/chat/ai/rooms/{roomId}',
    handler: 'delete-room',
    auth: true,
    // Hide at once, purge in batches, then remove the conversation item itself.
    dynamodb: [
      'dynamodb:UpdateItem',
      'dynamodb:Query',
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
    ],
    kms: [],
    model: false,
    timeoutSeconds: 10,
  },
  {
    method: 'POST',
    path: '/api/chat/ai/regenerate',
    handler: 'regenerate',
    auth: true,
    // As send, plus the transaction that swaps the last reply for a new one.
    dynamodb: [...SEND_ACTIONS, 'dynamodb:ConditionCheckItem'],
    kms: ['kms:Decrypt'],
    model: true,
    timeoutSeconds: 30,
  },
  {
    method: 'POST',
    path: '/api/chat/ai/regenerate/stream',
    handler: 'regenerate-stream',
    auth: true,
    dynamodb: [...SEND_ACTIONS, 'dynamodb:ConditionCheckItem'],
    kms: ['kms:Decrypt'],
    model: true,
    stream: true,
    timeoutSeconds: 300,
  },
  {
    method: 'GET',
    path: '/api/chat/ai/export',
    handler: 'export-history',
    auth: true,
    // The conversation items, then each one's messages a page at a time.
    dynamodb: ['dynamodb:GetItem', 'dynamodb:Query'],
    kms: [],
    model: false,
    // Written while it is read, as a stream: a long history takes longer than 29 s.
    stream: true,
    timeoutSeconds: 300,
  },
  {
    method: 'DELETE',
    path: '/api/chat/ai/me',
    handler: 'delete-me',
    auth: true,
    // The whole partition: conversations and account first, then everything else.
    dynamodb: ['dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
    kms: [],
    model: false,
    // Inside API Gateway's 29 s for a buffered answer; what is left goes with the next call.
    timeoutSeconds: 25,
  },
  {
    method: 'PUT',
    path: '/api/chat/ai/api-key',
    handler: 'put-api-key',
    auth: true,
    dynamodb: ['dynamodb:UpdateItem'],
    kms: ['kms:Encrypt'],
    model: false,
    timeoutSeconds: 10,
  },
  {
    method: 'GET',
    path: '/api/chat/ai/api-key',
    handler: 'get-api-key',
    auth: true,
    dynamodb: ['dynamodb:GetItem'],
    kms: [],
    model: false,
    timeoutSeconds: 10,
  },
  {
    method: 'DELETE',
    path: '/api/chat/ai/api-key',
    handler: 'delete-api-key',
    auth: true,
    dynamodb: ['dynamodb:UpdateItem'],
    kms: [],
    model: false,
    timeoutSeconds: 10,
  },
  {
    method: 'GET',
    path: '/health',
    handler: 'health',
    auth: false,
    checksJwtSecret: true,
    dynamodb: ['dynamodb:GetItem'],
    kms: [],
    model: false,
    timeoutSeconds: 10,
  },
];

/** Headers a browser may send; the CDK preflight and the local server both allow these. */
export const CORS_ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'Last-Event-ID',
];
