import * as z from 'zod';
import {
  apiKeyAnswer,
  apiKeyBodySchema,
  clearAnswer,
  clearQuerySchema,
  deletedKeyAnswer,
  deleteRoomAnswer,
  eraseAnswer,
  exchangeAnswer,
  exportQuerySchema,
  followQuerySchema,
  healthAnswer,
  historyAnswer,
  historyQuerySchema,
  MESSAGE_ID,
  regenerateBodySchema,
  renameBodySchema,
  roomAnswer,
  roomIdSchema,
  roomsAnswer,
  roomsQuerySchema,
  savedKeyAnswer,
  sendBodySchema,
  stopAnswer,
  type streamEvents,
} from './schemas.ts';

/**
 * What each route of the route table takes and answers, beyond what the table says (method,
 * path, auth): the OpenAPI document (`lib/openapi.ts`) is made from this and the table, and a
 * test checks that every route has one.
 */
export interface RouteContract {
  summary: string;
  description?: string;
  /** Path parameters. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Request headers the route reads (besides Authorization). */
  headers?: ('Idempotency-Key' | 'Last-Event-ID')[];
  /** The success answer: a JSON schema, server-sent events, or a file. */
  success:
    | { json: z.ZodType; replayable?: boolean }
    | { events: (keyof typeof streamEvents)[]; replayable?: boolean }
    | { file: Record<string, string> };
  /** Error statuses besides 401 (authenticated routes) and 500/503 (every route). */
  errors: number[];
}

/** The message limit the document states (the deployment default). */
const MESSAGE_CHARS = 16_000;

const userIdParams = z.object({ userId: z.string().meta({ description: "The caller's user id" }) });
const roomIdParams = z.object({
  roomId: roomIdSchema.meta({ description: 'The room id, URI-encoded' }),
});
const messageIdParams = z.object({
  messageId: z.string().regex(MESSAGE_ID).meta({ description: 'An AI message id' }),
});

const TURN_EVENTS: (keyof typeof streamEvents)[] = [
  'user_message',
  'ai_message_started',
  'delta',
  'ai_message',
  'error',
];

/** Every route's contract, by handler name. */
export const contracts: Record<string, RouteContract> = {
  'send-message': {
    summary: 'Send a message and get the reply',
    description:
      'Stores the message and an empty reply, calls the model with the conversation as context, stores the reply (saved while it is written, so another client can follow it) and answers with both.',
    body: sendBodySchema(MESSAGE_CHARS),
    headers: ['Idempotency-Key'],
    success: { json: exchangeAnswer, replayable: true },
    errors: [400, 403, 409, 410, 413, 422, 429],
  },
  'stream-message': {
    summary: 'Send a message and stream the reply as it is written',
    body: sendBodySchema(MESSAGE_CHARS),
    headers: ['Idempotency-Key'],
    success: { events: TURN_EVENTS, replayable: true },
    errors: [400, 403, 409, 410, 413, 422, 429],
  },
  'follow-reply': {
    summary: 'Follow a reply to its end, from what the client already has',
    params: messageIdParams,
    query: followQuerySchema,
    headers: ['Last-Event-ID'],
    success: { events: ['delta', 'ai_message', 'reconnect', 'error'] },
    errors: [400, 404],
  },
  'stop-reply': {
    summary: 'Stop a reply being written',
    params: messageIdParams,
    success: { json: stopAnswer },
    errors: [404],
  },
  'get-history': {
    summary: "A page of a conversation's messages",
    params: userIdParams,
    query: historyQuerySchema,
    success: { json: historyAnswer },
    errors: [400, 403],
  },
  'clear-history': {
    summary: 'Clear a conversation (it stays, empty)',
    params: userIdParams,
    query: clearQuerySchema,
    success: { json: clearAnswer },
    errors: [400, 403],
  },
  'get-rooms': {
    summary: "The caller's conversations, most recent activity first",
    query: roomsQuerySchema,
    success: { json: roomsAnswer },
    errors: [400],
  },
  'get-room': {
    summary: "A conversation's summary",
    params: roomIdParams,
    success: { json: roomAnswer },
    errors: [400, 404],
  },
  'rename-room': {
    summary: 'Give a conversation a title',
    params: roomIdParams,
    body: renameBodySchema,
    success: { json: roomAnswer },
    errors: [400, 404, 413],
  },
  'delete-room': {
    summary: 'Delete a conversation and its messages',
    params: roomIdParams,
    success: { json: deleteRoomAnswer },
    errors: [400, 404],
  },
  regenerate: {
    summary: "Replace a conversation's last reply with a new one",
    body: regenerateBodySchema,
    headers: ['Idempotency-Key'],
    success: { json: exchangeAnswer, replayable: true },
    errors: [400, 403, 409, 410, 413, 422, 429],
  },
  'regenerate-stream': {
    summary: "Replace a conversation's last reply, streaming the new one",
    body: regenerateBodySchema,
    headers: ['Idempotency-Key'],
    success: { events: TURN_EVENTS, replayable: true },
    errors: [400, 403, 409, 410, 413, 422, 429],
  },
  'export-history': {
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
  'delete-me': {
    summary: 'Delete all of my data (GDPR article 17)',
    success: { json: eraseAnswer },
    errors: [],
  },
  'put-api-key': {
    summary: 'Store my model API key (encrypted)',
    body: apiKeyBodySchema,
    success: { json: savedKeyAnswer },
    errors: [400, 413],
  },
  'get-api-key': {
    summary: 'Whether I have a stored key, and its last four characters',
    success: { json: apiKeyAnswer },
    errors: [],
  },
  'delete-api-key': {
    summary: 'Delete my stored key',
    success: { json: deletedKeyAnswer },
    errors: [],
  },
  health: {
    summary: 'Whether the service can answer',
    success: { json: healthAnswer },
    errors: [],
  },
};
