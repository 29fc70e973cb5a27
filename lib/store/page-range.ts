/**
 * Where a history page lies in a conversation's sequence numbers: pure arithmetic, so page N
 * costs one key-range read whatever N is.
 */

export type Order = 'asc' | 'desc';

/** The conversation's visible range: sequence numbers `first` to `last` (empty when first > last). */
export interface Visible {
  first: number;
  last: number;
}

/** What to read: sequence numbers `from` to `to`, at most `limit`, from the given end. */
export interface PageRange {
  from: number;
  to: number;
  ascending: boolean;
}

/**
 * The range of page `page` (1-based) of `limit` messages, or the range after a cursor position
 * (`after`: the last sequence number the previous page covered).
 */
export function pageRange(
  visible: Visible,
  order: Order,
  limit: number,
  position: { page: number } | { after: number },
): PageRange {
  const { first, last } = visible;
  const ascending = order === 'asc';
  if ('after' in position) {
    const [from, to] = ascending
      ? [Math.max(first, position.after + 1), last]
      : [first, Math.min(last, position.after - 1)];
    return { from, to, ascending };
  }
  const skip = (position.page - 1) * limit;
  const [from, to] = ascending
    ? [first + skip, Math.min(first + skip + limit - 1, last)]
    : [Math.max(first, last - skip - limit + 1), last - skip];
  return { from, to, ascending };
}

/**
 * Where a page ended and whether more follows. `seqs` are the sequence numbers read, in page
 * order; a page cut by its limit ends at its last item, otherwise at its range's far end.
 */
export function pageEdge(
  visible: Visible,
  range: PageRange,
  limit: number,
  seqs: number[],
): { edge: number; hasMore: boolean } {
  const cutAt = seqs.length === limit ? seqs.at(-1) : undefined;
  const edge = cutAt ?? (range.ascending ? range.to : range.from);
  const hasMore = range.ascending ? edge < visible.last : edge > visible.first;
  return { edge, hasMore };
}
