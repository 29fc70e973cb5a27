import type * as z from 'zod';
import type { messageSchema, roomDetailsSchema, roomSchema } from '#api/schemas.ts';
import { effectiveStatus } from '#chat/liveness.ts';
import type { Exchange, StoredMessage } from '#chat/message.ts';
import type { ApiKeyRecord } from '#store/accounts.ts';
import type { RoomDetails, RoomSummary } from '#store/room-item.ts';

type MessageView = z.output<typeof messageSchema>;

/**
 * A message as the frontend reads it: the seed's fields, plus `room_id`, `status` (a reply whose
 * writer died reads as `error`), its place in the tree (`parent_id`, `sibling_ids`), its
 * `parts` and `metadata`, and for AI messages `ai_model`, `usage` and `partial`.
 */
export function messageView(message: StoredMessage): MessageView {
  return {
    id: message.id,
    sender_id: message.senderId,
    content: message.content,
    timestamp: message.createdAt,
    message_type: message.messageType,
    created_at: message.createdAt,
    room_id: message.roomId,
    status: effectiveStatus(message),
    ...(message.aiModel ? { ai_model: message.aiModel } : {}),
    ...(message.usage
      ? {
          usage: {
            prompt_tokens: message.usage.promptTokens,
            completion_tokens: message.usage.completionTokens,
            total_tokens: message.usage.totalTokens,
          },
        }
      : {}),
    ...(message.partial ? { partial: true as const } : {}),
    parent_id: message.parentId ?? null,
    sibling_ids: message.siblingIds ?? [message.id],
    parts: (message.parts ??
      (message.content ? [{ type: 'text', text: message.content }] : [])) as MessageView['parts'],
    metadata: metadataOf(message),
  };
}

/** A question's metadata is its client's; a reply's is the model's account of the call. */
function metadataOf(message: StoredMessage): Record<string, unknown> {
  if (message.messageType === 'user') return message.metadata ?? {};
  return {
    ...(message.aiModel ? { model: message.aiModel } : {}),
    ...(message.usage
      ? {
          usage: {
            prompt_tokens: message.usage.promptTokens,
            completion_tokens: message.usage.completionTokens,
          },
        }
      : {}),
    ...(message.finishReason ? { finish_reason: message.finishReason } : {}),
    ...(message.firstTokenMs === undefined ? {} : { first_token_ms: message.firstTokenMs }),
    ...(message.durationMs === undefined ? {} : { duration_ms: message.durationMs }),
    ...(message.metadata ?? {}),
  };
}

/** A send's answer (also what an idempotent repeat replays): both stored messages. */
export function exchangeView({ user, ai }: Exchange) {
  return { user_message: messageView(user), ai_message: messageView(ai) };
}

/** A conversation in the rooms list. */
export function roomView(room: RoomSummary): z.output<typeof roomSchema> {
  return {
    room_id: room.roomId,
    title: room.title,
    message_count: room.messageCount,
    last_message_at: room.lastMessageAt,
    last_message_preview: room.lastMessagePreview,
  };
}

/** A conversation's own page: its summary, whose title, and its times. */
export function roomDetailsView(room: RoomDetails): z.output<typeof roomDetailsSchema> {
  return {
    ...roomView(room),
    title_source: room.titled ? ('user' as const) : ('automatic' as const),
    created_at: room.createdAt,
    updated_at: room.updatedAt,
    active_leaf_id: room.activeLeafId ?? null,
  };
}

/** What settings may show of a stored key: never the key. */
export function apiKeyView(record: ApiKeyRecord | undefined) {
  return {
    has_key: record !== undefined,
    last4: record?.last4 ?? null,
    updated_at: record?.updatedAt ?? null,
  };
}
