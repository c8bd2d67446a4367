import { describe, expect, it } from "vitest";
import type { StatsView } from "./bindings";
import { columns, headline, kindsByVolume, segments } from "./stats";

const now = Date.parse("2026-11-22T18:30:20Z");

describe("columns", () => {
  it("gives one column per minute of the hour, empty minutes included, oldest first", () => {
    const cols = columns(
      [
        { minute: "2026-11-22T18:30:00Z", kind: "chat_message", count: 7 },
        { minute: "2026-11-22T18:30:00Z", kind: "follow", count: 2 },
        { minute: "2026-11-22T18:28:00Z", kind: "follow", count: 1 },
        { minute: "2026-11-22T17:00:00Z", kind: "follow", count: 99 },
      ],
      now,
    );
    expect(cols).toHaveLength(60);
    expect(cols[59]).toEqual({ minute: Date.parse("2026-11-22T18:30:00Z"), total: 9, byKind: { chat_message: 7, follow: 2 } });
    expect(cols[57]!.total).toBe(1);
    expect(cols[58]!.total).toBe(0);
    expect(cols.reduce((n, c) => n + c.total, 0)).toBe(10);
    expect(kindsByVolume(cols)).toEqual(["chat_message", "follow"]);
  });
});

describe("segments", () => {
  it("stacks the kinds bottom up, scaled to the peak", () => {
    const col = { minute: 0, total: 6, byKind: { chat_message: 4, follow: 2 } };
    expect(segments(col, ["chat_message", "follow", "ban"], 8, 100)).toEqual([
      { kind: "chat_message", y: 50, h: 50 },
      { kind: "follow", y: 25, h: 25 },
    ]);
  });
});

describe("headline", () => {
  it("adds bans and timeouts, and shows zero for what did not happen", () => {
    const stats: StatsView = {
      perMinute: [],
      sessionTotals: { follow: 3, ban: 1, timeout: 2 },
      sessionStart: "2026-11-22T18:00:00Z",
      stored: 10,
    };
    const h = Object.fromEntries(headline(stats).map((t) => [t.label, t.value]));
    expect(h["New followers"]).toBe(3);
    expect(h["Bans and timeouts"]).toBe(3);
    expect(h["Subscriptions"]).toBe(0);
  });
});
