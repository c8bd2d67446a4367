// The feed's pure logic: merging new and older pages, what a line says, chat parts and badges, which
// kinds count as moderation, and connection states in words.
import type { Badge, ConnectionState, Event, EventKind } from "./bindings";

/**
 * How many events the feed keeps in memory (older ones stay in the store and page back in as you scroll):
 * ten pages of 500, hours of a busy chat, a few MB of the web view's heap.
 */
export const FEED_LIMIT = 5000;

/** Appends `incoming` (oldest first) without duplicates, keeping the newest `limit`. */
export function merge(feed: Event[], incoming: Event[], limit = FEED_LIMIT): { feed: Event[]; added: number; trimmed: number } {
  const last = feed.length > 0 ? (feed[feed.length - 1]!.offset ?? -1) : -1;
  const fresh = incoming.filter((e) => (e.offset ?? -1) > last);
  if (fresh.length === 0) return { feed, added: 0, trimmed: 0 };
  const merged = feed.concat(fresh);
  const trimmed = Math.max(0, merged.length - limit);
  return { feed: trimmed > 0 ? merged.slice(trimmed) : merged, added: fresh.length, trimmed };
}

/** Prepends an older page (oldest first), keeping the oldest `limit`: the user is reading back in time. */
export function prependOlder(feed: Event[], older: Event[], limit = FEED_LIMIT): { feed: Event[]; added: number; trimmed: number } {
  const first = feed.length > 0 ? (feed[0]!.offset ?? Infinity) : Infinity;
  const fresh = older.filter((e) => (e.offset ?? Infinity) < first);
  if (fresh.length === 0) return { feed, added: 0, trimmed: 0 };
  const merged = fresh.concat(feed);
  const trimmed = Math.max(0, merged.length - limit);
  return { feed: trimmed > 0 ? merged.slice(0, merged.length - trimmed) : merged, added: fresh.length, trimmed };
}

/** The kinds the feed's filter offers, in the order people look for them. */
export const FEED_KINDS = [
  "chat_message", "follow", "subscription", "subscription_gift", "cheer", "raid",
  "ban", "timeout", "unban", "message_deleted", "chat_cleared", "moderator_add", "moderator_remove",
  "vip_add", "vip_remove", "stream_online", "stream_offline", "stream_updated", "member_join", "member_leave",
] as const satisfies readonly EventKind[];

const MODERATION = new Set<EventKind>(["ban", "timeout", "unban", "message_deleted", "chat_cleared", "moderator_add", "moderator_remove", "vip_add", "vip_remove"]);
const SUPPORT = new Set<EventKind>(["subscription", "subscription_gift", "cheer", "reward_redeemed", "follow", "raid"]);

/** The feed's colour group of a kind. */
export function tone(kind: EventKind): "chat" | "moderation" | "support" | "stream" | "other" {
  if (kind === "chat_message") return "chat";
  if (MODERATION.has(kind)) return "moderation";
  if (SUPPORT.has(kind)) return "support";
  if (kind.startsWith("stream_")) return "stream";
  return "other";
}

/** A kind for people: "subscription gift". */
export const kindLabel = (kind: EventKind): string => kind.replaceAll("_", " ");

/** One line for people: who did what. */
export function describe(event: Event): string {
  const who = event.actor?.display_name ?? "someone";
  const target = event.target?.display_name ?? "someone";
  const by = event.actor ? ` by ${who}` : "";
  switch (event.kind) {
    case "chat_message":
      return event.data.text;
    case "follow":
      return `${who} followed`;
    case "follower_count":
      return `${event.data.count} followers`;
    case "subscription":
      return `${who} subscribed${event.data.months ? ` (${event.data.months} months)` : ""}${event.data.is_gift ? " with a gift" : ""}`;
    case "subscription_gift": {
      const n = event.data.quantity || event.data.recipients.length || 1;
      return `${event.actor ? who : "Anonymous"} gifted ${n} sub${n === 1 ? "" : "s"}`;
    }
    case "ban":
      return `${target} was banned${by}${event.data.reason ? `: ${event.data.reason}` : ""}`;
    case "timeout":
      return `${target} was timed out${event.data.duration_secs ? ` for ${Math.round(event.data.duration_secs / 60)} min` : ""}${by}`;
    case "unban":
      return `${target} was unbanned${by}`;
    case "moderator_add":
      return `${target} is now a moderator`;
    case "moderator_remove":
      return `${target} is no longer a moderator`;
    case "vip_add":
      return `${target} is now a VIP`;
    case "vip_remove":
      return `${target} is no longer a VIP`;
    case "message_deleted":
      return `a message was deleted${by}`;
    case "chat_cleared":
      return `the chat was cleared${by}`;
    case "raid":
      return `${who} raided with ${event.data.viewers ?? "?"} viewers`;
    case "cheer":
      return `${event.actor ? who : "Anonymous"} sent ${event.data.amount} ${event.data.currency === "bits" ? "Bits" : "Kicks"}${event.data.message ? `: ${event.data.message}` : ""}`;
    case "stream_online":
      return `stream online${event.data.title ? `: ${event.data.title}` : ""}`;
    case "stream_offline":
      return "stream offline";
    case "stream_updated":
      return `stream now: ${event.data.title ?? ""}${event.data.category ? ` (${event.data.category})` : ""}`;
    case "member_join":
      return `${who} joined the server`;
    case "member_leave":
      return `${who} left the server`;
    default:
      return kindLabel(event.kind);
  }
}

/** A part of a chat line: text, or an emote image. */
export type ChatPart = { text: string } | { emote: string; name: string };

/** Splits Kick chat text into text and `[emote:ID:NAME]` parts (only the emotes the event lists). */
export function chatParts(event: Event): ChatPart[] {
  if (event.kind !== "chat_message") return [{ text: describe(event) }];
  const text = event.data.text;
  const known = new Set(event.data.emotes.map((e) => e.id));
  const parts: ChatPart[] = [];
  let rest = 0;
  for (const m of text.matchAll(/\[emote:(\d+):([^\]]*)\]/g)) {
    if (!known.has(m[1]!)) continue;
    if (m.index > rest) parts.push({ text: text.slice(rest, m.index) });
    parts.push({ emote: m[1]!, name: m[2]! });
    rest = m.index + m[0].length;
  }
  if (rest < text.length) parts.push({ text: text.slice(rest) });
  return parts;
}

/** A chat badge for people: its short label and colour group. */
export function badgeLabel(badge: Badge): { label: string; group: "staff" | "mod" | "vip" | "sub" | "other" } {
  const type = badge.type.toLowerCase();
  switch (type) {
    case "broadcaster":
      return { label: "host", group: "staff" };
    case "moderator":
      return { label: "mod", group: "mod" };
    case "vip":
      return { label: "VIP", group: "vip" };
    case "subscriber":
      return { label: badge.count ? `sub ${badge.count}` : "sub", group: "sub" };
    case "sub_gifter":
      return { label: badge.count ? `gifter ${badge.count}` : "gifter", group: "sub" };
    default:
      return { label: type.replaceAll("_", " "), group: "other" };
  }
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

/** "12 s ago", "5 min ago", "2 h ago", for the cards' last event. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}
