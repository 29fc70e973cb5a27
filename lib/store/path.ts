/**
 * A conversation's active path, as runs of sequence numbers: pure arithmetic, so a page of the
 * path, or a switch to another branch, costs the same wherever it lies in the tree.
 *
 * Every message has a sequence number (unique in its conversation, handed out in order) and a
 * parent. Messages made one after another on one branch have consecutive numbers, so a path is a
 * short list of runs `[from, to]` (inclusive) rather than a list of messages: a linear chat is one
 * run, and each edit, regenerate or branch switch along the path adds one.
 */

/** Sequence numbers `from` to `to` (inclusive), each the parent of the next. */
export type Run = readonly [from: number, to: number];

/** How many messages the runs hold. */
export function pathLength(runs: readonly Run[]): number {
  return runs.reduce((sum, [from, to]) => sum + Math.max(0, to - from + 1), 0);
}

/**
 * The sequence numbers at depths `first` to `last` (1-based, inclusive; clamped to the path), as
 * runs in path order.
 */
export function slice(runs: readonly Run[], first: number, last: number): Run[] {
  const out: Run[] = [];
  let depth = 0;
  for (const [from, to] of runs) {
    const length = Math.max(0, to - from + 1);
    const start = Math.max(first, depth + 1);
    const end = Math.min(last, depth + length);
    if (start <= end) out.push([from + (start - depth - 1), from + (end - depth - 1)]);
    depth += length;
    if (depth >= last) break;
  }
  return out;
}

/** The runs from the root to depth `depth` (inclusive). */
export function prefix(runs: readonly Run[], depth: number): Run[] {
  return slice(runs, 1, depth);
}

/** The depth (1-based) of the message with this sequence number on the path, if it is on it. */
export function depthOf(runs: readonly Run[], seq: number): number | undefined {
  let depth = 0;
  for (const [from, to] of runs) {
    if (seq >= from && seq <= to) return depth + (seq - from) + 1;
    depth += Math.max(0, to - from + 1);
  }
  return undefined;
}

/** The sequence number at a depth (1-based) of the path, if the path is that deep. */
export function seqAt(runs: readonly Run[], depth: number): number | undefined {
  return slice(runs, depth, depth)[0]?.[0];
}

/**
 * How deep two paths from the same root agree: the depth of the deepest message both hold (0
 * when they differ from the first message).
 */
export function commonDepth(a: readonly Run[], b: readonly Run[]): number {
  // Walk both run lists together: where two runs start on the same number, they agree for as
  // long as both last (consecutive numbers on both sides), so the walk takes a step per run.
  let [i, j] = [0, 0];
  let [x, y] = [a[0]?.[0], b[0]?.[0]];
  let depth = 0;
  while (i < a.length && j < b.length) {
    const ra = a[i] as Run;
    const rb = b[j] as Run;
    if (x !== y || x === undefined || y === undefined) return depth;
    const same = Math.min(ra[1] - x, rb[1] - y) + 1;
    depth += same;
    x += same;
    y += same;
    if (x > ra[1]) x = a[++i]?.[0];
    if (y > rb[1]) y = b[++j]?.[0];
  }
  return depth;
}

/** Runs appended, merging the last with the next when they are consecutive. */
export function join(...parts: (readonly Run[])[]): Run[] {
  const out: Run[] = [];
  for (const [from, to] of parts.flat()) {
    if (to < from) continue;
    const last = out.at(-1);
    if (last && last[1] + 1 === from) out[out.length - 1] = [last[0], to];
    else out.push([from, to]);
  }
  return out;
}

/** Runs as DynamoDB keeps them: a flat list of numbers `[from1, to1, from2, to2, ...]`. */
export function flatten(runs: readonly Run[]): number[] {
  return runs.flat();
}

export function unflatten(flat: readonly unknown[] | undefined): Run[] {
  const out: Run[] = [];
  for (let i = 0; i + 1 < (flat?.length ?? 0); i += 2) {
    out.push([Number(flat?.[i]), Number(flat?.[i + 1])]);
  }
  return out;
}
