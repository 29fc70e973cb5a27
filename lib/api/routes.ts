import { accountRoutes } from './account-routes.ts';
import { type DynamoAction, type Route, route } from './route-spec.ts';
import {
  activeBodySchema,
  clearAnswer,
  clearQuerySchema,
  deleteRoomAnswer,
  exchangeAnswer,
  exportQuerySchema,
  followQuerySchema,
  historyAnswer,
  historyQuerySchema,
  messageIdParams,
  regenerateBodySchema,
  renameBodySchema,
  roomAnswer,
  roomIdParams,
  roomsAnswer,
  roomsQuerySchema,
  sendBodySchema,
  stopAnswer,
  TURN_EVENTS,
  userIdParams,
} from './schemas.ts';

/**
 * The route table: the one list of what the API serves, each route with its access and its
 * contract. The CDK stack and the local HTTP server both read it, so a route added here exists
 * in both, with the same access; the OpenAPI document and the sample events are made from it.
 * A new route is an entry here and its handler in `functions/` (then `npm run openapi`).
 */

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

/** The message limit the document states (the deployment default). */
const MESSAGE_CHARS = 16_000;

const TURN_ERRORS = [400, 403, 404, 409, 410, 413, 422, 429];

/** What the samples name: the sample user's default conversation, and a reply a run makes. */
const SAMPLE_USER = { userId: 'sample-user' };
const SAMPLE_ROOM = { roomId: 'ai_chat_sample-user' };
const SAMPLE_REPLY = {
  messageId: "<the id of an AI message: ai_message_started's data.id, or one from history>",
};

export const routes: readonly Route[] = [
  route({
    method: 'POST',
    path: '/api/chat/ai/send',
    handler: 'send-message',
    auth: true,
    dynamodb: SEND_ACTIONS,
    kms: ['kms:Decrypt'],
    model: true,
    // The model call has a 25 s deadline and API Gateway cuts a buffered answer at 29 s.
    timeoutSeconds: 30,
    contract: {
      summary: 'Send a message and get the reply',
      description:
        'Stores the message and an empty reply, calls the model with the conversation as context, stores the reply (saved while it is written, so another client can follow it) and answers with both.',
      body: sendBodySchema(MESSAGE_CHARS),
      headers: ['Idempotency-Key'],
      success: { json: exchangeAnswer, replayable: true },
      errors: TURN_ERRORS,
    },
    sample: { step: 'chat', body: { message: 'Hello from sam local invoke' } },
  }),
  route({
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
    contract: {
      summary: 'Send a message and stream the reply as it is written',
      body: sendBodySchema(MESSAGE_CHARS),
      headers: ['Idempotency-Key'],
      success: { events: TURN_EVENTS, replayable: true },
      errors: TURN_ERRORS,
    },
    sample: { step: 'chat', body: { message: 'Stream a reply to sam local invoke' } },
  }),
  route({
    method: 'GET',
    path: '/api/chat/ai/stream/{messageId}',
    handler: 'follow-reply',
    auth: true,
    // The reply's pointer, then the conversation and the message together, polled.
    dynamodb: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
    stream: true,
    // Follows a reply for up to this long (less a margin), then asks the client to reconnect.
    timeoutSeconds: 300,
    contract: {
      summary: 'Follow a reply to its end, from what the client already has',
      params: messageIdParams,
      query: followQuerySchema,
      headers: ['Last-Event-ID'],
      success: { events: ['reasoning', 'delta', 'ai_message', 'reconnect', 'error'] },
      errors: [400, 404, 429],
    },
    sample: { step: 'chat', params: SAMPLE_REPLY, query: { offset: '0' } },
  }),
  route({
    method: 'POST',
    path: '/api/chat/ai/stream/{messageId}/stop',
    handler: 'stop-reply',
    auth: true,
    dynamodb: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
    timeoutSeconds: 10,
    contract: {
      summary: 'Stop a reply being written',
      params: messageIdParams,
      success: { json: stopAnswer },
      errors: [404],
    },
    sample: { step: 'chat', params: SAMPLE_REPLY },
  }),
  route({
    method: 'GET',
    path: '/api/chat/ai/history/{userId}',
    handler: 'get-history',
    auth: true,
    dynamodb: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
    timeoutSeconds: 10,
    contract: {
      summary: "A page of a conversation's messages",
      params: userIdParams,
      query: historyQuerySchema,
      success: { json: historyAnswer },
      errors: [400, 403],
    },
    sample: { step: 'read', params: SAMPLE_USER, query: { page: '1', limit: '25' } },
  }),
  route({
    method: 'DELETE',
    path: '/api/chat/ai/history/{userId}',
    handler: 'clear-history',
    auth: true,
    dynamodb: ['dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'],
    timeoutSeconds: 10,
    contract: {
      summary: 'Clear a conversation (it stays, empty)',
      params: userIdParams,
      query: clearQuerySchema,
      success: { json: clearAnswer },
      errors: [400, 403],
    },
    sample: { step: 'remove', params: SAMPLE_USER },
  }),
  route({
    method: 'GET',
    path: '/api/chat/ai/rooms',
    handler: 'get-rooms',
    auth: true,
    // The index holds keys only; the rooms are read in one batch.
    dynamodb: ['dynamodb:BatchGetItem'],
    roomsIndex: true,
    timeoutSeconds: 10,
    contract: {
      summary: "The caller's conversations, most recent activity first",
      query: roomsQuerySchema,
      success: { json: roomsAnswer },
      errors: [400],
    },
    sample: { step: 'read', query: { limit: '10' } },
  }),
  route({
    method: 'GET',
    path: '/api/chat/ai/rooms/{roomId}',
    handler: 'get-room',
    auth: true,
    dynamodb: ['dynamodb:GetItem'],
    timeoutSeconds: 10,
    contract: {
      summary: "A conversation's summary",
      params: roomIdParams,
      success: { json: roomAnswer },
      errors: [400, 404],
    },
    sample: { step: 'read', params: SAMPLE_ROOM },
  }),
  route({
    method: 'PATCH',
    path: '/api/chat/ai/rooms/{roomId}',
    handler: 'rename-room',
    auth: true,
    // The rename, then the active leaf's id for the answer.
    dynamodb: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
    timeoutSeconds: 10,
    contract: {
      summary: 'Give a conversation a title',
      params: roomIdParams,
      body: renameBodySchema,
      success: { json: roomAnswer },
      errors: [400, 404, 413],
    },
    sample: { step: 'read', params: SAMPLE_ROOM, body: { title: 'Sample conversation' } },
  }),
  route({
    method: 'PUT',
    path: '/api/chat/ai/rooms/{roomId}/active',
    handler: 'set-active-branch',
    auth: true,
    // The message and the path to it, the walk down its branch, then the switch (a transaction
    // of the conversation item and the message the paths part at).
    dynamodb: [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
      'dynamodb:UpdateItem',
    ],
    timeoutSeconds: 10,
    contract: {
      summary: 'Switch to the branch through a message',
      description:
        'Makes the path through the message active: above it, the path to it; below it, the branch last followed from its place, else the newest. History then shows that path.',
      params: roomIdParams,
      body: activeBodySchema,
      success: { json: roomAnswer },
      errors: [400, 404, 409, 413],
    },
    sample: {
      step: 'read',
      params: SAMPLE_ROOM,
      body: { message_id: '<the id of any message of the conversation>' },
    },
  }),
  route({
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
    timeoutSeconds: 10,
    contract: {
      summary: 'Delete a conversation and its messages',
      params: roomIdParams,
      success: { json: deleteRoomAnswer },
      errors: [400, 404],
    },
    sample: { step: 'remove', params: SAMPLE_ROOM },
  }),
  route({
    method: 'POST',
    path: '/api/chat/ai/regenerate',
    handler: 'regenerate',
    auth: true,
    // As send, plus the transaction that swaps the last reply for a new one.
    dynamodb: [...SEND_ACTIONS, 'dynamodb:ConditionCheckItem'],
    kms: ['kms:Decrypt'],
    model: true,
    timeoutSeconds: 30,
    contract: {
      summary: "Replace a conversation's last reply with a new one",
      body: regenerateBodySchema,
      headers: ['Idempotency-Key'],
      success: { json: exchangeAnswer, replayable: true },
      errors: TURN_ERRORS,
    },
    sample: { step: 'chat', body: { room_id: SAMPLE_ROOM.roomId } },
  }),
  route({
    method: 'POST',
    path: '/api/chat/ai/regenerate/stream',
    handler: 'regenerate-stream',
    auth: true,
    dynamodb: [...SEND_ACTIONS, 'dynamodb:ConditionCheckItem'],
    kms: ['kms:Decrypt'],
    model: true,
    stream: true,
    timeoutSeconds: 300,
    contract: {
      summary: "Replace a conversation's last reply, streaming the new one",
      body: regenerateBodySchema,
      headers: ['Idempotency-Key'],
      success: { events: TURN_EVENTS, replayable: true },
      errors: TURN_ERRORS,
    },
    sample: { step: 'chat', body: { room_id: SAMPLE_ROOM.roomId } },
  }),
  route({
    method: 'GET',
    path: '/api/chat/ai/export',
    handler: 'export-history',
    auth: true,
    // The conversation items, then each one's messages a page at a time.
    dynamodb: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
    // Written while it is read, as a stream: a long history takes longer than 29 s.
    stream: true,
    timeoutSeconds: 300,
    contract: {
      summary: 'Download conversations as JSONL or Markdown',
      query: exportQuerySchema,
      success: {
        file: {
          'application/x-ndjson': 'One message per line, with the fields history returns',
          'text/markdown': 'A transcript',
        },
      },
      errors: [400, 404],
    },
    sample: { step: 'read', query: { format: 'jsonl' } },
  }),
  ...accountRoutes,
];

/** Headers a browser may send; the CDK preflight and the local server both allow these. */
export const CORS_ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'Last-Event-ID',
];
