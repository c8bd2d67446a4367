//! The EventSub subscriptions OnAir asks for on a channel: each type with its version, the scopes that allow
//! it (any one of them), and its condition; the sign-in's scope list derived from them (exactly what the
//! types need, nothing more); which types a token's scopes allow and which scope each of the others lacks
//! (shown per type, never a failure of the whole connection); and the body of the Helix request that
//! creates one on a WebSocket session.

use serde_json::{Value, json};

/// What a subscription's condition names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `broadcaster_user_id`.
    Broadcaster,
    /// `broadcaster_user_id` and `moderator_user_id` (the signed-in user: the broadcaster or a moderator).
    BroadcasterAndModerator,
    /// `to_broadcaster_user_id`: raids into the channel.
    RaidsIn,
}

/// One subscription type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionType {
    /// Its name (`channel.follow`).
    pub name: &'static str,
    /// The version OnAir reads.
    pub version: &'static str,
    /// The scopes that allow it, any one of them; empty: no scope needed.
    pub scopes: &'static [&'static str],
    /// What its condition names.
    pub condition: Condition,
}

const fn sub(
    name: &'static str,
    version: &'static str,
    scopes: &'static [&'static str],
    condition: Condition,
) -> SubscriptionType {
    SubscriptionType {
        name,
        version,
        scopes,
        condition,
    }
}

/// Every subscription OnAir creates on a watched channel, in the order it creates them.
pub const SUBSCRIPTIONS: &[SubscriptionType] = &[
    sub("stream.online", "1", &[], Condition::Broadcaster),
    sub("stream.offline", "1", &[], Condition::Broadcaster),
    sub("channel.raid", "1", &[], Condition::RaidsIn),
    sub(
        "channel.follow",
        "2",
        &["moderator:read:followers"],
        Condition::BroadcasterAndModerator,
    ),
    sub(
        "channel.subscribe",
        "1",
        &["channel:read:subscriptions"],
        Condition::Broadcaster,
    ),
    sub(
        "channel.subscription.end",
        "1",
        &["channel:read:subscriptions"],
        Condition::Broadcaster,
    ),
    sub(
        "channel.subscription.gift",
        "1",
        &["channel:read:subscriptions"],
        Condition::Broadcaster,
    ),
    sub("channel.cheer", "1", &["bits:read"], Condition::Broadcaster),
    sub(
        "channel.moderator.add",
        "1",
        &["moderation:read"],
        Condition::Broadcaster,
    ),
    sub(
        "channel.moderator.remove",
        "1",
        &["moderation:read"],
        Condition::Broadcaster,
    ),
    sub(
        "channel.vip.add",
        "1",
        &["channel:read:vips", "channel:manage:vips"],
        Condition::Broadcaster,
    ),
    sub(
        "channel.vip.remove",
        "1",
        &["channel:read:vips", "channel:manage:vips"],
        Condition::Broadcaster,
    ),
    sub(
        "channel.ban",
        "1",
        &["channel:moderate", "moderator:manage:banned_users"],
        Condition::Broadcaster,
    ),
    sub(
        "channel.unban",
        "1",
        &["channel:moderate", "moderator:manage:banned_users"],
        Condition::Broadcaster,
    ),
];

/// The scopes the sign-in asks for: the first (least powerful) allowing scope of each type, once each.
pub fn scopes() -> Vec<&'static str> {
    let mut scopes = Vec::new();
    for scope in SUBSCRIPTIONS.iter().filter_map(|s| s.scopes.first()) {
        if !scopes.contains(scope) {
            scopes.push(*scope);
        }
    }
    scopes
}

/// Which subscriptions a token with `granted` scopes may create, and the others with the scope each lacks.
pub fn plan<S: AsRef<str>>(granted: &[S]) -> (Vec<SubscriptionType>, Vec<(SubscriptionType, &'static str)>) {
    let has = |scope: &str| granted.iter().any(|g| g.as_ref() == scope);
    let mut allowed = Vec::new();
    let mut missing = Vec::new();
    for subscription in SUBSCRIPTIONS {
        match subscription.scopes.first() {
            Some(first) if !subscription.scopes.iter().any(|s| has(s)) => {
                missing.push((*subscription, *first))
            }
            _ => allowed.push(*subscription),
        }
    }
    (allowed, missing)
}

/// The body of `POST /helix/eventsub/subscriptions` creating `subscription` for `broadcaster_id` on the
/// WebSocket session `session_id`, as the user `user_id` (the token's owner).
pub fn request_body(
    subscription: &SubscriptionType,
    broadcaster_id: &str,
    user_id: &str,
    session_id: &str,
) -> Value {
    let condition = match subscription.condition {
        Condition::Broadcaster => json!({ "broadcaster_user_id": broadcaster_id }),
        Condition::BroadcasterAndModerator => {
            json!({ "broadcaster_user_id": broadcaster_id, "moderator_user_id": user_id })
        }
        Condition::RaidsIn => json!({ "to_broadcaster_user_id": broadcaster_id }),
    };
    json!({
        "type": subscription.name,
        "version": subscription.version,
        "condition": condition,
        "transport": { "method": "websocket", "session_id": session_id },
    })
}
