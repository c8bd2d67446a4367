import { describe as group, expect, it } from "vitest";
import { ago, badgeLabel, chatParts, describe, merge, prependOlder, stateLabel, tone } from "./feed";
import type { Event, EventKind } from "./bindings";

function event(offset: number, kind: EventKind = "chat_message", data: Record<string, unknown> = {}): Event {
  const defaults: Record<string, unknown> =
    kind === "chat_message" ? { text: "", emotes: [], badges: [], color: null, reply_to: null } : kind === "subscription_gift" ? { quantity: 1, recipients: [], tier: null } : {};
  return {
    offset,
    id: `id-${offset}`,
    platform: "kick",
    channel: { platform_id: "1", slug: "demo" },
    kind,
    actor: { id: "7", login: "pixelwitch", display_name: "PixelWitch" },
    target: { id: "8", login: "troll", display_name: "Troll" },
    occurred_at: "2026-11-22T18:00:00Z",
    received_at: "2026-11-22T18:00:00Z",
    source_id: null,
    data: { ...defaults, ...data },
  } as Event;
}

group("merge", () => {
  it("appends only what is newer than the last event, once", () => {
    const feed = [event(1), event(2)];
    const merged = merge(feed, [event(2), event(3), event(4)]);
    expect(merged.feed.map((e) => e.offset)).toEqual([1, 2, 3, 4]);
    expect(merged.added).toBe(2);
    expect(merge(merged.feed, [event(3)]).feed).toBe(merged.feed);
  });
  it("keeps the newest events within the limit", () => {
    const merged = merge([event(1), event(2)], [event(3), event(4)], 3);
    expect(merged.feed.map((e) => e.offset)).toEqual([2, 3, 4]);
    expect(merged.trimmed).toBe(1);
  });
  it("prepends older pages, keeping the oldest within the limit when reading back", () => {
    const older = prependOlder([event(5), event(6)], [event(3), event(4), event(5)]);
    expect(older.feed.map((e) => e.offset)).toEqual([3, 4, 5, 6]);
    expect(older.added).toBe(2);
    const capped = prependOlder([event(5), event(6)], [event(3), event(4)], 3);
    expect(capped.feed.map((e) => e.offset)).toEqual([3, 4, 5]);
    expect(capped.trimmed).toBe(1);
  });
});

group("lines", () => {
  it("says who did what", () => {
    expect(describe(event(1, "follow"))).toBe("PixelWitch followed");
    expect(describe(event(1, "timeout", { duration_secs: 600 }))).toBe("Troll was timed out for 10 min by PixelWitch");
    expect(describe(event(1, "subscription_gift", { quantity: 2, recipients: ["a", "b"] }))).toBe("PixelWitch gifted 2 subs");
    expect(describe(event(1, "chat_message", { text: "naïve café ☕" }))).toBe("naïve café ☕");
  });
  it("says who did what to whom for moderation", () => {
    expect(describe(event(1, "ban", { reason: "spam" }))).toBe("Troll was banned by PixelWitch: spam");
    expect(describe(event(1, "vip_add"))).toBe("Troll is now a VIP");
  });
  it("groups moderation apart from support and chat", () => {
    expect(tone("ban")).toBe("moderation");
    expect(tone("timeout")).toBe("moderation");
    expect(tone("subscription_gift")).toBe("support");
    expect(tone("chat_message")).toBe("chat");
    expect(tone("stream_online")).toBe("stream");
  });
});

group("chat parts", () => {
  it("turns listed emote tags into images and leaves fakes as text", () => {
    const e = event(1, "chat_message", {
      text: "no way [emote:37226:KEKW] and [emote:999:Fake]!",
      emotes: [{ id: "37226", name: "KEKW" }],
    });
    expect(chatParts(e)).toEqual([
      { text: "no way " },
      { emote: "37226", name: "KEKW" },
      { text: " and [emote:999:Fake]!" },
    ]);
  });
});

group("states", () => {
  it("names each state with its colour", () => {
    expect(stateLabel({ state: "connected" }).color).toBe("green");
    expect(stateLabel({ state: "reconnecting", attempt: 2, next_in_ms: 1500 }).label).toBe(
      "Reconnecting (try 2 in 1.5 s)",
    );
    expect(stateLabel({ state: "failed", reason: "x" }).color).toBe("red");
  });
});

group("badges", () => {
  it("names the usual badges shortly, with their counts", () => {
    expect(badgeLabel({ type: "moderator", count: null })).toEqual({ label: "mod", group: "mod" });
    expect(badgeLabel({ type: "subscriber", count: 12 })).toEqual({ label: "sub 12", group: "sub" });
    expect(badgeLabel({ type: "og", count: null })).toEqual({ label: "og", group: "other" });
  });
});

group("ago", () => {
  it("counts seconds, then minutes, then hours", () => {
    const now = Date.parse("2026-11-22T18:00:00Z");
    expect(ago("2026-11-22T17:59:48Z", now)).toBe("12 s ago");
    expect(ago("2026-11-22T17:55:00Z", now)).toBe("5 min ago");
    expect(ago("2026-11-22T15:30:00Z", now)).toBe("2 h ago");
  });
});
