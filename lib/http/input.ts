import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { z } from 'zod';
import { followQuerySchema, lastEventIdSchema, MESSAGE_ID, roomIdSchema } from '#api/schemas.ts';
import { NO_SUCH_REPLY } from '#chat/wording.ts';
import {
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
} from '#commons/errors.ts';
import { header } from './middleware.ts';

/** Parses and validates a JSON body: 413 when too large, 400 when malformed or invalid. */
export function parseBody<T extends z.ZodType>(
  event: APIGatewayProxyEvent,
  schema: T,
  maxBytes: number,
): z.output<T> {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new PayloadTooLargeError(`Request body is too large: at most ${maxBytes} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BadRequestError('Request body must be valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BadRequestError('Request body must be a JSON object');
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue?.code === 'too_big') throw new PayloadTooLargeError(issue.message);
  throw new BadRequestError(issue?.message ?? 'Invalid request body');
}

/** Parses and validates the query string: 400 on the first bad value. */
export function parseQuery<T extends z.ZodType>(
  event: APIGatewayProxyEvent,
  schema: T,
): z.output<T> {
  const result = schema.safeParse(event.queryStringParameters ?? {});
  if (result.success) return result.data;
  throw new BadRequestError(result.error.issues[0]?.message ?? 'Invalid query string');
}

/** The user id a route names must be the caller's own: 403 otherwise. */
export function requireSelf(named: string | undefined, userId: string, message: string): void {
  if (named !== undefined && named !== userId) throw new ForbiddenError(message);
}

/** The `{messageId}` path parameter: 404 when it cannot be an id at all. */
export function messageIdParam(event: APIGatewayProxyEvent): string {
  const id = event.pathParameters?.messageId ?? '';
  if (!MESSAGE_ID.test(id)) throw new NotFoundError(NO_SUCH_REPLY);
  return id;
}

/**
 * How much of a reply the client already has, in code points: `?offset=N` (and
 * `?reasoning_offset=N`), or the `Last-Event-ID` a reconnecting EventSource sends (the query
 * wins); 0 when neither.
 */
export function resumeOffset(event: APIGatewayProxyEvent): {
  offset: number;
  reasoningOffset?: number;
} {
  const { offset, reasoning_offset } = parseQuery(event, followQuerySchema);
  if (offset !== undefined || reasoning_offset !== undefined) {
    return {
      offset: offset ?? 0,
      ...(reasoning_offset === undefined ? {} : { reasoningOffset: reasoning_offset }),
    };
  }
  const result = lastEventIdSchema.safeParse(header(event, 'last-event-id'));
  if (!result.success) throw new BadRequestError('Last-Event-ID must be an offset this API sent');
  return result.data ?? { offset: 0 };
}

/** The `{roomId}` path parameter, checked like a `room_id` anywhere else (400 when bad). */
export function roomIdParam(event: APIGatewayProxyEvent): string {
  const result = roomIdSchema.safeParse(event.pathParameters?.roomId ?? '');
  if (!result.success) throw new BadRequestError(result.error.issues[0]?.message ?? 'Bad room_id');
  return result.data;
}
