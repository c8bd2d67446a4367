// The Stats view's shaping: per-minute counts into a chart's columns (one per minute, stacked by kind),
// and the session's totals people look for.
import type { EventKind, MinuteCountView, StatsView } from "./bindings";

/** One minute's column: its start and its counts by kind. */
export interface Column {
  minute: number;
  total: number;
  byKind: Partial<Record<EventKind, number>>;
}

/** `minutes` columns ending with the minute of `now`, empty minutes included, oldest first. */
export function columns(counts: MinuteCountView[], now: number, minutes = 60): Column[] {
  const last = Math.floor(now / 60000) * 60000;
  const cols: Column[] = [];
  const index = new Map<number, Column>();
  for (let i = minutes - 1; i >= 0; i--) {
    const col: Column = { minute: last - i * 60000, total: 0, byKind: {} };
    cols.push(col);
    index.set(col.minute, col);
  }
  for (const c of counts) {
    const col = index.get(Date.parse(c.minute));
    if (!col) continue;
    col.byKind[c.kind] = (col.byKind[c.kind] ?? 0) + c.count;
    col.total += c.count;
  }
  return cols;
}

/** The kinds present in `cols`, most events first (the chart's legend and stacking order). */
export function kindsByVolume(cols: Column[]): EventKind[] {
  const totals = new Map<EventKind, number>();
  for (const col of cols) {
    for (const [kind, n] of Object.entries(col.byKind) as [EventKind, number][]) {
      totals.set(kind, (totals.get(kind) ?? 0) + n);
    }
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
}

/** The session's headline totals. */
export function headline(stats: StatsView): { label: string; value: number }[] {
  const n = (k: EventKind) => stats.sessionTotals[k] ?? 0;
  return [
    { label: "New followers", value: n("follow") },
    { label: "Subscriptions", value: n("subscription") },
    { label: "Gifts", value: n("subscription_gift") },
    { label: "Raids", value: n("raid") },
    { label: "Bans and timeouts", value: n("ban") + n("timeout") },
    { label: "Chat messages", value: n("chat_message") },
  ];
}

/** A column's stacked bars, bottom up in `order`: each kind's top `y` and height `h` in a chart `height` tall. */
export function segments(col: Column, order: EventKind[], peak: number, height: number): { kind: EventKind; y: number; h: number }[] {
  const out: { kind: EventKind; y: number; h: number }[] = [];
  let base = height;
  for (const kind of order) {
    const n = col.byKind[kind] ?? 0;
    if (n <= 0) continue;
    const h = (n / Math.max(1, peak)) * height;
    base -= h;
    out.push({ kind, y: base, h });
  }
  return out;
}
