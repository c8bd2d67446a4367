// The feed's windowing: which rows of a long list are in (or near) view, so only those are in the page.
// Rows have one fixed height, which keeps this exact and cheap at 100k rows.

/** The rows to render: `[start, end)` in display order, with `overscan` rows either side. */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  count: number,
  overscan = 10,
): { start: number; end: number } {
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const inView = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.max(0, Math.min(count, first - overscan));
  const end = Math.min(count, first + inView + overscan);
  return { start, end: Math.max(start, end) };
}

/** The index in the (oldest-first) data of display row `row`. */
export function dataIndex(row: number, count: number, newestFirst: boolean): number {
  return newestFirst ? count - 1 - row : row;
}

/**
 * How far to move the scroll position when `added` rows arrive at the live end, so the rows the user is
 * reading stay put: rows added above the view (newest first) push it down by their height; at the live
 * edge (`atLive`) the view follows the new rows instead.
 */
export function scrollShift(added: number, rowHeight: number, newestFirst: boolean, atLive: boolean): number {
  if (added <= 0 || atLive || !newestFirst) return 0;
  return added * rowHeight;
}
