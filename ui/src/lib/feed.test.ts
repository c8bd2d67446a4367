import { describe as group, expect, it } from "vitest";
import { chatParts, describe, merge, stateLabel, tone } from "./feed";
import type { Event } from "./types";

function event(offset: number, kind = "chat_message", data: Record<string, unknown> = {}): Event {
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
    data,
  };
}

group("merge", () => {
  it("appends only what is newer than the last event, once", () => {
    const feed = [event(1), event(2)];
    const merged = merge(feed, [event(2), event(3), event(4)]);
    expect(merged.map((e) => e.offset)).toEqual([1, 2, 3, 4]);
    expect(merge(merged, [event(3)])).toBe(merged);
  });
  it("keeps the newest events within the limit", () => {
    const merged = merge([event(1), event(2)], [event(3), event(4)], 3);
    expect(merged.map((e) => e.offset)).toEqual([2, 3, 4]);
  });
});

group("lines", () => {
  it("says who did what", () => {
    expect(describe(event(1, "follow"))).toBe("PixelWitch followed");
    expect(describe(event(1, "timeout", { duration_secs: 600 }))).toBe("Troll was timed out for 10 min");
    expect(describe(event(1, "subscription_gift", { quantity: 2, recipients: ["a", "b"] }))).toBe("PixelWitch gifted 2 subs");
    expect(describe(event(1, "chat_message", { text: "naïve café ☕" }))).toBe("naïve café ☕");
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
