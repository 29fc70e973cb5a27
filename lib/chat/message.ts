import type { TokenUsage } from '#adapters/model.ts';

/** A conversation's messages, as the rules see them (the table's items are `lib/store/`'s). */

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

/** A question and its reply, adjacent in their conversation. */
export interface Exchange {
  user: StoredMessage;
  ai: StoredMessage;
}
