import type { TokenUsage } from '#adapters/model.ts';

/** A conversation's messages, as the rules see them (the table's items are `lib/store/`'s). */

export type MessageType = 'user' | 'ai';

/**
 * Where a message is in its life. User messages are always `complete`; an AI message is
 * `streaming` from the moment the model is called until it ends `complete`, `stopped` (its
 * owner stopped it) or `error` (the model failed, or its writer died).
 */
export type MessageStatus = 'streaming' | 'complete' | 'stopped' | 'error';

/**
 * A typed piece of a message, as the API shows it. A message's `content` is its text parts
 * joined; reasoning is never in it.
 */
export type MessagePart =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  | {
      type: 'file';
      media_type: string;
      filename?: string;
      file_id?: string;
      url?: string;
      size?: number;
    }
  | { type: 'source-url'; url: string; title?: string }
  | { type: 'tool-call'; tool_call_id: string; name: string; input: unknown }
  | { type: 'tool-result'; tool_call_id: string; output: unknown }
  | { type: `data-${string}`; data: unknown };

/** How text parts are joined into `content`: as the AI SDK reads a message's text. */
export const PART_SEPARATOR = '';

/** A message's text: its text parts joined. */
export const textOf = (parts: readonly MessagePart[]) =>
  parts
    .flatMap((part) => (part.type === 'text' ? [(part as { text: string }).text] : []))
    .join(PART_SEPARATOR);

/** The reasoning a message's parts hold. */
export const reasoningOf = (message: { parts?: readonly MessagePart[] }) =>
  (message.parts ?? [])
    .flatMap((part) => (part.type === 'reasoning' ? [(part as { text: string }).text] : []))
    .join('');

/** One of a message's children, as its parent lists them (only once it has more than one). */
export interface Child {
  seq: number;
  id: string;
  /** The leaf of the path last followed through this child, when the path left it. */
  leaf?: number;
  /** Epoch ms it was last made the way to follow. */
  at: number;
}

/** What a reply says of itself once it ends: the model's account of the call. */
export interface ReplyFacts {
  finishReason?: string;
  /** Milliseconds from the call to the first piece of text. */
  firstTokenMs?: number;
  /** Milliseconds from the call to its end. */
  durationMs?: number;
}

/** A message as stored: its id, its place in the conversation, its text and its state. */
export interface StoredMessage extends ReplyFacts {
  /** A ULID carrying the message's sequence number: unique, found from its conversation. */
  id: string;
  roomId: string;
  /** Position in the conversation, 1-based, never reused; gives a stable order. */
  seq: number;
  /**
   * The sequence number of the message it follows; 0 (or anything at or below the
   * conversation's `base`) for a conversation's first message.
   */
  parentSeq: number;
  /**
   * The first message of the run it was written in (messages written one after another on one
   * branch); undefined for messages written before the tree, which are one run.
   */
  runSeq?: number;
  /** On a run's first message: the path above it, as runs of sequence numbers. */
  ancestry?: (readonly [number, number])[];
  /** Its children, once it has more than one (or one that does not follow it directly). */
  children?: Child[];
  senderId: string;
  content: string;
  /** Its typed parts; undefined when it is just its `content` as one text part. */
  parts?: MessagePart[];
  /** A user message's own metadata, as the client gave it. */
  metadata?: Record<string, unknown>;
  /** Set when the message is shown: the id of the message it follows (null for the first). */
  parentId?: string | null;
  /** Set when the message is shown: the versions at its place, itself included, oldest first. */
  siblingIds?: string[];
  /** A long reply whose text is kept in this many items beyond its own (read whole). */
  overflow?: number;
  /** While written: the number of the last piece its text so far includes. */
  pieces?: number;
  /** While written: pieces numbered above this one are this writing's. */
  pieceBase?: number;
  /** While written: epoch ms until which someone follows it. */
  watchedUntil?: number;
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
