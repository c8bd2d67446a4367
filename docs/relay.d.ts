// The OnAir relay's messages (docs/relay.md), generated from the Rust types (onair_relay::protocol::typescript); do not edit.
// crates/onair/tests/bindings.rs fails when it is stale; ONAIR_BLESS=1 cargo test -p onair --test bindings rewrites it.
// Use: `const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { auth: { token } })`.

export type Platform = "kick" | "twitch" | "discord";

export type EventKind = "chat_message" | "message_deleted" | "message_pinned" | "message_unpinned" | "chat_cleared" | "chat_settings" | "follow" | "follower_count" | "subscription" | "subscription_end" | "subscription_gift" | "ban" | "timeout" | "unban" | "moderator_add" | "moderator_remove" | "vip_add" | "vip_remove" | "stream_online" | "stream_offline" | "stream_updated" | "raid" | "raid_out" | "cheer" | "reward_redeemed" | "poll_update" | "poll_end" | "prediction" | "leaderboard_update" | "member_join" | "member_leave" | "unknown";

/** A position in the store, for resuming after it. */
export type Offset = number;

export type Actor = { 
/**
 * The platform's stable user id.
 */
id: string, 
/**
 * The login / username / slug, as the platform spells it.
 */
login: string, 
/**
 * The name shown to people (may differ from `login` in case or script).
 */
display_name: string, };

export type ChannelRef = { 
/**
 * The platform's stable id of the channel (Kick channel id, Twitch broadcaster id, Discord guild id).
 */
platform_id: string, 
/**
 * The channel's name in URLs (`xqc`, `nebulacast`); for Discord the guild name.
 */
slug: string, 
/**
 * Kick's chat room id, which differs from the channel id. Omitted from JSON when absent.
 */
chatroom_id?: string | null, };

export type ConnectionId = { 
/**
 * The platform the connection talks to.
 */
platform: Platform, 
/**
 * What it is connected to, for people: `xqc`, `guild 1234 shard 0/2`.
 */
name: string, };

export type ConnectionState = { "state": "connecting" } | { "state": "connected", 
/**
 * The platform's id for this session when it gives one (Pusher socket id, EventSub session id,
 * Discord session id).
 */
session?: string | null, } | { "state": "reconnecting", 
/**
 * Which retry of this outage comes next, from 1.
 */
attempt: number, 
/**
 * How long until that retry, in whole milliseconds on the wire.
 */
next_in_ms: number, } | { "state": "failed", 
/**
 * A sentence for people: what happened and what to do.
 */
reason: string, } | { "state": "disconnected" };

export type Empty = Record<symbol, never>;

export type Emote = { 
/**
 * The platform's emote id.
 */
id: string, 
/**
 * The emote's code as typed (`KEKW`).
 */
name: string, };

export type Badge = { 
/**
 * The badge's type (`subscriber`, `moderator`, `vip`, `og`, ...).
 */
type: string, 
/**
 * A count where the badge has one (subscriber months, gift count).
 */
count: number | null, };

export type ReplyTo = { 
/**
 * The replied-to message's id.
 */
message_id: string, 
/**
 * Its author's login.
 */
login: string, 
/**
 * Its text.
 */
text: string, };

export type ChatMessage = { 
/**
 * The decoded text, exactly as sent (emote tags included where the platform inlines them).
 */
text: string, 
/**
 * Emotes in the order they appear.
 */
emotes: Array<Emote>, 
/**
 * The sender's badges in the platform's order.
 */
badges: Array<Badge>, 
/**
 * The sender's name colour (`#RRGGBB`), if set.
 */
color: string | null, 
/**
 * The message this one replies to, if any.
 */
reply_to: ReplyTo | null, 
/**
 * The chat room inside the channel, where a channel has several: the Discord text channel's id.
 * Omitted from JSON when absent (Kick and Twitch).
 */
room_id?: string, };

export type MessageRef = { 
/**
 * The deleted message's id.
 */
message_id: string, };

export type PinnedMessage = { 
/**
 * The pinned message's id.
 */
message_id: string, 
/**
 * Its text, if the platform sent it.
 */
text: string | null, 
/**
 * How long it stays pinned, if limited.
 */
duration_secs: number | null, };

export type ChatSettings = { 
/**
 * Seconds between messages per chatter, or off.
 */
slow_mode_secs: number | null, 
/**
 * Minutes a chatter must have followed for, or off (`Some(0)`: any follower).
 */
followers_only_mins: number | null, 
/**
 * Only subscribers may chat.
 */
subscribers_only: boolean | null, 
/**
 * Only emotes may be sent.
 */
emotes_only: boolean | null, };

export type FollowerCount = { 
/**
 * The channel's follower count.
 */
count: number, };

export type Subscription = { 
/**
 * Cumulative months, if known.
 */
months: number | null, 
/**
 * The tier as the platform names it (`1000`, `2000`, `3000`; Kick: null).
 */
tier: string | null, 
/**
 * Whether it was gifted.
 */
is_gift: boolean, 
/**
 * The resub message, if any.
 */
message: string | null, };

export type SubscriptionEnd = { 
/**
 * The tier that ended.
 */
tier: string | null, 
/**
 * Whether it had been gifted.
 */
is_gift: boolean, };

export type SubscriptionGift = { 
/**
 * How many subscriptions were gifted.
 */
quantity: number, 
/**
 * The recipients' logins, where the platform names them (Twitch does not).
 */
recipients: Array<string>, 
/**
 * The tier gifted.
 */
tier: string | null, 
/**
 * The gifter's total gifts in the channel, if known.
 */
gifter_total: number | null, };

export type Moderation = { 
/**
 * The reason given, if any.
 */
reason: string | null, 
/**
 * A timeout's length; null for a permanent ban and for unban.
 */
duration_secs: number | null, 
/**
 * When a timeout ends; null for a permanent ban and for unban.
 */
expires_at: string | null, };

export type StreamInfo = { 
/**
 * The platform's id of the broadcast, if known.
 */
stream_id: string | null, 
/**
 * The stream title.
 */
title: string | null, 
/**
 * The category / game.
 */
category: string | null, };

export type Raid = { 
/**
 * How many viewers came along.
 */
viewers: number | null, 
/**
 * A message, if the platform sends one.
 */
message: string | null, };

export type Currency = "bits" | "kicks";

export type Cheer = { 
/**
 * How many bits or kicks.
 */
amount: number, 
/**
 * Bits or kicks.
 */
currency: Currency, 
/**
 * The message sent with it.
 */
message: string | null, };

export type RewardRedeemed = { 
/**
 * The reward's title.
 */
title: string, 
/**
 * What the viewer typed, for rewards that take input.
 */
input: string | null, };

export type PollOption = { 
/**
 * The option's label.
 */
label: string, 
/**
 * Votes (or points) so far.
 */
votes: number, };

export type Poll = { 
/**
 * The question.
 */
title: string, 
/**
 * The options with their votes.
 */
options: Array<PollOption>, 
/**
 * The platform's state word (`active`, `ended`, `locked`, ...), if sent.
 */
state: string | null, };

export type Member = { 
/**
 * The guild's id.
 */
guild_id: string, };

export type Unknown = { 
/**
 * The platform's own name of the event.
 */
name: string, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

/** What happened, typed per kind: `data` follows `kind`. */
export type EventBody =
  | { kind: "chat_message"; data: ChatMessage }
  | { kind: "message_deleted"; data: MessageRef }
  | { kind: "message_pinned"; data: PinnedMessage }
  | { kind: "message_unpinned"; data: PinnedMessage }
  | { kind: "chat_cleared"; data: Empty }
  | { kind: "chat_settings"; data: ChatSettings }
  | { kind: "follow"; data: Empty }
  | { kind: "follower_count"; data: FollowerCount }
  | { kind: "subscription"; data: Subscription }
  | { kind: "subscription_end"; data: SubscriptionEnd }
  | { kind: "subscription_gift"; data: SubscriptionGift }
  | { kind: "ban"; data: Moderation }
  | { kind: "timeout"; data: Moderation }
  | { kind: "unban"; data: Moderation }
  | { kind: "moderator_add"; data: Empty }
  | { kind: "moderator_remove"; data: Empty }
  | { kind: "vip_add"; data: Empty }
  | { kind: "vip_remove"; data: Empty }
  | { kind: "stream_online"; data: StreamInfo }
  | { kind: "stream_offline"; data: StreamInfo }
  | { kind: "stream_updated"; data: StreamInfo }
  | { kind: "raid"; data: Raid }
  | { kind: "raid_out"; data: Raid }
  | { kind: "cheer"; data: Cheer }
  | { kind: "reward_redeemed"; data: RewardRedeemed }
  | { kind: "poll_update"; data: Poll }
  | { kind: "poll_end"; data: Poll }
  | { kind: "prediction"; data: Poll }
  | { kind: "leaderboard_update"; data: JsonValue }
  | { kind: "member_join"; data: Member }
  | { kind: "member_leave"; data: Member }
  | { kind: "unknown"; data: Unknown };

/** An event in its public JSON form (version 1, docs/events.md). */
export type Event = {
  offset: Offset | null;
  id: string;
  platform: Platform;
  channel: ChannelRef;
  actor: Actor | null;
  target: Actor | null;
  occurred_at: string;
  received_at: string;
  source_id: string | null;
} & EventBody;

export type Filter = { 
/**
 * Only these platforms.
 */
platforms?: Array<Platform>, 
/**
 * Only these kinds.
 */
kinds?: Array<EventKind>, 
/**
 * Only these channels, by slug (any case) or platform id.
 */
channels?: Array<string>, };

export type SubscribeRequest = { 
/**
 * Replay every matching stored event after this offset first, then go live. Never negative; past the
 * end of the event log, the position is reset to the head (`reset` in the answer).
 */
after?: number, 
/**
 * Only these platforms.
 */
platforms?: Array<Platform>, 
/**
 * Only these kinds.
 */
kinds?: Array<EventKind>, 
/**
 * Only these channels, by slug (any case) or platform id.
 */
channels?: Array<string>, };

export type ResumeRequest = { 
/**
 * The last offset the client has (0 for everything stored); never negative. Past the end of the event
 * log, the position is reset to the head (`reset` in the answer).
 */
after: number, };

export type FailureCode = "bad_request" | "not_subscribed" | "unavailable" | "busy" | "rate_limited" | "replay_failed" | "not_ready";

export type RelayFailure = { 
/**
 * What kind of failure, for programs.
 */
code: FailureCode, 
/**
 * What happened and what to do, for people.
 */
message: string, };

export type RequestAnswer = { 
/**
 * Whether the request was carried out.
 */
ok: boolean, 
/**
 * After a `subscribe`: the filter now in force.
 */
filter?: Filter, 
/**
 * When refused: why.
 */
error?: RelayFailure, 
/**
 * After a `subscribe`: the offset of the last event committed before the filter took effect, when the
 * relay knows it. Keep it as the client's position: a later `resume { after: head }` then misses
 * nothing from the moment of subscribing, even if no event came before the client was cut off.
 */
head?: number, 
/**
 * After a `subscribe` with `after` or a `resume`: the position asked for was past the end of the event
 * log, and the client continues from the head instead (also sent as `position:reset`).
 */
reset?: PositionReset, };

export type RateLimited = { 
/**
 * The refused request: `subscribe`, `unsubscribe` or `resume`.
 */
event: string, 
/**
 * When it may be tried again.
 */
retry_after_ms: number, };

export type ReplayDone = { 
/**
 * The last offset sent (or passed over by the filter); resume after it next time.
 */
last_offset: number, };

export type PositionReset = { 
/**
 * The offset the client asked to resume after.
 */
requested: number, 
/**
 * The offset of the last event committed when the position was reset: the client's position now.
 */
head: number, };

export type ShutdownNotice = { 
/**
 * How long to wait before reconnecting.
 */
retry_after_ms: number, };

export type ConnectionStatus = { 
/**
 * The connection (platform and channel).
 */
id: ConnectionId, 
/**
 * Its state.
 */
state: ConnectionState, };

export type RelayStatus = { 
/**
 * One entry per connection, in a stable order.
 */
connections: Array<ConnectionStatus>, };

export type RelayClient = { 
/**
 * The Socket.IO id of its connection.
 */
id: string, 
/**
 * Where it connects from (`ip:port`), when known.
 */
address: string | null, 
/**
 * What it says it is (its `User-Agent`), when it says.
 */
user_agent: string | null, 
/**
 * What it subscribed to; `None` until it subscribes.
 */
filter: Filter | null, 
/**
 * When it connected.
 */
connected_at: string, 
/**
 * Events sent to it so far (live and replayed).
 */
events_sent: number, };

export type RelayClients = { 
/**
 * Every connected client, oldest connection first.
 */
clients: Array<RelayClient>, };

/** What the relay emits to a client. */
export interface ServerToClientEvents {
  /** A committed event that matches the client's filter, once, in offset order. */
  event: (event: Event) => void;
  /** The watched connections' states: on connect and at every change. */
  status: (status: RelayStatus) => void;
  /** A resume's replay is over; live events follow. */
  "replay:done": (done: ReplayDone) => void;
  /** The position asked for was past the end of the event log; the client continues from `head`. */
  "position:reset": (reset: PositionReset) => void;
  /** A request was refused for going over the limits. */
  "rate:limit": (notice: RateLimited) => void;
  /** A request failed. */
  error: (failure: RelayFailure) => void;
  /** The relay is stopping: call `ack` (everything sent before it has arrived), reconnect later. */
  "server:shutdown": (notice: ShutdownNotice, ack: (received: boolean) => void) => void;
}

/** What a client sends to the relay; each request is answered through its ack. */
export interface ClientToServerEvents {
  /** Receive the events that match the filter from now on; with `after`, replay the stored ones after it first. */
  subscribe: (request: SubscribeRequest, ack: (answer: RequestAnswer) => void) => void;
  /** Receive nothing more. */
  unsubscribe: (ack: (answer: RequestAnswer) => void) => void;
  /** Replay the matching stored events after an offset, then continue live. */
  resume: (request: ResumeRequest, ack: (answer: RequestAnswer) => void) => void;
}
