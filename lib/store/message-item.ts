import type { TokenUsage } from '#adapters/model.ts';
import type { MessageStatus, MessageType, StoredMessage } from '#chat/message.ts';

/** The item's attributes (snake_case, as README's data layout lists them). */
export interface MessageItem {
  id: string;
  room_id: string;
  seq: number;
  sender_id: string;
  content: string;
  message_type: MessageType;
  status?: MessageStatus;
  ai_model?: string;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  partial?: boolean;
  created_at: string;
  updated_at?: string;
  stale_after?: number;
  stop_requested?: string;
  tokens?: number;
  tokens_encoding?: string;
}

/** A message as its item stores it. */
export function toItem(message: StoredMessage): MessageItem {
  return {
    id: message.id,
    room_id: message.roomId,
    seq: message.seq,
    sender_id: message.senderId,
    content: message.content,
    message_type: message.messageType,
    status: message.status,
    ai_model: message.aiModel,
    usage: message.usage && usageItem(message.usage),
    partial: message.partial || undefined,
    created_at: message.createdAt,
    updated_at: message.updatedAt,
    stale_after: message.staleAfter,
    tokens: message.tokens?.count,
    tokens_encoding: message.tokens?.encoding,
  };
}

/** Token usage as an item stores it. */
export function usageItem(usage: TokenUsage): NonNullable<MessageItem['usage']> {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
  };
}

/** A message from its item. */
export function fromItem(item: MessageItem): StoredMessage {
  return {
    id: item.id,
    roomId: item.room_id,
    seq: Number(item.seq),
    senderId: item.sender_id,
    content: item.content,
    messageType: item.message_type,
    // Messages written before statuses existed were complete when written.
    status: item.status ?? 'complete',
    aiModel: item.ai_model,
    usage: item.usage && {
      promptTokens: Number(item.usage.prompt_tokens),
      completionTokens: Number(item.usage.completion_tokens),
      totalTokens: Number(item.usage.total_tokens),
    },
    partial: item.partial || undefined,
    createdAt: item.created_at,
    updatedAt: item.updated_at ?? item.created_at,
    staleAfter: item.stale_after === undefined ? undefined : Number(item.stale_after),
    stopRequested: item.stop_requested !== undefined || undefined,
    tokens:
      item.tokens !== undefined && item.tokens_encoding
        ? { encoding: item.tokens_encoding, count: Number(item.tokens) }
        : undefined,
  };
}
