import { describe, expect, it } from 'vitest';
import { messageId, seqOf } from '#store/message-id.ts';

describe('message ids', () => {
  it('carry their sequence number, sort by time, and never repeat', () => {
    const seqs = [1, 2, 31, 32, 1_000_000, 2 ** 40 - 1];
    const ids = seqs.map((seq) => messageId(seq, 1_700_000_000_000));
    const later = messageId(1, 1_700_000_000_001);

    expect(ids.map(seqOf)).toEqual(seqs);
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect([...ids, later].sort().at(-1)).toBe(later);
    expect(new Set(Array.from({ length: 1_000 }, () => messageId(7))).size).toBe(1_000);
  });

  it('decodes nothing from ids of another shape', () => {
    expect(seqOf('short')).toBeUndefined();
    expect(seqOf('01JF0Z5Q8W6W3V7G2X4N9K1B2!')).toBeUndefined();
    expect(seqOf('01JF0Z5Q8W6W3V7G2X4N9K1B2C')).toEqual(expect.any(Number));
  });
});
