// The feed's pure logic: merging new events, what a line says, which kinds count as moderation.
import type { ConnectionState, Event } from "./types";

/** How many events the feed keeps in memory (older ones stay in the store). */
export const FEED_LIMIT = 5000;

/** Appends `incoming` (oldest first) to `feed` without duplicates, keeping the newest `limit`. */
export function merge(feed: Event[], incoming: Event[], limit = FEED_LIMIT): Event[] {
  const last = feed.length > 0 ? feed[feed.length - 1]!.offset : -1;
  const fresh = incoming.filter((e) => e.offset > last);
  if (fresh.length === 0) return feed;
  const merged = feed.concat(fresh);
  return merged.length > limit ? merged.slice(merged.length - limit) : merged;
}

const MODERATION = new Set(["ban", "timeout", "unban", "message_deleted", "chat_cleared"]);
const MONEY = new Set(["subscription", "subscription_gift", "cheer", "reward_redeemed"]);

/** The feed's colour group of a kind. */
export function tone(kind: string): "chat" | "moderation" | "support" | "stream" | "other" {
  if (kind === "chat_message") return "chat";
  if (MODERATION.has(kind)) return "moderation";
  if (MONEY.has(kind) || kind === "follow" || kind === "raid") return "support";
  if (kind.startsWith("stream_")) return "stream";
  return "other";
}

const str = (v: unknown): string => (typeof v === "string" ? v : v == null ? "" : String(v));

/** One line for people: who did what. */
export function describe(event: Event): string {
  const who = event.actor?.display_name ?? "someone";
  const target = event.target?.display_name ?? "someone";
  const d = event.data;
  switch (event.kind) {
    case "chat_message":
      return str(d.text);
    case "follow":
      return `${who} followed`;
    case "follower_count":
      return `${str(d.count)} followers`;
    case "subscription":
      return `${who} subscribed${d.months ? ` (${str(d.months)} months)` : ""}`;
    case "subscription_gift": {
      const count = typeof d.quantity === "number" ? d.quantity : Array.isArray(d.recipients) ? d.recipients.length : 1;
      return `${who} gifted ${count} sub${count === 1 ? "" : "s"}`;
    }
    case "ban":
      return `${target} was banned${event.actor ? ` by ${who}` : ""}`;
    case "timeout":
      return `${target} was timed out${d.duration_secs ? ` for ${Math.round(Number(d.duration_secs) / 60)} min` : ""}`;
    case "unban":
      return `${target} was unbanned`;
    case "message_deleted":
      return "a message was deleted";
    case "raid":
      return `${who} raided with ${str(d.viewers)} viewers`;
    case "cheer":
      return `${who} sent ${str(d.amount)} ${str(d.currency).toLowerCase() === "kicks" || !d.currency ? "Kicks" : str(d.currency)}${d.message ? `: ${str(d.message)}` : ""}`;
    case "stream_online":
      return `stream online${d.title ? `: ${str(d.title)}` : ""}`;
    case "stream_offline":
      return "stream offline";
    default:
      return event.kind.replaceAll("_", " ");
  }
}

/** A part of a chat line: text, or an emote image. */
export type ChatPart = { text: string } | { emote: string; name: string };

/** Splits Kick chat text into text and `[emote:ID:NAME]` parts (only the emotes the event lists). */
export function chatParts(event: Event): ChatPart[] {
  const text = str(event.data.text);
  const known = new Set(
    (Array.isArray(event.data.emotes) ? event.data.emotes : []).map((e) => str((e as { id?: unknown }).id)),
  );
  const parts: ChatPart[] = [];
  let rest = 0;
  for (const m of text.matchAll(/\[emote:(\d+):([^\]]*)\]/g)) {
    if (!known.has(m[1]!)) continue;
    if (m.index! > rest) parts.push({ text: text.slice(rest, m.index) });
    parts.push({ emote: m[1]!, name: m[2]! });
    rest = m.index! + m[0].length;
  }
  if (rest < text.length) parts.push({ text: text.slice(rest) });
  return parts;
}

/** A connection state in words, with its colour. */
export function stateLabel(state: ConnectionState): { label: string; color: "green" | "amber" | "red" | "grey" } {
  switch (state.state) {
    case "connected":
      return { label: "Connected", color: "green" };
    case "connecting":
      return { label: "Connecting…", color: "amber" };
    case "reconnecting":
      return { label: `Reconnecting (try ${state.attempt} in ${(state.next_in_ms / 1000).toFixed(1)} s)`, color: "amber" };
    case "failed":
      return { label: "Gave up", color: "red" };
    case "disconnected":
      return { label: "Disconnected", color: "grey" };
  }
}
