import * as z from 'zod';

/**
 * Builds a module-level schema when the module loads, marked free of side effects so that the
 * bundler drops every schema a function does not use. zod's builder methods (`.meta()`,
 * `.default()`) are not known to be pure, so without this every function built every schema
 * here at its cold start (about 290 zod objects). esbuild honours the mark only within a file,
 * hence copies in `schemas.ts` and `lib/commons/config.ts`.
 */
/* @__NO_SIDE_EFFECTS__ */
function declare<T>(build: () => T): T {
  return build();
}

/*
 * Responses, declared once: `ok()` takes the schema of what it sends, so a view or handler that
 * drifts from the contract does not compile, and the OpenAPI document is made from these.
 */

const iso = () => z.string().meta({ format: 'date-time' });
const count = () => z.number().int().nonnegative();

export const usageSchema = declare(() =>
  z.object({
    prompt_tokens: count(),
    completion_tokens: count(),
    total_tokens: count(),
  }),
);

/** A typed part of a message, as the API shows it (validated with the same schemas it is sent in). */
export const partSchema = declare(() =>
  z
    .union([
      z.object({ type: z.literal('text'), text: z.string() }),
      z.object({ type: z.literal('reasoning'), text: z.string() }),
      z.object({
        type: z.literal('file'),
        media_type: z.string(),
        filename: z.string().optional(),
        file_id: z.string().optional(),
        url: z.string().optional(),
        size: count().optional(),
      }),
      z.object({ type: z.literal('source-url'), url: z.string(), title: z.string().optional() }),
      z.object({
        type: z.literal('tool-call'),
        tool_call_id: z.string(),
        name: z.string(),
        input: z.unknown(),
      }),
      z.object({ type: z.literal('tool-result'), tool_call_id: z.string(), output: z.unknown() }),
      z.object({ type: z.string().regex(/^data-/), data: z.unknown() }),
    ])
    .meta({ id: 'Part' }),
);

export const messageSchema = declare(() =>
  z
    .object({
      id: z.string().meta({ description: 'A ULID' }),
      sender_id: z.string().meta({ description: 'The user id, or `ai-assistant`' }),
      content: z.string().meta({ description: 'The text parts joined; never the reasoning' }),
      timestamp: iso(),
      message_type: z.enum(['user', 'ai']),
      created_at: iso(),
      room_id: z.string(),
      status: z
        .enum(['streaming', 'complete', 'stopped', 'error'])
        .meta({ description: 'User messages are always `complete`' }),
      ai_model: z.string().optional().meta({ description: 'AI messages: the model, or `error`' }),
      usage: usageSchema.optional(),
      partial: z
        .literal(true)
        .optional()
        .meta({ description: 'A reply cut short by a failing model, after some text' }),
      parent_id: z
        .string()
        .nullable()
        .meta({ description: 'The message it follows; null for the first' }),
      sibling_ids: z.array(z.string()).meta({
        description: 'The versions at its place, itself included, in the order they were made',
      }),
      parts: z.array(partSchema),
      metadata: z.record(z.string(), z.unknown()).meta({
        description:
          'A question: the client’s own metadata. A reply: model, usage, finish_reason, first_token_ms, duration_ms',
      }),
    })
    .meta({ id: 'Message' }),
);

export const errorSchema = declare(() =>
  z.object({ success: z.literal(false), error: z.string() }).meta({ id: 'Error' }),
);

const answer = <T extends z.ZodRawShape>(id: string, shape: T) =>
  z.object({ success: z.literal(true), ...shape }).meta({ id });

export const exchangeAnswer = declare(() =>
  answer('Exchange', {
    user_message: messageSchema,
    ai_message: messageSchema,
  }),
);

export const historyAnswer = declare(() =>
  answer('HistoryPage', {
    messages: z.array(messageSchema),
    pagination: z.object({
      page: count(),
      limit: count(),
      total: count(),
      has_more: z.boolean(),
      next_cursor: z.string().nullable(),
    }),
  }),
);

export const roomSchema = declare(() =>
  z
    .object({
      room_id: z.string(),
      title: z.string(),
      message_count: count(),
      last_message_at: z.string(),
      last_message_preview: z.string().meta({ description: 'The start of the latest question' }),
    })
    .meta({ id: 'Room' }),
);

export const roomsAnswer = declare(() =>
  answer('RoomsPage', {
    rooms: z.array(roomSchema),
    pagination: z.object({
      limit: count(),
      has_more: z.boolean(),
      next_cursor: z.string().nullable(),
    }),
  }),
);

export const roomDetailsSchema = declare(() =>
  roomSchema
    .extend({
      title_source: z.enum(['user', 'automatic']),
      created_at: iso(),
      updated_at: iso(),
      active_leaf_id: z
        .string()
        .nullable()
        .meta({ description: 'The last message of the active path; null when empty' }),
    })
    .meta({ id: 'RoomDetails' }),
);

export const roomAnswer = declare(() => answer('RoomAnswer', { room: roomDetailsSchema }));

export const clearAnswer = declare(() =>
  answer('Cleared', { message: z.string(), deleted_count: count() }),
);

export const deleteRoomAnswer = declare(() => answer('RoomDeleted', { deleted_count: count() }));

const keyFields = declare(() => ({
  has_key: z.boolean(),
  last4: z.string().nullable(),
  updated_at: iso().nullable(),
}));

export const apiKeyAnswer = declare(() => answer('ApiKey', keyFields));

export const savedKeyAnswer = declare(() =>
  answer('ApiKeySaved', { message: z.string(), ...keyFields }),
);

export const deletedKeyAnswer = declare(() =>
  answer('ApiKeyDeleted', {
    message: z.string(),
    deleted: z.boolean(),
  }),
);

export const stopAnswer = declare(() =>
  answer('Stopped', {
    stopped: z.boolean().meta({ description: 'false: the reply had already ended' }),
    message: messageSchema,
  }),
);

export const eraseAnswer = declare(() =>
  answer('Erased', {
    message: z.string(),
    deleted: z.object({ conversations: count(), messages: count(), api_key: z.boolean() }),
    complete: z.boolean().meta({ description: 'false: call again to finish' }),
  }),
);

export const healthAnswer = declare(() => answer('Health', { status: z.literal('ok') }));

export const healthFailure = declare(() =>
  z
    .object({
      success: z.literal(false),
      error: z.string(),
      status: z.literal('misconfigured').optional(),
    })
    .meta({ id: 'HealthFailure' }),
);

/** The events of the streaming routes, by name: what each `data:` line holds. */
export const streamEvents = declare(() => ({
  user_message: messageSchema,
  ai_message_started: messageSchema,
  delta: z.object({ content: z.string() }),
  reasoning: z.object({ content: z.string() }),
  ai_message: messageSchema,
  error: z.object({ error: z.string() }),
  reconnect: z.object({ offset: count() }),
}));

/** The events of a turn's stream (send's, regenerate's), in the order they come. */
export const TURN_EVENTS: (keyof typeof streamEvents)[] = [
  'user_message',
  'ai_message_started',
  'reasoning',
  'delta',
  'ai_message',
  'error',
];
