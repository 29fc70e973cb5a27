import type { TokenUsage } from '#adapters/model.ts';
import type {
  Child,
  MessagePart,
  MessageStatus,
  MessageType,
  StoredMessage,
} from '#chat/message.ts';

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
  /** The sequence number of the message it follows (0: the first); absent before the tree. */
  parent?: number;
  /** The first message of its run; absent before the tree (one run). */
  run?: number;
  /** On a run's first message: the path above it, runs flattened `[from, to, from, to, ...]`. */
  anc?: number[];
  /** Its children, once it has more than one. */
  kids?: ChildItem[];
  /** Its parts as JSON, when it is more than one text part (JSON: any depth, no type drift). */
  parts?: string;
  /** A user message's metadata as JSON, as given. */
  meta?: string;
  finish_reason?: string;
  first_token_ms?: number;
  duration_ms?: number;
  /** A long reply: how many `TEXT#` items hold its content and parts (then not here). */
  overflow?: number;
  /** While written: pieces numbered above this are this writing's (earlier ones are older). */
  piece_base?: number;
  /** While written: epoch ms until which someone follows it (the writer saves more often). */
  watched_until?: number;
}

/** A child as its parent's `kids` list holds it. */
export interface ChildItem {
  s: number;
  i: string;
  l?: number;
  t: number;
}

export const childItem = (child: Child): ChildItem => ({
  s: child.seq,
  i: child.id,
  ...(child.leaf === undefined ? {} : { l: child.leaf }),
  t: child.at,
});

export const childOf = (item: ChildItem): Child => ({
  seq: Number(item.s),
  id: item.i,
  ...(item.l === undefined ? {} : { leaf: Number(item.l) }),
  at: Number(item.t),
});

/** Parts worth storing beside `content`: anything but a single text part. */
export function storedParts(parts: readonly MessagePart[] | undefined): string | undefined {
  if (!parts || (parts.length === 1 && parts[0]?.type === 'text')) return undefined;
  return parts.length === 0 ? undefined : JSON.stringify(parts);
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
    parent: message.parentSeq,
    run: message.runSeq,
    anc: message.ancestry?.flat(),
    kids: message.children?.map(childItem),
    parts: storedParts(message.parts),
    meta: message.metadata ? JSON.stringify(message.metadata) : undefined,
    finish_reason: message.finishReason,
    first_token_ms: message.firstTokenMs,
    duration_ms: message.durationMs,
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
    // Before the tree, a conversation was one line: each message followed the one before it.
    parentSeq: item.parent === undefined ? Number(item.seq) - 1 : Number(item.parent),
    runSeq: item.run === undefined ? undefined : Number(item.run),
    ancestry: item.anc ? pairs(item.anc) : undefined,
    children: item.kids?.map(childOf),
    parts: item.parts ? (JSON.parse(item.parts) as MessagePart[]) : undefined,
    metadata: item.meta ? (JSON.parse(item.meta) as Record<string, unknown>) : undefined,
    finishReason: item.finish_reason,
    firstTokenMs: item.first_token_ms === undefined ? undefined : Number(item.first_token_ms),
    durationMs: item.duration_ms === undefined ? undefined : Number(item.duration_ms),
    ...(item.overflow ? { overflow: Number(item.overflow) } : {}),
    ...(item.piece_base ? { pieceBase: Number(item.piece_base) } : {}),
    ...(item.watched_until ? { watchedUntil: Number(item.watched_until) } : {}),
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

function pairs(flat: readonly unknown[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([Number(flat[i]), Number(flat[i + 1])]);
  return out;
}
