import * as z from 'zod';
import { codePoints } from '#commons/text.ts';

/**
 * Every input the API takes, declared once. Messages are the client-facing error text.
 * Query values arrive as strings; bodies as parsed JSON.
 */

/**
 * Builds a module-level schema when the module loads, marked free of side effects so that the
 * bundler drops every schema a function does not use. zod's builder methods (`.meta()`,
 * `.default()`) are not known to be pure, so without this every function built every schema
 * here at its cold start (about 290 zod objects). esbuild honours the mark only within a file,
 * hence a copy in `lib/commons/config.ts`.
 */
/* @__NO_SIDE_EFFECTS__ */
function declare<T>(build: () => T): T {
  return build();
}

/** The most messages one history page returns; a larger `limit` is clamped to it. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;

/** Longest room id, in characters: the default `ai_chat_{userId}` of the longest subject fits. */
export const MAX_ROOM_ID_CHARS = 300;
/** Control characters (C0, DEL, C1) and the line and paragraph separators: never in an id. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;

/**
 * Room ids: any text of 1-300 characters without control characters, so that every id the
 * service makes (`ai_chat_auth0|abc`, `ai_chat_josé@example.com`) can be named back. Keys
 * hold them URI-encoded (or hashed, when long: `roomKey`), so no id can reach into another's
 * keys; logs never hold them.
 */
export const roomIdSchema = declare(() =>
  z
    .string({ error: 'room_id must be a string' })
    .refine(
      (value) => value.length > 0 && codePoints(value) <= MAX_ROOM_ID_CHARS,
      `room_id must be 1-${MAX_ROOM_ID_CHARS} characters`,
    )
    .refine((value) => !CONTROL.test(value), 'room_id must not contain control characters')
    .refine((value) => value.isWellFormed(), 'room_id must be valid Unicode text')
    .meta({
      minLength: 1,
      maxLength: MAX_ROOM_ID_CHARS,
      description: 'A conversation: 1-300 characters without control characters',
    }),
);

/** The seed's default conversation for a user. */
export const defaultRoomId = (userId: string) => `ai_chat_${userId}`;

const positiveInt = (name: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${name} must be a positive integer`)
    .transform(Number)
    .refine((value) => value >= 1, `${name} must be a positive integer`);

/** What send and regenerate both take besides the message: the room, the seed's user, a model. */
const turnFields = () => ({
  room_id: roomIdSchema.optional(),
  user_id: z.string({ error: 'user_id must be a string' }).optional(),
  model: z
    .string({ error: 'model must be a string' })
    .min(1, 'model must not be empty')
    .max(200, 'model must be one of the allowed models')
    .optional(),
});

/** A message id in a body or path: a ULID, or at least something that could be one. */
export const MESSAGE_ID = /^[0-9A-Za-z]{1,64}$/;

const messageIdField = (name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .regex(MESSAGE_ID, `${name} must be a message id`)
    .meta({ description: `A message id of this conversation` });

/** The most a client's own metadata may take, as JSON, in bytes (413 above). */
export const MAX_METADATA_BYTES = 4_096;
/** The most parts one message may be sent with. */
export const MAX_PARTS = 20;

/** A client's own JSON object, kept with its message and returned as given. */
const metadataSchema = declare(() =>
  z
    .record(z.string(), z.unknown(), { error: 'metadata must be a JSON object' })
    .superRefine((value, ctx) => {
      if (Buffer.byteLength(JSON.stringify(value), 'utf8') > MAX_METADATA_BYTES) {
        ctx.addIssue({
          code: 'too_big',
          origin: 'string',
          maximum: MAX_METADATA_BYTES,
          inclusive: true,
          message: `metadata is too large: at most ${MAX_METADATA_BYTES} bytes of JSON`,
        });
      }
    })
    .meta({ description: `Any JSON object of at most ${MAX_METADATA_BYTES} bytes` }),
);

/** A part a client may send: text, or an app's own data (`data-<name>`). */
const inputPartSchema = declare(() =>
  z.union(
    [
      z.object({ type: z.literal('text'), text: z.string({ error: 'a text part needs text' }) }),
      z.object({
        type: z.string().regex(/^data-[A-Za-z0-9_-]{1,64}$/, 'a part is text or data-<name>'),
        data: z.unknown(),
      }),
    ],
    { error: 'parts must be text parts ({ type: "text", text }) or data-<name> parts' },
  ),
);

/** `POST /api/chat/ai/send`. */
export const sendBodySchema = (maxChars: number) =>
  z
    .object({
      message: z
        .string({ error: 'message must be a string' })
        .optional()
        .meta({
          maxLength: maxChars,
          description: `At most MAX_MESSAGE_CHARS (${maxChars}) characters with the text parts, else 413; not blank unless \`parts\` has text`,
        }),
      parts: z
        .array(inputPartSchema, { error: 'parts must be an array' })
        .max(MAX_PARTS, `at most ${MAX_PARTS} parts`)
        .optional()
        .meta({ description: 'Typed parts, sent instead of or with `message`' }),
      metadata: metadataSchema.optional(),
      edit_of: messageIdField('edit_of')
        .optional()
        .meta({ description: 'A question of this conversation: the new one is its new version' }),
      parent_id: messageIdField('parent_id')
        .optional()
        .meta({ description: 'A reply of this conversation: the new question follows it' }),
      ...turnFields(),
    })
    .superRefine((body, ctx) => {
      const text = textOfInput(body);
      if (text.trim().length === 0) {
        ctx.addIssue({ code: 'custom', message: 'Message is required', path: ['message'] });
      } else if (codePoints(text) > maxChars) {
        ctx.addIssue({
          code: 'too_big',
          origin: 'string',
          maximum: maxChars,
          inclusive: true,
          message: `message is too long: at most ${maxChars} characters`,
        });
      }
      if (body.edit_of !== undefined && body.parent_id !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'Give edit_of or parent_id, not both' });
      }
    });

/** A send's text: `message`, then its text parts, joined as a message's content is. */
export function textOfInput(body: {
  message?: string;
  parts?: readonly { type: string; text?: string }[];
}): string {
  const texts = [
    ...(body.message === undefined ? [] : [body.message]),
    ...(body.parts ?? []).flatMap((part) => (part.type === 'text' ? [part.text ?? ''] : [])),
  ];
  return texts.join('');
}

const pageSize = (fallback: number) =>
  positiveInt('limit')
    .transform((value) => Math.min(value, MAX_PAGE_SIZE))
    .default(fallback);

const cursorSchema = declare(() =>
  z.string().min(1, 'cursor must not be empty').max(1024, 'cursor is invalid'),
);

/** `GET /api/chat/ai/history/{userId}`. */
export const historyQuerySchema = declare(() =>
  z.object({
    page: positiveInt('page')
      .default(1)
      .meta({ description: '1-based (default 1); ignored when `cursor` is given' }),
    limit: pageSize(DEFAULT_PAGE_SIZE).meta({
      description: `Default ${DEFAULT_PAGE_SIZE}; above ${MAX_PAGE_SIZE} is clamped`,
    }),
    room_id: roomIdSchema.optional().meta({ description: 'Default `ai_chat_{userId}`' }),
    order: z
      .enum(['asc', 'desc'], { error: 'order must be "asc" or "desc"' })
      .default('asc')
      .meta({ description: '`asc` (default): page 1 is the oldest; `desc`: the newest' }),
    cursor: cursorSchema
      .optional()
      .meta({ description: 'A `next_cursor` from an earlier page of the same order' }),
  }),
);

/** `GET /api/chat/ai/rooms`. */
export const roomsQuerySchema = declare(() =>
  z.object({
    limit: pageSize(20),
    cursor: cursorSchema.optional(),
  }),
);

/** `PATCH /api/chat/ai/rooms/{roomId}`. */
export const renameBodySchema = declare(() =>
  z.object({
    title: z
      .string({
        error: (issue) =>
          issue.input === undefined ? 'title is required' : 'title must be a string',
      })
      .transform((value) => value.trim())
      .refine((value) => value.length > 0 && codePoints(value) <= 200, {
        message: 'title must be 1-200 characters (after trimming)',
      })
      .refine((value) => !CONTROL.test(value), 'title must not contain control characters'),
  }),
);

/** `POST /api/chat/ai/regenerate` (and its stream). */
export const regenerateBodySchema = declare(() =>
  z.object({
    ...turnFields(),
    message_id: messageIdField('message_id')
      .optional()
      .meta({ description: 'The reply to make a new version of; default the active leaf' }),
  }),
);

/** `PUT /api/chat/ai/rooms/{roomId}/active`. */
export const activeBodySchema = declare(() =>
  z.object({
    message_id: messageIdField('message_id').meta({
      description: 'Any message of this conversation: the path through it becomes active',
    }),
  }),
);

/** `GET /api/chat/ai/export`. */
export const exportQuerySchema = declare(() =>
  z.object({
    format: z
      .enum(['jsonl', 'markdown'], { error: 'format must be "jsonl" or "markdown"' })
      .default('jsonl'),
    room_id: roomIdSchema.optional(),
    branches: z
      .enum(['active', 'all'], { error: 'branches must be "active" or "all"' })
      .default('active')
      .meta({
        description: '`active` (default): the active path; `all`: every message of every branch',
      }),
  }),
);

/** `DELETE /api/chat/ai/history/{userId}`. */
export const clearQuerySchema = declare(() =>
  z.object({
    room_id: roomIdSchema.optional(),
  }),
);

const offsetSchema = declare(() =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'offset must be a non-negative integer (characters already received)')
    .transform(Number),
);

/** `GET /api/chat/ai/stream/{messageId}`: `offset`, or the standard `Last-Event-ID` header. */
export const followQuerySchema = declare(() =>
  z.object({
    offset: offsetSchema.optional(),
    reasoning_offset: offsetSchema.optional().meta({
      description: 'Code points of reasoning already received (default: all, once text came)',
    }),
  }),
);

/**
 * `Last-Event-ID`: the `id` of the last event received: a `delta`'s is the text's length, a
 * `reasoning` event's `r` and the reasoning's length.
 */
export const lastEventIdSchema = declare(() =>
  z
    .string()
    .regex(/^r?\d{1,9}$/, 'Last-Event-ID must be an id this API sent')
    .transform((value) =>
      value.startsWith('r')
        ? { offset: 0, reasoningOffset: Number(value.slice(1)) }
        : { offset: Number(value) },
    )
    .optional(),
);

/** The path parameters of the routes on a user, a conversation, a reply. */
export const userIdParams = declare(() =>
  z.object({ userId: z.string().meta({ description: "The caller's user id" }) }),
);
export const roomIdParams = declare(() =>
  z.object({ roomId: roomIdSchema.meta({ description: 'The room id, URI-encoded' }) }),
);
export const messageIdParams = declare(() =>
  z.object({ messageId: z.string().regex(MESSAGE_ID).meta({ description: 'An AI message id' }) }),
);

/** `PUT /api/chat/ai/api-key`. */
export const apiKeyBodySchema = declare(() =>
  z.object({
    api_key: z
      .string({
        error: (issue) =>
          issue.input === undefined ? 'api_key is required' : 'api_key must be a string',
      })
      .regex(/^\S{8,512}$/, 'api_key must be 8-512 characters with no spaces'),
  }),
);

export * from './answers.ts';
