import type { APIGatewayProxyEvent } from 'aws-lambda';
import { defaultRoomId, regenerateBodySchema, sendBodySchema, textOfInput } from '#api/schemas.ts';
import { idempotencyKey } from '#chat/idempotency.ts';
import type { MessagePart } from '#chat/message.ts';
import type { RegenerateRequest, SendRequest } from '#chat/turn.ts';
import { httpSettings } from '#commons/config.ts';
import { parseBody, requireSelf } from './input.ts';
import { header } from './middleware.ts';

export interface ParsedSend {
  request: SendRequest;
  /** The `Idempotency-Key` header, checked, when the client sent one. */
  key: string | undefined;
}

/**
 * What send and stream both read from a request: the body (400/413 when bad), the caller's own
 * `user_id` (403 otherwise), the room (default `ai_chat_{userId}`) and the idempotency key.
 */
export function sendRequestParser(): (event: APIGatewayProxyEvent, userId: string) => ParsedSend {
  const { MAX_MESSAGE_CHARS, MAX_BODY_BYTES } = httpSettings();
  const schema = sendBodySchema(MAX_MESSAGE_CHARS);
  return function parseSendRequest(event, userId) {
    const body = parseBody(event, schema, MAX_BODY_BYTES);
    requireSelf(body.user_id, userId, 'Unauthorized');
    // `message` is the first text part, then the parts as given.
    const parts: MessagePart[] = [
      ...(body.message === undefined ? [] : [{ type: 'text' as const, text: body.message }]),
      ...((body.parts ?? []) as MessagePart[]),
    ];
    return {
      request: {
        userId,
        roomId: body.room_id ?? defaultRoomId(userId),
        content: textOfInput(body),
        ...(parts.length === 1 && parts[0]?.type === 'text' ? {} : { parts }),
        ...(body.metadata ? { metadata: body.metadata } : {}),
        ...(body.edit_of ? { editOf: body.edit_of } : {}),
        ...(body.parent_id ? { parentId: body.parent_id } : {}),
        model: body.model,
      },
      key: idempotencyKey(header(event, 'idempotency-key')),
    };
  };
}

/** What regenerate (and its stream) reads: the room (default `ai_chat_{userId}`), the model, the key. */
export function regenerateRequestParser(): (
  event: APIGatewayProxyEvent,
  userId: string,
) => { request: RegenerateRequest; key: string | undefined } {
  const { MAX_BODY_BYTES } = httpSettings();
  return function parseRegenerateRequest(event, userId) {
    const body = parseBody(event, regenerateBodySchema, MAX_BODY_BYTES);
    requireSelf(body.user_id, userId, 'Unauthorized');
    return {
      request: {
        userId,
        roomId: body.room_id ?? defaultRoomId(userId),
        model: body.model,
        ...(body.message_id ? { messageId: body.message_id } : {}),
      },
      key: idempotencyKey(header(event, 'idempotency-key')),
    };
  };
}
