import { describe, expect, it } from 'vitest';
import { type Order, pageEdge, pageRange, type Visible } from '#store/page-range.ts';

/**
 * The page arithmetic against the obvious model: the visible sequence numbers as an array,
 * sorted and sliced. Seeded, so every run checks the same cases.
 */
function prng(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reads a range the way the store does: the sequence numbers in it, from its end, at most `limit`. */
function read(range: ReturnType<typeof pageRange>, limit: number) {
  const seqs: number[] = [];
  for (let seq = range.from; seq <= range.to; seq++) seqs.push(seq);
  return (range.ascending ? seqs : seqs.reverse()).slice(0, limit);
}

function visibleSeqs({ first, last }: Visible, order: Order) {
  const seqs: number[] = [];
  for (let seq = first; seq <= last; seq++) seqs.push(seq);
  return order === 'asc' ? seqs : seqs.reverse();
}

describe('pageRange and pageEdge', () => {
  it('give page N exactly the Nth slice of the visible messages, in either order', () => {
    const random = prng(7);
    for (let i = 0; i < 2_000; i++) {
      const first = 1 + Math.floor(random() * 50);
      const last = first - 1 + Math.floor(random() * 60);
      const visible = { first, last };
      const order: Order = random() < 0.5 ? 'asc' : 'desc';
      const limit = 1 + Math.floor(random() * 12);
      const page = 1 + Math.floor(random() * 8);

      const range = pageRange(visible, order, limit, { page });
      const expected = visibleSeqs(visible, order).slice((page - 1) * limit, page * limit);

      expect(read(range, limit), JSON.stringify({ visible, order, limit, page })).toEqual(expected);
    }
  });

  it('walk a whole conversation by cursor with no message lost or repeated, and say when it ends', () => {
    const random = prng(11);
    for (let i = 0; i < 500; i++) {
      const first = 1 + Math.floor(random() * 30);
      const last = first - 1 + Math.floor(random() * 80);
      const visible = { first, last };
      const order: Order = random() < 0.5 ? 'asc' : 'desc';
      const limit = 1 + Math.floor(random() * 10);

      const walked: number[] = [];
      let range = pageRange(visible, order, limit, { page: 1 });
      for (let pages = 0; pages < 200; pages++) {
        const seqs = read(range, limit);
        walked.push(...seqs);
        const { edge, hasMore } = pageEdge(visible, range, limit, seqs);
        if (!hasMore) break;
        range = pageRange(visible, order, limit, { after: edge });
      }

      expect(walked, JSON.stringify({ visible, order, limit })).toEqual(
        visibleSeqs(visible, order),
      );
    }
  });

  it('give an empty page past the end, without more to come', () => {
    const visible = { first: 5, last: 14 };
    const range = pageRange(visible, 'desc', 10, { page: 3 });

    expect(read(range, 10)).toEqual([]);
    expect(pageEdge(visible, range, 10, []).hasMore).toBe(false);
  });
});
