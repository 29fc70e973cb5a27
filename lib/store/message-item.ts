import type { TokenUsage } from '../model.ts';

export type MessageType = 'user' | 'ai';

/**
 * Where a message is in its life. User messages are always `complete`; an AI message is
 * `streaming` from the moment the model is called until it ends `complete`, `stopped` (its
 * owner stopped it) or `error` (the model failed, or its writer died).
 */
export type MessageStatus = 'streaming' | 'complete' | 'stopped' | 'error';

/** A message as stored: its id, its place in the conversation, its text and its state. */
export interface StoredMessage {
  /** A ULID: unique even for messages written in the same millisecond. */
  id: string;
  roomId: string;
  /** Position in the conversation, 1-based, never reused; gives a stable order. */
  seq: number;
  senderId: string;
  content: string;
  messageType: MessageType;
  status: MessageStatus;
  /** The model that wrote an AI message, or `error` for a stored fallback reply. */
  aiModel?: string;
  /** Token usage the upstream reported for an AI message. */
  usage?: TokenUsage;
  /** An AI reply cut short by an upstream failure after it had written some text. */
  partial?: boolean;
  /** ISO 8601: when the message took its place. */
  createdAt: string;
  /** ISO 8601: the last write (a reply's text is saved while it is written). */
  updatedAt: string;
  /**
   * Epoch ms after which a `streaming` reply whose writer has not written again is taken as
   * dead: readers report it, and may settle it, as `error`.
   */
  staleAfter?: number;
  /** Its owner asked to stop it; the writer stops at its next save. */
  stopRequested?: boolean;
  /** Its exact token count in an encoding, when the writer had the encoder at hand. */
  tokens?: TokenCount;
}

export interface TokenCount {
  encoding: string;
  count: number;
}

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

export function usageItem(usage: TokenUsage): NonNullable<MessageItem['usage']> {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
  };
}

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

/**
 * The status a reader should act on: a `streaming` reply past its `staleAfter` has a dead
 * writer and is reported as `error`, so nothing waits on it for ever.
 */
export function effectiveStatus(message: StoredMessage, now = Date.now()): MessageStatus {
  if (
    message.status === 'streaming' &&
    message.staleAfter !== undefined &&
    now > message.staleAfter
  )
    return 'error';
  return message.status;
}
