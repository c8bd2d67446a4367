//! The event map: a registry of Kick's native event names (with or without `App\Events\`) to decoders that
//! turn a Pusher frame's payload into OnAir's unified events (DESIGN section 3).
//!
//! - One frame gives zero, one or two events (`FollowersUpdated` naming its follower gives a follow and a
//!   count).
//! - `source_id` is Kick's own id where there is one. Without one, the same frame on a channel alias
//!   (`chatrooms.X.v2` / `chatroom_X`) must be stored once, yet a real repeat later (slow mode on, off,
//!   on again; a second identical redemption) must not be lost: the map keeps, for [`TWIN_WINDOW`], the id
//!   it gave each payload (hashed with the channel and the event) and where it arrived (the feed, per
//!   subscription), so a twin on another feed or a replay after a resubscription within the window gets
//!   the same id, and a repeat within one subscription or anything later a new one
//!   (`h:<hash>:<received ms>`). A gift arrives twice
//!   (`GiftedSubscriptionsEvent` on the chatroom, `LuckyUsersWhoGotGiftSubscriptionsEvent` on the
//!   channel): both halves are keyed by channel, gifter and recipients the same way, so one
//!   `subscription_gift` is recorded per real gift.
//! - Kick names some people only by username (subscribers, gifters, hosts): their actor id is
//!   `@` + the lower-cased name, so they are never confused with a numeric user id.
//! - A payload that does not decode is recorded as `unknown` with its raw JSON, never lost; so is an
//!   unknown event name.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use onair_core::{
    Actor, Badge, ChannelRef, ChatMessage, ChatSettings, Cheer, Currency, Emote, Empty, Event, EventData,
    FollowerCount, MessageRef, Moderation, PinnedMessage, Platform, Poll, PollOption, Raid, ReplyTo,
    RewardRedeemed, StreamInfo, Subscription, SubscriptionGift, Unknown,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// The prefix most Kick event names carry.
pub const EVENT_PREFIX: &str = r"App\Events\";

/// How long the twin of an id-less event (the same payload on a channel alias, a gift's other half) gets
/// the first one's id. Pusher never replays, so twins arrive within moments.
pub const TWIN_WINDOW: Duration = Duration::from_secs(30);

/// The id the map gave an id-less payload, and the feeds it came on.
struct Recent {
    first: DateTime<Utc>,
    id: String,
    feeds: Vec<u64>,
    /// How many payloads before this one had the same hash (for ids minted within one millisecond).
    repeat: u32,
}

/// How an event is identified.
enum Identity {
    /// Kick's own id: final.
    Kick(String),
    /// No id: twins within [`TWIN_WINDOW`] share one, minted from `prefix` and a hash of `key`.
    Twin { prefix: &'static str, key: String },
}

/// What one frame became.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// Events to record (usually one).
    Events(Vec<Event>),
    /// Nothing to record, and why (a legacy duplicate, a twin recorded elsewhere).
    Ignored(&'static str),
}

/// An event before it is placed on a channel.
struct Draft {
    data: EventData,
    actor: Option<Actor>,
    target: Option<Actor>,
    occurred_at: Option<DateTime<Utc>>,
    identity: Option<Identity>,
}

impl Draft {
    fn new(data: EventData) -> Self {
        Draft {
            data,
            actor: None,
            target: None,
            occurred_at: None,
            identity: None,
        }
    }
    fn actor(mut self, actor: Option<Actor>) -> Self {
        self.actor = actor;
        self
    }
    fn target(mut self, target: Option<Actor>) -> Self {
        self.target = target;
        self
    }
    fn at(mut self, at: Option<DateTime<Utc>>) -> Self {
        self.occurred_at = at;
        self
    }
    fn source(mut self, id: impl Into<String>) -> Self {
        self.identity = Some(Identity::Kick(id.into()));
        self
    }
    fn twin(mut self, prefix: &'static str, key: String) -> Self {
        self.identity = Some(Identity::Twin { prefix, key });
        self
    }
}

/// What a decoder returns.
enum Decoded {
    Drafts(Vec<Draft>),
    Ignored(&'static str),
}

impl From<Draft> for Decoded {
    fn from(draft: Draft) -> Self {
        Decoded::Drafts(vec![draft])
    }
}

type Decoder = fn(&str) -> Result<Decoded, serde_json::Error>;

/// The registry of decoders by bare event name, and the ids recently given to id-less events.
pub struct EventMap {
    decoders: HashMap<&'static str, Decoder>,
    recent: HashMap<u64, Recent>,
}

impl Default for EventMap {
    fn default() -> Self {
        Self::new()
    }
}

impl EventMap {
    /// Every event Kick is known to send.
    pub fn new() -> Self {
        let entries: [(&'static str, Decoder); 27] = [
            ("ChatMessageEvent", chat_message),
            ("ChatMessageSentEvent", |_| {
                Ok(Decoded::Ignored("the legacy twin of ChatMessageEvent"))
            }),
            ("MessageDeletedEvent", message_deleted),
            ("PinnedMessageCreatedEvent", message_pinned),
            ("PinnedMessageDeletedEvent", message_unpinned),
            ("ChatroomClearEvent", |_| {
                Ok(Draft::new(EventData::ChatCleared(Empty {})).into())
            }),
            ("ChatroomUpdatedEvent", chat_settings),
            ("UserBannedEvent", user_banned),
            ("UserUnbannedEvent", user_unbanned),
            ("SubscriptionEvent", subscription),
            ("GiftedSubscriptionsEvent", gifted_subscriptions),
            ("LuckyUsersWhoGotGiftSubscriptionsEvent", lucky_users),
            ("ChannelSubscriptionEvent", |_| {
                Ok(Decoded::Ignored(
                    "the channel-level twin of SubscriptionEvent / GiftedSubscriptionsEvent",
                ))
            }),
            ("FollowersUpdated", followers_updated),
            ("StreamerIsLive", streamer_is_live),
            ("StopStreamBroadcast", stop_stream_broadcast),
            ("LivestreamUpdated", livestream_updated),
            ("StreamHostEvent", stream_host),
            ("StreamHostedEvent", stream_hosted),
            ("ChatMoveToSupportedChannelEvent", chat_move),
            ("KicksGifted", kicks_gifted),
            ("RewardRedeemedEvent", reward_redeemed),
            ("PollUpdateEvent", poll_update),
            ("PollDeleteEvent", |_| {
                Ok(Draft::new(EventData::PollEnd(Poll {
                    title: String::new(),
                    options: Vec::new(),
                    state: Some("deleted".into()),
                }))
                .into())
            }),
            ("PredictionCreated", prediction),
            ("PredictionUpdated", prediction),
            ("GiftsLeaderboardUpdated", leaderboard),
        ];
        EventMap {
            decoders: entries.into_iter().collect(),
            recent: HashMap::new(),
        }
    }

    /// Whether `event` (prefixed or bare) has a decoder.
    pub fn knows(&self, event: &str) -> bool {
        self.decoders.contains_key(bare(event))
    }

    /// Maps one frame's `event` and payload (`data`, JSON text) received for `channel` at `received_at`.
    /// `feed` names where it arrived: the Pusher channel (e.g. `chatrooms.X.v2`), told apart per
    /// subscription when the caller resubscribes (`chatrooms.X.v2#2`). The same id-less payload again under
    /// the same name is a real repeat; under another name (an alias, a gift's other half, a replay after
    /// a reconnect) within [`TWIN_WINDOW`], a twin.
    pub fn map(
        &mut self,
        channel: &ChannelRef,
        feed: &str,
        event: &str,
        data: &str,
        received_at: DateTime<Utc>,
    ) -> Mapped {
        let name = bare(event);
        let decoded = match self.decoders.get(name) {
            Some(decode) => decode(data).unwrap_or_else(|e| {
                tracing::warn!(event, error = %e, "a Kick event did not decode; recording it as unknown");
                unknown(event)
            }),
            None => {
                tracing::debug!(event, "an event OnAir does not know; recording it as unknown");
                unknown(event)
            }
        };
        let drafts = match decoded {
            Decoded::Ignored(why) => return Mapped::Ignored(why),
            Decoded::Drafts(drafts) => drafts,
        };
        let events = drafts
            .into_iter()
            .enumerate()
            .map(|(n, draft)| {
                let is_unknown = matches!(draft.data, EventData::Unknown(_));
                let identity = draft.identity.unwrap_or_else(|| Identity::Twin {
                    prefix: "h",
                    key: format!("{name}\u{0}{n}\u{0}{data}"),
                });
                let source_id = match identity {
                    Identity::Kick(id) => id,
                    Identity::Twin { prefix, key } => self.twin_id(channel, feed, prefix, &key, received_at),
                };
                let mut event =
                    Event::new(Platform::Kick, channel.clone(), draft.data).with_source_id(source_id);
                event.received_at = received_at;
                event.occurred_at = draft.occurred_at.unwrap_or(received_at);
                event.actor = draft.actor;
                event.target = draft.target;
                if is_unknown {
                    // The payload as sent (only here: chat never pays for a copy); a payload that is not
                    // JSON is kept as a JSON string.
                    event.raw = RawValue::from_string(data.to_owned())
                        .ok()
                        .or_else(|| serde_json::value::to_raw_value(data).ok());
                }
                event
            })
            .collect();
        Mapped::Events(events)
    }
}

/// The event name without `App\Events\`.
pub fn bare(event: &str) -> &str {
    event.strip_prefix(EVENT_PREFIX).unwrap_or(event)
}

fn unknown(event: &str) -> Decoded {
    Draft::new(EventData::Unknown(Unknown {
        name: event.to_owned(),
    }))
    .into()
}

impl EventMap {
    /// The id of an id-less event: its twin's when one came within [`TWIN_WINDOW`] on another feed (an
    /// alias, a gift's other half), else a new one (a repeat on the same feed is a real repeat: two
    /// identical Kicks in a row are two gifts).
    fn twin_id(
        &mut self,
        channel: &ChannelRef,
        feed: &str,
        prefix: &str,
        key: &str,
        at: DateTime<Utc>,
    ) -> String {
        let hash =
            xxhash_rust::xxh3::xxh3_64(format!("{}\u{0}{prefix}\u{0}{key}", channel.platform_id).as_bytes());
        let feed_hash = xxhash_rust::xxh3::xxh3_64(feed.as_bytes());
        let window = chrono::Duration::from_std(TWIN_WINDOW).unwrap_or_default();
        if let Some(recent) = self.recent.get_mut(&hash)
            && at.signed_duration_since(recent.first).abs() <= window
            && !recent.feeds.contains(&feed_hash)
        {
            recent.feeds.push(feed_hash);
            return recent.id.clone();
        }
        if self.recent.len() >= 4096 {
            self.recent
                .retain(|_, recent| at.signed_duration_since(recent.first).abs() <= window);
        }
        // Milliseconds and, for repeats within one millisecond, a count.
        let previous = self.recent.get(&hash);
        let repeat = previous.map_or(0, |r| r.repeat + 1);
        let mut id = format!("{prefix}:{hash:016x}:{}", at.timestamp_millis());
        if previous.is_some_and(|r| r.id.starts_with(&id)) {
            id = format!("{id}.{repeat}");
        }
        self.recent.insert(
            hash,
            Recent {
                first: at,
                id: id.clone(),
                feeds: vec![feed_hash],
                repeat,
            },
        );
        id
    }
}

fn decode<T: DeserializeOwned>(data: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(data)
}

// ---- shared wire shapes -------------------------------------------------------------------------------

/// A number Kick sometimes sends as a string.
#[derive(Debug, Clone, Copy, Default)]
struct Num(Option<u64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(u64),
            Float(f64),
            Text(String),
            Null(()),
        }
        Ok(Num(match Either::deserialize(d)? {
            Either::Number(n) => Some(n),
            Either::Float(f) if f >= 0.0 => Some(f as u64),
            Either::Float(_) | Either::Null(()) => None,
            Either::Text(s) => s.trim().parse().ok(),
        }))
    }
}

/// A user as most payloads carry one.
#[derive(Deserialize)]
struct User {
    #[serde(default)]
    id: Num,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    slug: Option<String>,
}

impl User {
    /// The actor; a zero or missing id falls back to the name.
    fn actor(&self) -> Option<Actor> {
        let username = self.username.as_deref().filter(|u| !u.is_empty())?;
        match self.id.0.filter(|id| *id > 0) {
            Some(id) => {
                let login = self.slug.clone().unwrap_or_else(|| username.to_ascii_lowercase());
                let mut actor = Actor::new(id.to_string(), login);
                actor.display_name = username.to_owned();
                Some(actor)
            }
            None => named(username),
        }
    }
}

/// Someone Kick names only by username.
fn named(username: &str) -> Option<Actor> {
    if username.is_empty() {
        return None;
    }
    let login = username.to_ascii_lowercase();
    let mut actor = Actor::new(format!("@{login}"), login);
    actor.display_name = username.to_owned();
    Some(actor)
}

/// RFC 3339 (`+00:00`, `Z`, fractions) or Kick's `2026-05-22 18:00:03` (UTC): every time Kick sends,
/// over Pusher and REST alike.
pub(crate) fn kick_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    let text = text?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
}

// ---- chat -----------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WireChat {
    id: String,
    content: String,
    #[serde(default)]
    created_at: Option<String>,
    sender: WireSender,
    #[serde(default)]
    metadata: Option<WireMetadata>,
}

#[derive(Deserialize)]
struct WireSender {
    #[serde(flatten)]
    user: User,
    #[serde(default)]
    identity: Option<WireIdentity>,
}

#[derive(Deserialize, Default)]
struct WireIdentity {
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    badges: Vec<WireBadge>,
}

#[derive(Deserialize)]
struct WireBadge {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    count: Num,
}

#[derive(Deserialize)]
struct WireMetadata {
    #[serde(default)]
    original_sender: Option<User>,
    #[serde(default)]
    original_message: Option<WireOriginal>,
}

#[derive(Deserialize)]
struct WireOriginal {
    id: String,
    #[serde(default)]
    content: Option<String>,
}

fn chat_message(data: &str) -> Result<Decoded, serde_json::Error> {
    let chat: WireChat = decode(data)?;
    let identity = chat.sender.identity.unwrap_or_default();
    let reply_to = chat.metadata.and_then(|meta| {
        let original = meta.original_message?;
        Some(ReplyTo {
            message_id: original.id,
            login: meta.original_sender.and_then(|s| s.username).unwrap_or_default(),
            text: original.content.unwrap_or_default(),
        })
    });
    let message = ChatMessage {
        emotes: emotes(&chat.content),
        text: chat.content,
        badges: identity
            .badges
            .into_iter()
            .map(|b| Badge {
                kind: b.kind,
                count: b.count.0.and_then(|c| u32::try_from(c).ok()),
            })
            .collect(),
        color: identity.color,
        reply_to,
        room_id: None,
    };
    Ok(Draft::new(EventData::ChatMessage(message))
        .actor(chat.sender.user.actor())
        .at(kick_time(chat.created_at.as_deref()))
        .source(format!("chat:{}", chat.id))
        .into())
}

/// The `[emote:<digits>:<name>]` tags of `text`, in order; a tag whose id is not all digits is text.
pub fn emotes(text: &str) -> Vec<Emote> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("[emote:") {
        let after = &rest[start + "[emote:".len()..];
        let Some(end) = after.find(']') else { break };
        let tag = &after[..end];
        if let Some((id, name)) = tag.split_once(':')
            && !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty()
        {
            found.push(Emote {
                id: id.to_owned(),
                name: name.to_owned(),
            });
            rest = &after[end + 1..];
        } else {
            rest = after;
        }
    }
    found
}

#[derive(Deserialize)]
struct WireDeleted {
    #[serde(default)]
    id: Option<String>,
    message: WireId,
}

#[derive(Deserialize)]
struct WireId {
    id: String,
}

fn message_deleted(data: &str) -> Result<Decoded, serde_json::Error> {
    let deleted: WireDeleted = decode(data)?;
    let source = format!("deleted:{}", deleted.id.as_deref().unwrap_or(&deleted.message.id));
    Ok(Draft::new(EventData::MessageDeleted(MessageRef {
        message_id: deleted.message.id,
    }))
    .source(source)
    .into())
}

#[derive(Deserialize)]
struct WirePinned {
    message: WirePinnedMessage,
    #[serde(default)]
    duration: Num,
    #[serde(default, rename = "pinnedBy")]
    pinned_by: Option<User>,
}

#[derive(Deserialize)]
struct WirePinnedMessage {
    id: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    sender: Option<User>,
}

fn message_pinned(data: &str) -> Result<Decoded, serde_json::Error> {
    let pinned: WirePinned = decode(data)?;
    let author = pinned.message.sender.as_ref().and_then(User::actor);
    Ok(Draft::new(EventData::MessagePinned(PinnedMessage {
        message_id: pinned.message.id,
        text: pinned.message.content,
        duration_secs: pinned.duration.0,
    }))
    .actor(pinned.pinned_by.as_ref().and_then(User::actor))
    .target(author)
    .into())
}

#[derive(Deserialize, Default)]
struct WireUnpinned {
    #[serde(default)]
    message: Option<WireId>,
}

fn message_unpinned(data: &str) -> Result<Decoded, serde_json::Error> {
    // Its payload is not known to carry anything; read an id if there is one.
    let unpinned: WireUnpinned = decode(data).unwrap_or_default();
    Ok(Draft::new(EventData::MessageUnpinned(PinnedMessage {
        message_id: unpinned.message.map(|m| m.id).unwrap_or_default(),
        text: None,
        duration_secs: None,
    }))
    .into())
}

#[derive(Deserialize, Default)]
struct WireMode {
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    message_interval: Num,
    #[serde(default)]
    min_duration: Num,
}

#[derive(Deserialize)]
struct WireChatroom {
    #[serde(default)]
    slow_mode: Option<WireMode>,
    #[serde(default)]
    subscribers_mode: Option<WireMode>,
    #[serde(default)]
    followers_mode: Option<WireMode>,
    #[serde(default)]
    emotes_mode: Option<WireMode>,
}

/// The modes as Kick sends them; a shape without any of them (a newer one) is not read as "all off".
struct Chatroom {
    slow_mode: WireMode,
    subscribers_mode: WireMode,
    followers_mode: WireMode,
    emotes_mode: WireMode,
}

fn chat_settings(data: &str) -> Result<Decoded, serde_json::Error> {
    let wire: WireChatroom = decode(data)?;
    if wire.slow_mode.is_none()
        && wire.subscribers_mode.is_none()
        && wire.followers_mode.is_none()
        && wire.emotes_mode.is_none()
    {
        return Err(serde::de::Error::custom("no chat mode in ChatroomUpdatedEvent"));
    }
    let room = Chatroom {
        slow_mode: wire.slow_mode.unwrap_or_default(),
        subscribers_mode: wire.subscribers_mode.unwrap_or_default(),
        followers_mode: wire.followers_mode.unwrap_or_default(),
        emotes_mode: wire.emotes_mode.unwrap_or_default(),
    };
    let on = |mode: &WireMode| mode.enabled.then_some(true);
    let settings = ChatSettings {
        slow_mode_secs: room.slow_mode.enabled.then(|| {
            room.slow_mode
                .message_interval
                .0
                .and_then(|s| u32::try_from(s).ok())
                .unwrap_or(0)
        }),
        followers_only_mins: room.followers_mode.enabled.then(|| {
            room.followers_mode
                .min_duration
                .0
                .and_then(|m| u32::try_from(m).ok())
                .unwrap_or(0)
        }),
        subscribers_only: on(&room.subscribers_mode),
        emotes_only: on(&room.emotes_mode),
    };
    Ok(Draft::new(EventData::ChatSettings(settings)).into())
}

// ---- moderation ----------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WireBan {
    #[serde(default)]
    id: Option<String>,
    user: User,
    #[serde(default, alias = "unbanned_by")]
    banned_by: Option<User>,
    #[serde(default)]
    permanent: bool,
    #[serde(default)]
    duration: Num,
    #[serde(default)]
    expires_at: Option<String>,
}

fn user_banned(data: &str) -> Result<Decoded, serde_json::Error> {
    let ban: WireBan = decode(data)?;
    let draft = if ban.permanent {
        Draft::new(EventData::Ban(Moderation::default()))
    } else {
        Draft::new(EventData::Timeout(Moderation {
            reason: None,
            duration_secs: ban.duration.0.map(|minutes| minutes.saturating_mul(60)),
            expires_at: kick_time(ban.expires_at.as_deref()),
        }))
    };
    Ok(moderation(draft, ban, "ban"))
}

fn user_unbanned(data: &str) -> Result<Decoded, serde_json::Error> {
    let ban: WireBan = decode(data)?;
    Ok(moderation(
        Draft::new(EventData::Unban(Moderation::default())),
        ban,
        "unban",
    ))
}

fn moderation(draft: Draft, ban: WireBan, what: &str) -> Decoded {
    let draft = draft
        .actor(ban.banned_by.as_ref().and_then(User::actor))
        .target(ban.user.actor());
    match ban.id {
        Some(id) => draft.source(format!("{what}:{id}")).into(),
        None => draft.into(),
    }
}

// ---- subscriptions and follows ------------------------------------------------------------------------

#[derive(Deserialize)]
struct WireSubscription {
    username: String,
    #[serde(default)]
    months: Num,
    #[serde(default)]
    custom_message: Option<String>,
}

fn subscription(data: &str) -> Result<Decoded, serde_json::Error> {
    let sub: WireSubscription = decode(data)?;
    Ok(Draft::new(EventData::Subscription(Subscription {
        months: sub.months.0.and_then(|m| u32::try_from(m).ok()),
        tier: None,
        is_gift: false,
        message: sub.custom_message.filter(|m| !m.is_empty()),
    }))
    .actor(named(&sub.username))
    .into())
}

#[derive(Deserialize)]
struct WireGift {
    #[serde(default, alias = "usernames")]
    gifted_usernames: Vec<String>,
    #[serde(default)]
    gifter_username: Option<String>,
    #[serde(default)]
    gifter_total: Num,
}

fn gift(gift: WireGift) -> Decoded {
    let gifter = gift.gifter_username.unwrap_or_default();
    let mut recipients = gift.gifted_usernames;
    let mut key = recipients.clone();
    key.sort();
    // A gift's two halves are twins: who gave, to whom.
    let key = format!("{gifter}\u{0}{}", key.join("\u{0}"));
    recipients.shrink_to_fit();
    let anonymous = gifter.is_empty() || gifter.eq_ignore_ascii_case("anonymous");
    Draft::new(EventData::SubscriptionGift(SubscriptionGift {
        quantity: u32::try_from(recipients.len()).unwrap_or(u32::MAX),
        recipients,
        tier: None,
        gifter_total: gift.gifter_total.0.and_then(|t| u32::try_from(t).ok()),
    }))
    .actor(if anonymous { None } else { named(&gifter) })
    .twin("gift", key)
    .into()
}

fn gifted_subscriptions(data: &str) -> Result<Decoded, serde_json::Error> {
    decode(data).map(gift)
}

fn lucky_users(data: &str) -> Result<Decoded, serde_json::Error> {
    decode(data).map(gift)
}

#[derive(Deserialize)]
struct WireFollowers {
    #[serde(default, rename = "followersCount", alias = "followers_count")]
    followers_count: Num,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    followed: Option<bool>,
    #[serde(default)]
    created_at: Num,
}

fn followers_updated(data: &str) -> Result<Decoded, serde_json::Error> {
    let followers: WireFollowers = decode(data)?;
    let at = followers
        .created_at
        .0
        .and_then(|secs| Utc.timestamp_opt(i64::try_from(secs).ok()?, 0).single());
    let mut drafts = Vec::new();
    if let Some(count) = followers.followers_count.0 {
        drafts.push(Draft::new(EventData::FollowerCount(FollowerCount { count })).at(at));
    }
    if followers.followed != Some(false)
        && let Some(follower) = followers.username.as_deref().and_then(named)
    {
        drafts.push(
            Draft::new(EventData::Follow(Empty {}))
                .actor(Some(follower))
                .at(at),
        );
    }
    Ok(Decoded::Drafts(drafts))
}

// ---- the stream ------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WireLive {
    livestream: WireLivestream,
}

#[derive(Deserialize)]
struct WireLivestream {
    #[serde(default)]
    id: Num,
    #[serde(default)]
    session_title: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    categories: Vec<WireCategory>,
}

#[derive(Deserialize)]
struct WireCategory {
    name: String,
}

fn stream(data: &str, kind: fn(StreamInfo) -> EventData, what: &str) -> Result<Decoded, serde_json::Error> {
    let live: WireLive = decode(data)?;
    let stream = live.livestream;
    let draft = Draft::new(kind(StreamInfo {
        stream_id: stream.id.0.map(|id| id.to_string()),
        title: stream.session_title,
        category: stream.categories.into_iter().next().map(|c| c.name),
    }));
    Ok(match stream.id.0 {
        Some(id) if what != "updated" => draft.source(format!("{what}:{id}")).into(),
        _ => draft.into(),
    })
}

fn streamer_is_live(data: &str) -> Result<Decoded, serde_json::Error> {
    let at = decode::<WireLive>(data)
        .ok()
        .and_then(|live| kick_time(live.livestream.created_at.as_deref()));
    let mut decoded = stream(data, EventData::StreamOnline, "live")?;
    if let Decoded::Drafts(drafts) = &mut decoded {
        for draft in drafts {
            draft.occurred_at = at;
        }
    }
    Ok(decoded)
}

fn stop_stream_broadcast(data: &str) -> Result<Decoded, serde_json::Error> {
    stream(data, EventData::StreamOffline, "offline")
}

fn livestream_updated(data: &str) -> Result<Decoded, serde_json::Error> {
    stream(data, EventData::StreamUpdated, "updated")
}

#[derive(Deserialize)]
struct WireHost {
    host_username: String,
    #[serde(default)]
    number_viewers: Num,
    #[serde(default)]
    optional_message: Option<String>,
}

fn stream_host(data: &str) -> Result<Decoded, serde_json::Error> {
    let host: WireHost = decode(data)?;
    Ok(Draft::new(EventData::Raid(Raid {
        viewers: host.number_viewers.0,
        message: host.optional_message.filter(|m| !m.is_empty()),
    }))
    .actor(named(&host.host_username))
    .into())
}

#[derive(Deserialize)]
struct WireHosted {
    message: WireHostedMessage,
    user: User,
}

#[derive(Deserialize)]
struct WireHostedMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "numberOfViewers")]
    viewers: Num,
    #[serde(default, rename = "optionalMessage")]
    message: Option<String>,
    #[serde(default, rename = "createdAt")]
    created_at: Option<String>,
}

fn stream_hosted(data: &str) -> Result<Decoded, serde_json::Error> {
    let hosted: WireHosted = decode(data)?;
    let draft = Draft::new(EventData::Raid(Raid {
        viewers: hosted.message.viewers.0,
        message: hosted.message.message.filter(|m| !m.is_empty()),
    }))
    .actor(hosted.user.actor())
    .at(kick_time(hosted.message.created_at.as_deref()));
    Ok(match hosted.message.id {
        Some(id) => draft.source(format!("hosted:{id}")).into(),
        None => draft.into(),
    })
}

#[derive(Deserialize)]
struct WireMove {
    hosted: WireMoveTarget,
}

#[derive(Deserialize)]
struct WireMoveTarget {
    #[serde(flatten)]
    user: User,
    #[serde(default)]
    viewers_count: Num,
}

fn chat_move(data: &str) -> Result<Decoded, serde_json::Error> {
    let moved: WireMove = decode(data)?;
    Ok(Draft::new(EventData::RaidOut(Raid {
        viewers: moved.hosted.viewers_count.0,
        message: None,
    }))
    .target(moved.hosted.user.actor())
    .into())
}

// ---- money, rewards, polls ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WireKicks {
    #[serde(default)]
    message: Option<String>,
    sender: User,
    gift: WireKicksGift,
}

#[derive(Deserialize)]
struct WireKicksGift {
    #[serde(default)]
    amount: Num,
}

fn kicks_gifted(data: &str) -> Result<Decoded, serde_json::Error> {
    let kicks: WireKicks = decode(data)?;
    Ok(Draft::new(EventData::Cheer(Cheer {
        amount: kicks.gift.amount.0.unwrap_or(0),
        currency: Currency::Kicks,
        message: kicks.message.filter(|m| !m.is_empty()),
    }))
    .actor(kicks.sender.actor())
    .into())
}

#[derive(Deserialize)]
struct WireReward {
    reward_title: String,
    #[serde(default)]
    user_id: Num,
    username: String,
    #[serde(default)]
    user_input: Option<String>,
}

fn reward_redeemed(data: &str) -> Result<Decoded, serde_json::Error> {
    let reward: WireReward = decode(data)?;
    let redeemer = User {
        id: reward.user_id,
        username: Some(reward.username),
        slug: None,
    };
    Ok(Draft::new(EventData::RewardRedeemed(RewardRedeemed {
        title: reward.reward_title,
        input: reward.user_input.filter(|i| !i.is_empty()),
    }))
    .actor(redeemer.actor())
    .into())
}

#[derive(Deserialize)]
struct WirePollUpdate {
    poll: WirePoll,
}

#[derive(Deserialize)]
struct WirePoll {
    title: String,
    #[serde(default)]
    options: Vec<WirePollOption>,
    #[serde(default)]
    remaining: Num,
}

#[derive(Deserialize)]
struct WirePollOption {
    label: String,
    #[serde(default)]
    votes: Num,
}

fn poll_update(data: &str) -> Result<Decoded, serde_json::Error> {
    let update: WirePollUpdate = decode(data)?;
    let state = if update.poll.remaining.0 == Some(0) {
        "ended"
    } else {
        "active"
    };
    Ok(Draft::new(EventData::PollUpdate(Poll {
        title: update.poll.title,
        options: update
            .poll
            .options
            .into_iter()
            .map(|o| PollOption {
                label: o.label,
                votes: o.votes.0.unwrap_or(0),
            })
            .collect(),
        state: Some(state.into()),
    }))
    .into())
}

#[derive(Deserialize)]
struct WirePrediction {
    prediction: WirePredictionBody,
}

#[derive(Deserialize)]
struct WirePredictionBody {
    title: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    outcomes: Vec<WireOutcome>,
}

#[derive(Deserialize)]
struct WireOutcome {
    title: String,
    #[serde(default)]
    vote_count: Num,
}

fn prediction(data: &str) -> Result<Decoded, serde_json::Error> {
    let prediction: WirePrediction = decode(data)?;
    let body = prediction.prediction;
    Ok(Draft::new(EventData::Prediction(Poll {
        title: body.title,
        options: body
            .outcomes
            .into_iter()
            .map(|o| PollOption {
                label: o.title,
                votes: o.vote_count.0.unwrap_or(0),
            })
            .collect(),
        state: body.state.map(|s| s.to_ascii_lowercase()),
    }))
    .into())
}

/// The leaderboards, kept as Kick sent them: an object (anything else, `null` included, is not one, and is
/// kept as an `unknown` event: a `null` data would not read back from the event's JSON as itself).
fn leaderboard(data: &str) -> Result<Decoded, serde_json::Error> {
    let board: serde_json::Map<String, serde_json::Value> = decode(data)?;
    Ok(Draft::new(EventData::LeaderboardUpdate(serde_json::Value::Object(board))).into())
}
