//! The subscriptions OnAir asks for: every type the router reads is subscribed to and the other way round,
//! the sign-in asks for exactly the scopes they need, a token missing a scope loses only the types that
//! need it (each named with the scope), and the request body has Twitch's documented shape.
#![allow(clippy::unwrap_used)]

use onair_core::{ChannelRef, EventKind};
use onair_twitch::subscriptions::{plan, request_body, scopes};
use onair_twitch::{Frame, SUBSCRIPTIONS, parse, route};
use serde_json::json;

#[test]
fn every_subscribed_type_is_routed_to_a_known_kind_and_none_twice() {
    let channel = ChannelRef::new("52731608", "nebulacast");
    for (i, subscription) in SUBSCRIPTIONS.iter().enumerate() {
        assert!(
            SUBSCRIPTIONS[i + 1..].iter().all(|s| s.name != subscription.name),
            "{} twice",
            subscription.name
        );
        let text = format!(
            r#"{{"metadata":{{"message_id":"m","message_type":"notification","message_timestamp":"2026-11-21T18:00:00Z","subscription_type":"{}","subscription_version":"{}"}},"payload":{{"event":{{"user_id":"1","user_login":"a","user_name":"A","from_broadcaster_user_id":"2","from_broadcaster_user_login":"b","to_broadcaster_user_id":"52731608","to_broadcaster_user_login":"nebulacast","bits":1}}}}}}"#,
            subscription.name, subscription.version
        );
        let Frame::Notification(notification) = parse(&text).unwrap() else {
            panic!()
        };
        let event = route(&channel, &notification, chrono::Utc::now()).unwrap();
        assert_ne!(
            event.kind(),
            EventKind::Unknown,
            "{} is not routed",
            subscription.name
        );
    }
    assert_eq!(SUBSCRIPTIONS.len(), 14);
}

#[test]
fn the_sign_in_asks_for_exactly_the_scopes_the_types_need() {
    assert_eq!(
        scopes(),
        [
            "moderator:read:followers",
            "channel:read:subscriptions",
            "bits:read",
            "moderation:read",
            "channel:read:vips",
            "channel:moderate",
        ]
    );
    let (allowed, missing) = plan(&scopes());
    assert_eq!(allowed.len(), SUBSCRIPTIONS.len());
    assert!(missing.is_empty());
}

#[test]
fn a_missing_scope_costs_only_the_types_that_need_it() {
    // Followers and subscriptions granted; no bits, moderation, VIP or ban scopes; VIPs through the
    // stronger scope that also allows them.
    let granted = [
        "moderator:read:followers",
        "channel:read:subscriptions",
        "channel:manage:vips",
    ];
    let (allowed, missing) = plan(&granted);
    let names: Vec<_> = allowed.iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"stream.online") && names.contains(&"channel.raid"),
        "no scope needed"
    );
    assert!(names.contains(&"channel.follow") && names.contains(&"channel.subscription.gift"));
    assert!(names.contains(&"channel.vip.add"), "either VIP scope allows it");
    let lacking: Vec<_> = missing.iter().map(|(s, scope)| (s.name, *scope)).collect();
    assert_eq!(
        lacking,
        [
            ("channel.cheer", "bits:read"),
            ("channel.moderator.add", "moderation:read"),
            ("channel.moderator.remove", "moderation:read"),
            ("channel.ban", "channel:moderate"),
            ("channel.unban", "channel:moderate"),
        ]
    );
}

#[test]
fn the_request_body_has_twitchs_shape() {
    let follow = SUBSCRIPTIONS.iter().find(|s| s.name == "channel.follow").unwrap();
    assert_eq!(
        request_body(follow, "52731608", "52731608", "AQoQ"),
        json!({
            "type": "channel.follow",
            "version": "2",
            "condition": { "broadcaster_user_id": "52731608", "moderator_user_id": "52731608" },
            "transport": { "method": "websocket", "session_id": "AQoQ" },
        })
    );
    let raid = SUBSCRIPTIONS.iter().find(|s| s.name == "channel.raid").unwrap();
    assert_eq!(
        request_body(raid, "52731608", "9", "AQoQ")["condition"],
        json!({ "to_broadcaster_user_id": "52731608" })
    );
}
