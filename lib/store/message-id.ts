import { randomBytes } from 'node:crypto';

/**
 * Message ids: ULIDs (26 characters of Crockford's base32, sortable by time) whose first 40 random
 * bits are the message's sequence number in its conversation. A message is then found by its id
 * and its conversation with one read of its own item, with no index and no pointer item; the id
 * read back from that item must match, so a made-up id finds nothing. Ids made before this scheme
 * (plain ULIDs) decode to a number that names no message, and are found another way.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const SEQ_CHARS = 8;
const RANDOM_CHARS = 8;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

function encode(value: number, chars: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < chars; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/** A new id for the message at `seq`. */
export function messageId(seq: number, now = Date.now()): string {
  const random = randomBytes(5).readUIntBE(0, 5);
  return encode(now, TIME_CHARS) + encode(seq, SEQ_CHARS) + encode(random, RANDOM_CHARS);
}

/** The sequence number an id carries, if it has the shape of one (it may still name nothing). */
export function seqOf(id: string): number | undefined {
  if (!ULID.test(id)) return undefined;
  let seq = 0;
  for (const char of id.slice(TIME_CHARS, TIME_CHARS + SEQ_CHARS).toUpperCase()) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return undefined;
    seq = seq * 32 + digit;
  }
  return seq;
}
