// Generated from the Rust types (onair::views::typescript); do not edit. crates/onair/tests/bindings.rs
// fails when it is stale; ONAIR_BLESS=1 cargo test -p onair --test bindings rewrites it.

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

export type ConnectionView = { 
/**
 * `kick/onair-demo`, `discord/SERVER_ID`: the connection's id, stable while it runs.
 */
id: string, 
/**
 * The platform.
 */
platform: Platform, 
/**
 * The channels it serves.
 */
name: string, 
/**
 * Where it is.
 */
state: ConnectionState, 
/**
 * When it entered that state.
 */
since: string, 
/**
 * How many times it lost the connection (or was asked to reconnect).
 */
reconnects: number, 
/**
 * The last failure, in words.
 */
lastError: string | null, 
/**
 * When its last event arrived.
 */
lastEventAt: string | null, 
/**
 * The watch spec that started it (`kick:slug`, `twitch:login`, `discord:SERVER_ID/CHANNEL_ID`), for
 * Unwatch; `None` for the simulator.
 */
spec: string | null, 
/**
 * Events it cannot receive now, in words (a missing permission, a subscription the platform ended,
 * polling standing in for the live connection).
 */
warnings: Array<string>, };

export type Overview = { 
/**
 * The database file.
 */
database: string, 
/**
 * The connections' cards.
 */
connections: Array<ConnectionView>, 
/**
 * Whether the simulator runs.
 */
simulating: boolean, 
/**
 * The folder of the log files.
 */
logs: string, 
/**
 * Whether events reach the database.
 */
health: StoreHealthView, };

export type Overall = "idle" | "connected" | "reconnecting" | "failed" | "not_recording";

export type StoreHealthView = { 
/**
 * Recording, held up, or recording again after being held up.
 */
state: HealthState, 
/**
 * The sentence to show ([`HealthNotice`]'s text: what is wrong and what to do, or that recording
 * resumed); none while all has been well.
 */
message: string | null, 
/**
 * When it entered this state.
 */
since: string, };

export type HealthState = "recording" | "held_up" | "recovered";

export type StartupView = { "state": "running", 
/**
 * Where an unusable database file was moved at this start, if it was.
 */
movedAside: string | null, } | { "state": "stopped", 
/**
 * The database file.
 */
database: string, 
/**
 * What is wrong (the store's error: it names the file and says what to do).
 */
problem: string, 
/**
 * Whether the file itself is the trouble (not OnAir's, or damaged), so moving it aside and
 * starting a new database helps.
 */
canMoveAside: boolean, };

export type FeedQuery = { 
/**
 * Only events after this offset (the live tail).
 */
after?: number, 
/**
 * Only events before this offset (older pages); without `after` or `before`, the newest `limit`.
 */
before?: number, 
/**
 * Only these kinds.
 */
kinds?: Array<EventKind>, 
/**
 * Only this platform.
 */
platform?: Platform, 
/**
 * Only this channel (its slug).
 */
channel?: string, 
/**
 * Only chat matching these words.
 */
search?: string, 
/**
 * At most this many (default 500, at most 5000).
 */
limit?: number, };

export type AccountView = { 
/**
 * The platform.
 */
platform: Platform, 
/**
 * The name shown on the platform, when signed in.
 */
signedInAs: string | null, 
/**
 * The account's own channel, when known.
 */
ownChannel: string | null, 
/**
 * Whether signing in is set up (the app's client id is known).
 */
canSignIn: boolean, 
/**
 * Whether the app's client secret is in the keychain (else the sign-in asks for it).
 */
hasClientSecret: boolean, 
/**
 * What went wrong with the account, in words (a renewal the platform refused: sign in again).
 */
problem: string | null, 
/**
 * A device-code sign-in under way (Twitch): the code to enter and where.
 */
deviceCode: DeviceCodeView | null, };

export type DeviceCodeView = { 
/**
 * The code to enter.
 */
userCode: string, 
/**
 * The page to enter it on.
 */
verificationUri: string, };

export type DiscordAccountView = { 
/**
 * The bot, when a token is kept and Discord accepts it.
 */
bot: DiscordBotView | null, 
/**
 * Whether the token comes from `ONAIR_DISCORD_BOT_TOKEN` (then it is neither kept nor forgotten here).
 */
fromEnvironment: boolean, 
/**
 * What went wrong with the token, in words, and what to do.
 */
problem: string | null, };

export type DiscordBotView = { 
/**
 * Its user id (also its application's id).
 */
id: string, 
/**
 * Its user name.
 */
name: string, 
/**
 * The page that adds it to a server with the permissions OnAir needs.
 */
inviteUrl: string, };

export type DiscordServerView = { 
/**
 * The server's id.
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * Its message channels the bot can see, by name.
 */
channels: Array<DiscordChannelView>, 
/**
 * Why its channels could not be listed, when they could not.
 */
problem: string | null, };

export type DiscordChannelView = { 
/**
 * Its id.
 */
id: string, 
/**
 * Its name, without `#`.
 */
name: string, };

export type MinuteCountView = { 
/**
 * The minute's start.
 */
minute: string, 
/**
 * The kind.
 */
kind: EventKind, 
/**
 * How many.
 */
count: number, };

export type StatsView = { 
/**
 * Events per minute by kind over the last hour.
 */
perMinute: Array<MinuteCountView>, 
/**
 * Totals by kind since the app started.
 */
sessionTotals: { [key in EventKind]?: number }, 
/**
 * When the session started.
 */
sessionStart: string, 
/**
 * Every event stored.
 */
stored: number, };

export type Theme = "system" | "light" | "dark";

export type NotifyRules = { 
/**
 * The kinds that notify.
 */
kinds: Array<EventKind>, 
/**
 * Streamer mode: no notification at all (on screen while live), without losing the rules.
 */
muted: boolean, };

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

export type RelaySettings = { 
/**
 * Serve events to overlays and bots.
 */
enabled: boolean, 
/**
 * The port it listens on.
 */
port: number, 
/**
 * Listen on every network interface, so other computers on the network (a second PC running OBS)
 * can connect with the token; otherwise only this computer can.
 */
lan: boolean, };

export type RelayView = { 
/**
 * Where it listens (`127.0.0.1:41490`), while it runs.
 */
address: string | null, 
/**
 * Why it does not run although it is on: what happened and what to do.
 */
problem: string | null, 
/**
 * Who is connected, oldest first.
 */
clients: Array<RelayClient>, };

export type DesktopSettings = { 
/**
 * The channels watched, as specs (`kick:slug`, `kick:slug@CHANNEL_ID/CHATROOM_ID`, `twitch:login`,
 * `discord:SERVER_ID[/CHANNEL_ID,...]`).
 */
channels: Array<string>, 
/**
 * What notifies.
 */
notifications: NotifyRules, 
/**
 * Start hidden in the tray.
 */
startMinimised: boolean, 
/**
 * Start with the session.
 */
launchAtLogin: boolean, 
/**
 * The colour scheme.
 */
theme: Theme, 
/**
 * The Kick app's client id, for signing in (its secret is kept in the keychain).
 */
kickClientId: string | null, 
/**
 * The Twitch app's client id (a public client: no secret), for signing in and watching Twitch.
 */
twitchClientId: string | null, 
/**
 * The relay for overlays and bots.
 */
relay: RelaySettings, };
