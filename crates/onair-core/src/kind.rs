//! The list of event kinds: one table that defines [`EventKind`] (the name) and [`EventData`] (the typed
//! `data` of that kind) together, so the two can never drift apart.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::data::*;

macro_rules! event_kinds {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal => $data:ty ),+ $(,)?) => {
        /// What happened. The `snake_case` name is the `kind` of the JSON form and of the `events.kind` column.
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum EventKind {
            $( $(#[$doc])* $variant, )+
        }

        impl EventKind {
            /// Every kind, in the documented order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];

            /// The stable `snake_case` name.
            pub const fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)+ }
            }
        }

        /// The typed `data` of an event; the variant decides the event's [`EventKind`].
        #[derive(Debug, Clone, PartialEq)]
        pub enum EventData {
            $( $(#[$doc])* $variant($data), )+
        }

        impl EventData {
            /// The kind this data belongs to.
            pub const fn kind(&self) -> EventKind {
                match self { $(EventData::$variant(_) => EventKind::$variant,)+ }
            }

            /// Decodes the JSON `data` object of an event of `kind`.
            pub fn from_json(kind: EventKind, json: &str) -> Result<EventData, serde_json::Error> {
                Ok(match kind { $(EventKind::$variant => EventData::$variant(serde_json::from_str(json)?),)+ })
            }

            /// The TypeScript union of `{ kind; data }` pairs, one per kind (the typed half of `Event`).
            #[cfg(feature = "ts")]
            pub fn ts_union(cfg: &ts_rs::Config) -> String {
                [$(format!("{{ kind: \"{}\"; data: {} }}", $name, <$data as ts_rs::TS>::name(cfg))),+]
                    .join("\n  | ")
            }

            /// Decodes an already-parsed `data` value of an event of `kind`.
            pub fn from_value(kind: EventKind, value: serde_json::Value) -> Result<EventData, serde_json::Error> {
                Ok(match kind { $(EventKind::$variant => EventData::$variant(serde_json::from_value(value)?),)+ })
            }
        }

        impl Serialize for EventData {
            /// Serialises the `data` object alone (the kind travels beside it).
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self { $(EventData::$variant(d) => d.serialize(s),)+ }
            }
        }
    };
}

event_kinds! {
    /// A chat message. Actor: the sender.
    ChatMessage = "chat_message" => ChatMessage,
    /// A chat message was deleted. Actor: the moderator if known; target: the author if known.
    MessageDeleted = "message_deleted" => MessageRef,
    /// A message was pinned. Actor: who pinned it; target: its author.
    MessagePinned = "message_pinned" => PinnedMessage,
    /// A pinned message was unpinned. Actor: who unpinned it; target: its author.
    MessageUnpinned = "message_unpinned" => PinnedMessage,
    /// The chat was cleared by a moderator.
    ChatCleared = "chat_cleared" => Empty,
    /// The chat's modes changed (slow mode, followers-only, subscribers-only, emotes-only).
    ChatSettings = "chat_settings" => ChatSettings,
    /// Someone followed the channel. Actor: the follower.
    Follow = "follow" => Empty,
    /// The channel's follower count changed.
    FollowerCount = "follower_count" => FollowerCount,
    /// A subscription started or renewed. Actor: the subscriber.
    Subscription = "subscription" => Subscription,
    /// A subscription ended. Actor: the subscriber.
    SubscriptionEnd = "subscription_end" => SubscriptionEnd,
    /// Subscriptions were gifted. Actor: the gifter, absent when anonymous.
    SubscriptionGift = "subscription_gift" => SubscriptionGift,
    /// A permanent ban. Actor: the moderator; target: the banned user.
    Ban = "ban" => Moderation,
    /// A time-limited ban. Actor: the moderator; target: the user.
    Timeout = "timeout" => Moderation,
    /// A ban or timeout was lifted. Actor: the moderator; target: the user.
    Unban = "unban" => Moderation,
    /// A user became a moderator. Actor: who granted it, if known; target: the user.
    ModeratorAdd = "moderator_add" => Empty,
    /// A user stopped being a moderator. Actor: who revoked it, if known; target: the user.
    ModeratorRemove = "moderator_remove" => Empty,
    /// A user became a VIP. Actor: who granted it, if known; target: the user.
    VipAdd = "vip_add" => Empty,
    /// A user stopped being a VIP. Actor: who revoked it, if known; target: the user.
    VipRemove = "vip_remove" => Empty,
    /// The stream went live.
    StreamOnline = "stream_online" => StreamInfo,
    /// The stream ended.
    StreamOffline = "stream_offline" => StreamInfo,
    /// The live stream's title or category changed.
    StreamUpdated = "stream_updated" => StreamInfo,
    /// An incoming raid or host. Actor: the raiding channel.
    Raid = "raid" => Raid,
    /// This channel raided another. Target: the channel raided.
    RaidOut = "raid_out" => Raid,
    /// Bits (Twitch) or Kicks (Kick) were sent. Actor: the sender, absent when anonymous.
    Cheer = "cheer" => Cheer,
    /// A channel-points reward was redeemed. Actor: the redeemer.
    RewardRedeemed = "reward_redeemed" => RewardRedeemed,
    /// A poll started or its votes changed.
    PollUpdate = "poll_update" => Poll,
    /// A poll ended or was deleted.
    PollEnd = "poll_end" => Poll,
    /// A prediction was created or changed.
    Prediction = "prediction" => Poll,
    /// A gifts leaderboard changed; `data` is kept as the platform sent it.
    LeaderboardUpdate = "leaderboard_update" => serde_json::Value,
    /// Someone joined a Discord guild. Actor: the member.
    MemberJoin = "member_join" => Member,
    /// Someone left a Discord guild. Actor: the member.
    MemberLeave = "member_leave" => Member,
    /// A platform event OnAir has no mapping for; the original frame is kept in `raw`.
    Unknown = "unknown" => Unknown,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name that OnAir does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind `{0}`: run `onair events --help` or see docs/events.md for the list")]
pub struct UnknownKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        EventKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_name_parses_back_and_matches_serde() {
        for &k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        assert_eq!(EventKind::ALL.len(), 32);
        assert!(
            "chat"
                .parse::<EventKind>()
                .unwrap_err()
                .to_string()
                .contains("docs/events.md")
        );
    }
}
