import { describe, expect, it } from 'vitest';
import {
  commonDepth,
  depthOf,
  flatten,
  join,
  pathLength,
  prefix,
  type Run,
  seqAt,
  slice,
  unflatten,
} from '#store/path.ts';

/** The sequence numbers of a path, one by one: the model the arithmetic is checked against. */
const expand = (runs: readonly Run[]) =>
  runs.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i));

/** A seeded path of `count` runs with gaps between them, as branches leave. */
function randomPath(seed: number, count: number): Run[] {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state;
  };
  const runs: Run[] = [];
  let at = 1;
  for (let i = 0; i < count; i++) {
    const length = 1 + (next() % 7);
    runs.push([at, at + length - 1]);
    at += length + 1 + (next() % 5);
  }
  return runs;
}

describe('a path as runs of sequence numbers', () => {
  it('finds every depth, slice and sequence number as the message-by-message list does', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const runs = randomPath(seed, 1 + (seed % 9));
      const seqs = expand(runs);
      expect(pathLength(runs)).toBe(seqs.length);
      for (let first = 1; first <= seqs.length; first += 3) {
        for (const last of [first, first + 4, seqs.length + 3]) {
          expect(expand(slice(runs, first, last))).toEqual(seqs.slice(first - 1, last));
        }
      }
      seqs.forEach((seq, i) => {
        expect(depthOf(runs, seq)).toBe(i + 1);
        expect(seqAt(runs, i + 1)).toBe(seq);
      });
      expect(depthOf(runs, 10_000)).toBeUndefined();
      expect(expand(prefix(runs, 5))).toEqual(seqs.slice(0, 5));
      expect(unflatten(flatten(runs))).toEqual(runs);
    }
  });

  it('tells how deep two paths agree, however their runs are cut', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const a = randomPath(seed, 6);
      const seqs = expand(a);
      const cut = 1 + (seed % seqs.length);
      // The same messages to `cut`, split into runs differently, then a branch of its own.
      const b = join(slice(a, 1, Math.floor(cut / 2)), slice(a, Math.floor(cut / 2) + 1, cut), [
        [1_000, 1_003],
      ]);
      const model = seqs.findIndex((seq, i) => expand(b)[i] !== seq);
      expect(commonDepth(a, b)).toBe(
        model === -1 ? Math.min(seqs.length, expand(b).length) : model,
      );
      expect(commonDepth(a, a)).toBe(seqs.length);
      expect(commonDepth(a, [[999, 1_000]])).toBe(0);
      expect(commonDepth([], a)).toBe(0);
    }
  });

  it('joins consecutive runs into one and drops empty ones', () => {
    expect(join([[1, 4]], [[5, 6]], [[9, 8]], [[10, 10]])).toEqual([
      [1, 6],
      [10, 10],
    ]);
  });
});
