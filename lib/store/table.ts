import { createHash } from 'node:crypto';

/**
 * The single table's shape, shared by the CDK stack and the local stack so they cannot drift.
 *
 * Items (pk is always the user, so no key a client chooses can reach another user's data):
 * - `USER#{userId}` / `ROOM#{room}`: a conversation: `seq` (last sequence number handed out),
 *   `base` (the `seq` at the last clear: messages up to it are hidden), `message_count`.
 * - `USER#{userId}` / `MSG#{room}#{seq, 15 digits}`: one message.
 * - `USER#{userId}` / `REPLY#{messageId}`: where an AI message is (room and seq), so a reply can
 *   be followed or stopped by its id alone.
 * - `USER#{userId}` / `PIECE#{room}#{seq}#{n}`: what a reply being written added since its last
 *   save (expire by TTL once the reply has ended).
 * - `USER#{userId}` / `TEXT#{room}#{seq}#{i}`: a long reply's text past what its item holds.
 * - `USER#{userId}` / `ACCOUNT`: the user's KMS-encrypted API key, usage limits (the last
 *   minute's sends by second, the day's tokens) and the conversation they last sent to.
 * - `USER#{userId}` / `IDEM#{key}`: idempotency records (expire by TTL).
 * `{room}` is `roomKey(roomId)`, so it never contains `#` and one room's prefix never matches another's.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds after which DynamoDB may delete the item (idempotency records). */
  ttlAttribute: 'expires_at',
  /**
   * Sparse, keys-only index of conversations by activity: only non-empty room items carry
   * `activity` (`{time}#{room}`, set when the room becomes the user's latest), so a user's
   * rooms list newest first.
   */
  roomsIndex: { name: 'rooms-by-activity', partitionKey: 'pk', sortKey: 'activity' },
} as const;

const SEQ_DIGITS = 15;
const PIECE_DIGITS = 9;
/** Longest room id kept readable in keys (URI-encoded): sort keys hold at most 1,024 bytes. */
const MAX_ROOM_KEY = 900;

/**
 * A room id as it stands in keys: URI-encoded (so it never holds `#`), or, when that is too long
 * for a sort key (300 characters of CJK text encode to 2,700), `%%` and its SHA-256 in base64url,
 * which no URI-encoded text can be. Ids short enough keep the key they always had.
 */
export function roomKey(roomId: string): string {
  const encoded = encodeURIComponent(roomId);
  if (encoded.length <= MAX_ROOM_KEY) return encoded;
  return `%%${createHash('sha256').update(roomId, 'utf8').digest('base64url')}`;
}

/** What every conversation item's sort key begins with. */
export const ROOM_PREFIX = 'ROOM#';

export const keys = {
  user: (userId: string) => `USER#${userId}`,
  room: (roomId: string) => `${ROOM_PREFIX}${roomKey(roomId)}`,
  messagePrefix: (roomId: string) => `MSG#${roomKey(roomId)}#`,
  message: (roomId: string, seq: number) =>
    `${keys.messagePrefix(roomId)}${String(seq).padStart(SEQ_DIGITS, '0')}`,
  reply: (messageId: string) => `REPLY#${messageId}`,
  /** What is new of a reply being written, a piece per save (expire by TTL). */
  piecePrefix: (roomId: string, seq: number) =>
    `PIECE#${roomKey(roomId)}#${String(seq).padStart(SEQ_DIGITS, '0')}#`,
  piece: (roomId: string, seq: number, n: number) =>
    `${keys.piecePrefix(roomId, seq)}${String(n).padStart(PIECE_DIGITS, '0')}`,
  /** A reply's text past what its own item holds, in order. */
  overflowPrefix: (roomId: string, seq: number) =>
    `TEXT#${roomKey(roomId)}#${String(seq).padStart(SEQ_DIGITS, '0')}#`,
  overflow: (roomId: string, seq: number, i: number) =>
    `${keys.overflowPrefix(roomId, seq)}${String(i).padStart(PIECE_DIGITS, '0')}`,
  account: () => 'ACCOUNT',
  idempotency: (key: string) => `IDEM#${key}`,
};
