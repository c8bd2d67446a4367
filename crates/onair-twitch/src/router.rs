//! From an EventSub notification to OnAir's unified event: the subscription type (and version) picks the
//! decoder; the event's users become actor and target; `metadata.message_id` is the `source_id`, so a
//! resend (same id) is stored once. When the event has no time of its own, `message_timestamp` is when
//! it happened. An old timestamp is still recorded (a desktop's clock drifts; a real event is never
//! thrown away for that). A type OnAir has no mapping for becomes an `unknown` event keeping the JSON.

use chrono::{DateTime, Utc};
use onair_core::{
    Actor, ChannelRef, Cheer, Currency, Empty, Event, EventData, Moderation, Platform, Raid, StreamInfo,
    Subscription, SubscriptionEnd, SubscriptionGift, Unknown,
};
use serde::Deserialize;

use crate::frame::Notification;

/// The user the Twitch CLI's mock server names as the gifter of anonymous gifts (production sends null).
const CLI_ANONYMOUS_GIFTER: &str = "274598607";

/// Why a notification could not become an event.
#[derive(Debug, thiserror::Error)]
#[error("the {subscription_type} event could not be read: {source}")]
pub struct RouteError {
    /// The subscription type.
    pub subscription_type: String,
    /// What was wrong.
    #[source]
    pub source: serde_json::Error,
}

#[derive(Deserialize)]
struct User {
    user_id: Option<String>,
    user_login: Option<String>,
    user_name: Option<String>,
}

impl User {
    fn actor(&self) -> Option<Actor> {
        actor(
            self.user_id.as_ref()?,
            self.user_login.as_ref()?,
            self.user_name.as_deref(),
        )
    }
}

fn actor(id: &str, login: &str, name: Option<&str>) -> Option<Actor> {
    Some(Actor {
        id: id.to_owned(),
        login: login.to_owned(),
        display_name: name.filter(|n| !n.is_empty()).unwrap_or(login).to_owned(),
    })
}

#[derive(Deserialize)]
struct Follow {
    #[serde(flatten)]
    user: User,
    followed_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Subscribe {
    #[serde(flatten)]
    user: User,
    tier: Option<String>,
    #[serde(default)]
    is_gift: bool,
}

#[derive(Deserialize)]
struct Gift {
    #[serde(flatten)]
    user: User,
    total: Option<u32>,
    tier: Option<String>,
    cumulative_total: Option<u32>,
    #[serde(default)]
    is_anonymous: bool,
}

#[derive(Deserialize)]
struct CheerEvent {
    #[serde(flatten)]
    user: User,
    #[serde(default)]
    is_anonymous: bool,
    message: Option<String>,
    bits: u64,
}

#[derive(Deserialize)]
struct RaidEvent {
    from_broadcaster_user_id: String,
    from_broadcaster_user_login: String,
    from_broadcaster_user_name: Option<String>,
    to_broadcaster_user_id: String,
    to_broadcaster_user_login: String,
    to_broadcaster_user_name: Option<String>,
    viewers: Option<u64>,
}

#[derive(Deserialize)]
struct Online {
    id: Option<String>,
    started_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Ban {
    #[serde(flatten)]
    user: User,
    moderator_user_id: Option<String>,
    moderator_user_login: Option<String>,
    moderator_user_name: Option<String>,
    reason: Option<String>,
    banned_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    #[serde(default = "yes")]
    is_permanent: bool,
}

fn yes() -> bool {
    true
}

impl Ban {
    fn moderator(&self) -> Option<Actor> {
        actor(
            self.moderator_user_id.as_ref()?,
            self.moderator_user_login.as_ref()?,
            self.moderator_user_name.as_deref(),
        )
    }
}

/// The unified event of `notification` in the watched `channel`, received at `received_at`.
pub fn route(
    channel: &ChannelRef,
    notification: &Notification,
    received_at: DateTime<Utc>,
) -> Result<Event, RouteError> {
    let kind = notification.subscription_type.as_str();
    let json = notification.event.get();
    let read = |source| RouteError {
        subscription_type: kind.to_owned(),
        source,
    };
    let mut occurred_at = notification.message_timestamp;
    let (data, actor, target) = match kind {
        "channel.follow" => {
            let e: Follow = serde_json::from_str(json).map_err(read)?;
            occurred_at = e.followed_at.unwrap_or(occurred_at);
            (EventData::Follow(Empty {}), e.user.actor(), None)
        }
        "channel.subscribe" => {
            let e: Subscribe = serde_json::from_str(json).map_err(read)?;
            let data = Subscription {
                tier: e.tier,
                is_gift: e.is_gift,
                ..Subscription::default()
            };
            (EventData::Subscription(data), e.user.actor(), None)
        }
        "channel.subscription.end" => {
            let e: Subscribe = serde_json::from_str(json).map_err(read)?;
            let data = SubscriptionEnd {
                tier: e.tier,
                is_gift: e.is_gift,
            };
            (EventData::SubscriptionEnd(data), e.user.actor(), None)
        }
        "channel.subscription.gift" => {
            let e: Gift = serde_json::from_str(json).map_err(read)?;
            let anonymous = e.is_anonymous || e.user.user_id.as_deref() == Some(CLI_ANONYMOUS_GIFTER);
            let data = SubscriptionGift {
                quantity: e.total.unwrap_or(1),
                recipients: Vec::new(),
                tier: e.tier,
                gifter_total: if anonymous { None } else { e.cumulative_total },
            };
            let gifter = if anonymous { None } else { e.user.actor() };
            (EventData::SubscriptionGift(data), gifter, None)
        }
        "channel.moderator.add" | "channel.moderator.remove" | "channel.vip.add" | "channel.vip.remove" => {
            let e: User = serde_json::from_str(json).map_err(read)?;
            let data = match kind {
                "channel.moderator.add" => EventData::ModeratorAdd(Empty {}),
                "channel.moderator.remove" => EventData::ModeratorRemove(Empty {}),
                "channel.vip.add" => EventData::VipAdd(Empty {}),
                _ => EventData::VipRemove(Empty {}),
            };
            (data, None, e.actor())
        }
        "channel.cheer" => {
            let e: CheerEvent = serde_json::from_str(json).map_err(read)?;
            let data = Cheer {
                amount: e.bits,
                currency: Currency::Bits,
                message: e.message,
            };
            let cheerer = if e.is_anonymous { None } else { e.user.actor() };
            (EventData::Cheer(data), cheerer, None)
        }
        "channel.raid" => {
            let e: RaidEvent = serde_json::from_str(json).map_err(read)?;
            let from = actor(
                &e.from_broadcaster_user_id,
                &e.from_broadcaster_user_login,
                e.from_broadcaster_user_name.as_deref(),
            );
            let to = actor(
                &e.to_broadcaster_user_id,
                &e.to_broadcaster_user_login,
                e.to_broadcaster_user_name.as_deref(),
            );
            let data = Raid {
                viewers: e.viewers,
                message: None,
            };
            if e.from_broadcaster_user_id == channel.platform_id {
                (EventData::RaidOut(data), None, to)
            } else {
                (EventData::Raid(data), from, None)
            }
        }
        "stream.online" => {
            let e: Online = serde_json::from_str(json).map_err(read)?;
            occurred_at = e.started_at.unwrap_or(occurred_at);
            let data = StreamInfo {
                stream_id: e.id,
                ..StreamInfo::default()
            };
            (EventData::StreamOnline(data), None, None)
        }
        "stream.offline" => (EventData::StreamOffline(StreamInfo::default()), None, None),
        "channel.ban" => {
            let e: Ban = serde_json::from_str(json).map_err(read)?;
            occurred_at = e.banned_at.unwrap_or(occurred_at);
            let duration_secs = match (e.banned_at, e.ends_at) {
                (Some(from), Some(to)) => u64::try_from((to - from).num_seconds()).ok(),
                _ => None,
            };
            let data = Moderation {
                reason: e.reason.clone().filter(|r| !r.is_empty()),
                duration_secs: if e.is_permanent { None } else { duration_secs },
                expires_at: if e.is_permanent { None } else { e.ends_at },
            };
            let event = if e.is_permanent {
                EventData::Ban(data)
            } else {
                EventData::Timeout(data)
            };
            (event, e.moderator(), e.user.actor())
        }
        "channel.unban" => {
            let e: Ban = serde_json::from_str(json).map_err(read)?;
            (
                EventData::Unban(Moderation::default()),
                e.moderator(),
                e.user.actor(),
            )
        }
        other => (
            EventData::Unknown(Unknown {
                name: other.to_owned(),
            }),
            None,
            None,
        ),
    };
    let mut event = Event::new(Platform::Twitch, channel.clone(), data)
        .with_source_id(notification.message_id.clone())
        .with_occurred_at(occurred_at);
    event.received_at = received_at;
    event.actor = actor;
    event.target = target;
    if matches!(event.data, EventData::Unknown(_)) {
        event.raw = Some(notification.event.clone());
    }
    Ok(event)
}
