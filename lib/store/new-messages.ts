import type { MessagePart, StoredMessage, TokenCount } from '#chat/message.ts';
import { messageId } from './message-id.ts';
import type { Run } from './path.ts';

/** What a turn hands the store: the new messages, and what they are made of. */

/** The reply about to be written: who writes it, and when its writer counts as dead. */
export interface ReplyStart {
  senderId: string;
  /** The model the reply is asked of. */
  aiModel: string;
  /** Epoch ms after which the reply counts as dead if its writer has not saved again. */
  staleAfter: number;
}

/** The question a send stores. */
export interface QuestionStart {
  senderId: string;
  content: string;
  /** Its parts, when it is more than its text. */
  parts?: MessagePart[];
  /** The client's own metadata. */
  metadata?: Record<string, unknown>;
  tokens?: TokenCount;
}

/** New messages, and what the conversation item records of them. */
export interface NewMessages {
  /**
   * The conversation already leads the user's rooms list (it had their last send), so its
   * place in the rooms index stays as it is: moving it costs two index writes.
   */
  leadsRooms?: boolean;
  /** The question; absent when only a new reply is made (a regenerate). */
  user?: QuestionStart;
  reply: ReplyStart;
  /** Becomes the conversation's title if it has none (taken from its first message). */
  title?: string;
}

/** A turn's messages as they were stored, and what its context is read from. */
export interface StartedExchange {
  /** The question the reply answers: new, or (for a regenerate) the one it had. */
  user: StoredMessage;
  /** The reply, empty and `streaming`. */
  ai: StoredMessage;
  /** The path above the question: the context is taken from it. */
  above: Run[];
  base: number;
}

/** A question as stored. */
export function question(
  roomId: string,
  seq: number,
  parentSeq: number,
  user: QuestionStart,
  now: string,
): StoredMessage {
  return {
    id: messageId(seq),
    roomId,
    seq,
    parentSeq,
    senderId: user.senderId,
    content: user.content,
    ...(user.parts ? { parts: user.parts } : {}),
    ...(user.metadata ? { metadata: user.metadata } : {}),
    ...(user.tokens ? { tokens: user.tokens } : {}),
    messageType: 'user',
    status: 'complete',
    createdAt: now,
    updatedAt: now,
  };
}

/** A reply as it is stored before the model is asked: empty, `streaming`. */
export function emptyReply(
  roomId: string,
  seq: number,
  parentSeq: number,
  reply: ReplyStart,
  now: string,
): StoredMessage {
  return {
    id: messageId(seq),
    roomId,
    seq,
    parentSeq,
    senderId: reply.senderId,
    content: '',
    messageType: 'ai',
    status: 'streaming',
    aiModel: reply.aiModel,
    createdAt: now,
    updatedAt: now,
    staleAfter: reply.staleAfter,
  };
}
