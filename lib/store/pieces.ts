import { type MessagePart, reasoningOf, type StoredMessage } from '#chat/message.ts';

/**
 * A reply while it is written is its message item (small: status, liveness, stop) plus one
 * piece item per save, holding only what was new since the save before. A save then costs write
 * units for the new text, not for the text so far, and a follower reads only the pieces it lacks.
 * Once the reply ends, its item holds it whole and the pieces expire by TTL (which costs no
 * write units). A reply too long for one item is kept whole across `TEXT#` items.
 */

/** What one save of a reply being written adds. */
export interface Piece {
  /** 1, 2, 3, ... for this reply; a follower asks for those after the last it has. */
  n: number;
  /** New text. */
  text: string;
  /** New reasoning. */
  reasoning: string;
  /** Epoch ms it was saved: a follower times its next look to the writer's next save. */
  at: number;
  /** The writer's next promise of life (epoch ms): past it, the writer counts as dead. */
  staleAfter: number;
  /** The reply has ended: its item holds it whole now. */
  end?: boolean;
}

/** A piece as its item stores it. */
export interface PieceItem {
  n: number;
  t?: string;
  r?: string;
  at: number;
  stale: number;
  end?: boolean;
  expires_at: number;
}

/** How long pieces are kept after they are written: longer than any reply is written. */
const PIECE_TTL_SECONDS = 24 * 60 * 60;

export function pieceItem(piece: Piece): PieceItem {
  return {
    n: piece.n,
    ...(piece.text ? { t: piece.text } : {}),
    ...(piece.reasoning ? { r: piece.reasoning } : {}),
    at: piece.at,
    stale: piece.staleAfter,
    ...(piece.end ? { end: true } : {}),
    expires_at: Math.floor(piece.at / 1000) + PIECE_TTL_SECONDS,
  };
}

export function pieceOf(item: PieceItem): Piece {
  return {
    n: Number(item.n),
    text: item.t ?? '',
    reasoning: item.r ?? '',
    at: Number(item.at),
    staleAfter: Number(item.stale),
    ...(item.end ? { end: true } : {}),
  };
}

/**
 * A reply being written with the pieces saved since it started: its text so far, its reasoning
 * so far (as a part before the text), and the latest promise of life.
 */
export function withPieces(message: StoredMessage, pieces: Piece[]): StoredMessage {
  if (pieces.length === 0) return message;
  const text = message.content + pieces.map((piece) => piece.text).join('');
  const reasoning = reasoningOf(message) + pieces.map((piece) => piece.reasoning).join('');
  const last = pieces.at(-1) as Piece;
  return {
    ...message,
    content: text,
    ...(reasoning ? { parts: partsOf(reasoning, text) } : {}),
    staleAfter: Math.max(message.staleAfter ?? 0, last.staleAfter),
    pieces: last.n,
  };
}

/** A reply's parts from its reasoning and its text: the reasoning first, as it was written. */
export function partsOf(reasoning: string, text: string): MessagePart[] {
  return [
    ...(reasoning ? [{ type: 'reasoning' as const, text: reasoning }] : []),
    ...(text ? [{ type: 'text' as const, text }] : []),
  ];
}

/** Most of one item a reply's text and parts may take before they move to `TEXT#` items. */
export const ITEM_BODY_BYTES = 350_000;
/** Code units per `TEXT#` item: at most 3 UTF-8 bytes each, so well inside an item. */
const OVERFLOW_UNITS = 100_000;

/** A reply's text and parts, as the `TEXT#` items of a long one hold them (in order). */
export function overflowChunks(content: string, parts: MessagePart[] | undefined): string[] {
  const body = JSON.stringify({ content, ...(parts ? { parts } : {}) });
  const chunks: string[] = [];
  let at = 0;
  while (at < body.length) {
    let end = Math.min(body.length, at + OVERFLOW_UNITS);
    // Never between the two halves of a surrogate pair.
    const code = body.charCodeAt(end - 1);
    if (end < body.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
    chunks.push(body.slice(at, end));
    at = end;
  }
  return chunks;
}

/** A long reply's text and parts, from its `TEXT#` items' chunks in order. */
export function fromOverflow(chunks: string[]): { content: string; parts?: MessagePart[] } {
  return JSON.parse(chunks.join('')) as { content: string; parts?: MessagePart[] };
}

/** Whether a reply's text and parts fit in its own item. */
export const fitsItem = (content: string, parts: string | undefined) =>
  Buffer.byteLength(content, 'utf8') + Buffer.byteLength(parts ?? '', 'utf8') <= ITEM_BODY_BYTES;
