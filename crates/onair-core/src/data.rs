//! The typed `data` of each event kind. Absent values are `null` in JSON, never missing keys; reading
//! tolerates missing keys (they become `null` / empty) so older files still import.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// No data: the actor and target say it all (`follow`, role changes, `chat_cleared`).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// An emote used in a chat message.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emote {
    /// The platform's emote id.
    pub id: String,
    /// The emote's code as typed (`KEKW`).
    pub name: String,
}

/// A badge shown beside a chatter's name.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Badge {
    /// The badge's type (`subscriber`, `moderator`, `vip`, `og`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// A count where the badge has one (subscriber months, gift count).
    #[serde(default)]
    pub count: Option<u32>,
}

/// The message a chat message replies to.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// The replied-to message's id.
    pub message_id: String,
    /// Its author's login.
    pub login: String,
    /// Its text.
    pub text: String,
}

/// `chat_message`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatMessage {
    /// The decoded text, exactly as sent (emote tags included where the platform inlines them).
    pub text: String,
    /// Emotes in the order they appear.
    pub emotes: Vec<Emote>,
    /// The sender's badges in the platform's order.
    pub badges: Vec<Badge>,
    /// The sender's name colour (`#RRGGBB`), if set.
    pub color: Option<String>,
    /// The message this one replies to, if any.
    pub reply_to: Option<ReplyTo>,
    /// The chat room inside the channel, where a channel has several: the Discord text channel's id.
    /// Omitted from JSON when absent (Kick and Twitch).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub room_id: Option<String>,
}

/// `message_deleted`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageRef {
    /// The deleted message's id.
    pub message_id: String,
}

/// `message_pinned`, `message_unpinned`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PinnedMessage {
    /// The pinned message's id.
    pub message_id: String,
    /// Its text, if the platform sent it.
    pub text: Option<String>,
    /// How long it stays pinned, if limited.
    pub duration_secs: Option<u64>,
}

/// `chat_settings`: the chat's modes after the change. `null` means the mode is off.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatSettings {
    /// Seconds between messages per chatter, or off.
    pub slow_mode_secs: Option<u32>,
    /// Minutes a chatter must have followed for, or off (`Some(0)`: any follower).
    pub followers_only_mins: Option<u32>,
    /// Only subscribers may chat.
    pub subscribers_only: Option<bool>,
    /// Only emotes may be sent.
    pub emotes_only: Option<bool>,
}

/// `follower_count`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FollowerCount {
    /// The channel's follower count.
    pub count: u64,
}

/// `subscription`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subscription {
    /// Cumulative months, if known.
    pub months: Option<u32>,
    /// The tier as the platform names it (`1000`, `2000`, `3000`; Kick: null).
    pub tier: Option<String>,
    /// Whether it was gifted.
    pub is_gift: bool,
    /// The resub message, if any.
    pub message: Option<String>,
}

/// `subscription_end`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscriptionEnd {
    /// The tier that ended.
    pub tier: Option<String>,
    /// Whether it had been gifted.
    pub is_gift: bool,
}

/// `subscription_gift`: one real gift (several recipients), however many channels announced it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscriptionGift {
    /// How many subscriptions were gifted.
    pub quantity: u32,
    /// The recipients' logins, where the platform names them (Twitch does not).
    pub recipients: Vec<String>,
    /// The tier gifted.
    pub tier: Option<String>,
    /// The gifter's total gifts in the channel, if known.
    pub gifter_total: Option<u32>,
}

/// `ban`, `timeout`, `unban`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Moderation {
    /// The reason given, if any.
    pub reason: Option<String>,
    /// A timeout's length; null for a permanent ban and for unban.
    pub duration_secs: Option<u64>,
    /// When a timeout ends; null for a permanent ban and for unban.
    pub expires_at: Option<DateTime<Utc>>,
}

/// `stream_online`, `stream_offline`, `stream_updated`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamInfo {
    /// The platform's id of the broadcast, if known.
    pub stream_id: Option<String>,
    /// The stream title.
    pub title: Option<String>,
    /// The category / game.
    pub category: Option<String>,
}

/// `raid`, `raid_out`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Raid {
    /// How many viewers came along.
    pub viewers: Option<u64>,
    /// A message, if the platform sends one.
    pub message: Option<String>,
}

/// What a cheer was paid in.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Currency {
    /// Twitch Bits.
    #[default]
    Bits,
    /// Kick's Kicks.
    Kicks,
}

/// `cheer`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cheer {
    /// How many bits or kicks.
    pub amount: u64,
    /// Bits or kicks.
    pub currency: Currency,
    /// The message sent with it.
    pub message: Option<String>,
}

/// `reward_redeemed`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RewardRedeemed {
    /// The reward's title.
    pub title: String,
    /// What the viewer typed, for rewards that take input.
    pub input: Option<String>,
}

/// One option of a poll or prediction.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PollOption {
    /// The option's label.
    pub label: String,
    /// Votes (or points) so far.
    pub votes: u64,
}

/// `poll_update`, `poll_end`, `prediction`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Poll {
    /// The question.
    pub title: String,
    /// The options with their votes.
    pub options: Vec<PollOption>,
    /// The platform's state word (`active`, `ended`, `locked`, ...), if sent.
    pub state: Option<String>,
}

/// `member_join`, `member_leave` (Discord).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Member {
    /// The guild's id.
    pub guild_id: String,
}

/// `unknown`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Unknown {
    /// The platform's own name of the event.
    pub name: String,
}
