//! Table-driven: every Kick frame in `fixtures/kick/` goes through the Pusher parser and the event map, and
//! the result holds the facts `expected.json` lists for it.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use onair_core::{ChannelRef, Currency, Event, EventData, EventKind};
use onair_kick::{EventMap, Mapped};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/kick");

fn channel() -> ChannelRef {
    let mut channel = ChannelRef::new("4781203", "novastreams");
    channel.chatroom_id = Some("4760932".into());
    channel
}

fn received() -> DateTime<Utc> {
    "2026-05-22T19:00:00Z".parse().unwrap()
}

/// Maps the fixture `file` as it arrives on the wire.
fn map_file(map: &mut EventMap, file: &str) -> Mapped {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
    let frame = onair_pusher::parse(text.trim(), 1 << 20).unwrap();
    map.map(
        &channel(),
        frame.channel.as_deref().unwrap_or("chatrooms.4760932.v2"),
        &frame.event,
        frame.data.text().unwrap_or("null"),
        received(),
    )
}

fn one(mapped: Mapped, file: &str) -> Event {
    match mapped {
        Mapped::Events(mut events) if events.len() == 1 => events.remove(0),
        other => panic!("{file}: expected one event, got {other:?}"),
    }
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

fn str_of(value: &Value) -> Option<&str> {
    value.as_str()
}

#[test]
fn every_fixture_yields_the_expected_facts() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/expected.json")).unwrap()).unwrap();
    let mut map = EventMap::new();
    let mut checked = 0;
    let mut kinds_seen = HashMap::new();
    for fact in expected["fixtures"].as_array().unwrap() {
        let file = fact["file"].as_str().unwrap();
        if file.starts_with("pusher_") || file.starts_with("rest_") {
            continue;
        }
        let mapped = map_file(&mut map, file);
        let kind = fact["kind"].as_str().unwrap();
        *kinds_seen.entry(kind.to_owned()).or_insert(0) += 1;
        if kind == "channel_subscription" {
            assert!(matches!(mapped, Mapped::Ignored(_)), "{file}: {mapped:?}");
            checked += 1;
            continue;
        }
        if kind == "followers_updated" {
            // No follower named: only the count.
            let Mapped::Events(events) = mapped else {
                panic!("{file}")
            };
            assert_eq!(events.len(), 1, "{file}");
            assert_eq!(
                events[0].data,
                EventData::FollowerCount(onair_core::FollowerCount {
                    count: fact["followers_count"].as_u64().unwrap()
                })
            );
            checked += 1;
            continue;
        }
        let event = one(mapped, file);
        // Every event survives JSON v1 (what the store, the UI and the relay read).
        assert_eq!(
            Event::from_json(&event.to_json_line()).unwrap().data,
            event.data,
            "{file}"
        );
        assert!(event.source_id.is_some(), "{file}: no source id");
        check(file, kind, fact, &event);
        checked += 1;
    }
    assert!(checked >= 26, "only {checked} fixtures checked: {kinds_seen:?}");
}

fn check(file: &str, kind: &str, fact: &Value, event: &Event) {
    let actor = event.actor.as_ref();
    let target = event.target.as_ref();
    match (kind, &event.data) {
        ("chat_message", EventData::ChatMessage(chat)) => {
            assert_eq!(chat.text, fact["text"].as_str().unwrap(), "{file}");
            let emotes: Vec<(String, String)> = fact["emotes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["id"].as_str().unwrap().to_owned(),
                        e["name"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(
                chat.emotes
                    .iter()
                    .map(|e| (e.id.clone(), e.name.clone()))
                    .collect::<Vec<_>>(),
                emotes,
                "{file}"
            );
            let badges: Vec<(String, Option<u32>)> = fact["badges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    (
                        b["type"].as_str().unwrap().to_owned(),
                        b["count"].as_u64().map(|c| c as u32),
                    )
                })
                .collect();
            assert_eq!(
                chat.badges
                    .iter()
                    .map(|b| (b.kind.clone(), b.count))
                    .collect::<Vec<_>>(),
                badges,
                "{file}"
            );
            if let Some(color) = str_of(&fact["color"]) {
                assert_eq!(chat.color.as_deref(), Some(color), "{file}");
            }
            let actor = actor.unwrap();
            assert_eq!(actor.id, fact["actor_id"].as_u64().unwrap().to_string(), "{file}");
            assert_eq!(actor.display_name, fact["actor"].as_str().unwrap(), "{file}");
            if let Some(slug) = str_of(&fact["actor_slug"]) {
                assert_eq!(actor.login, slug, "{file}");
            }
            match &fact["reply_to"] {
                Value::Null => assert_eq!(chat.reply_to, None, "{file}"),
                reply => {
                    let got = chat.reply_to.as_ref().unwrap();
                    assert_eq!(got.message_id, reply["message_id"].as_str().unwrap());
                    assert_eq!(got.login, reply["username"].as_str().unwrap());
                    assert_eq!(got.text, reply["content"].as_str().unwrap());
                }
            }
            if !fact["created_at"].is_null() {
                assert_eq!(event.occurred_at, time(&fact["created_at"]), "{file}");
            }
            let message_id = fact["message_id"].as_str().unwrap();
            assert!(
                event.source_id.as_deref().unwrap().ends_with(message_id),
                "{file}"
            );
        }
        ("user_banned", EventData::Ban(_)) => {
            assert!(fact["permanent"].as_bool().unwrap(), "{file}");
            assert_eq!(
                target.unwrap().id,
                fact["banned_user_id"].as_u64().unwrap().to_string()
            );
            assert_eq!(actor.unwrap().display_name, fact["banned_by"].as_str().unwrap());
        }
        ("user_banned", EventData::Timeout(moderation)) => {
            assert!(!fact["permanent"].as_bool().unwrap(), "{file}");
            assert_eq!(
                moderation.duration_secs,
                fact["duration_minutes"].as_u64().map(|m| m * 60)
            );
            assert_eq!(moderation.expires_at, Some(time(&fact["expires_at"])));
            assert_eq!(
                target.unwrap().id,
                fact["banned_user_id"].as_u64().unwrap().to_string()
            );
            assert_eq!(actor.unwrap().display_name, fact["banned_by"].as_str().unwrap());
        }
        ("user_unbanned", EventData::Unban(_)) => {
            assert_eq!(
                target.unwrap().id,
                fact["unbanned_user_id"].as_u64().unwrap().to_string()
            );
            assert_eq!(actor.unwrap().display_name, fact["unbanned_by"].as_str().unwrap());
        }
        ("message_deleted", EventData::MessageDeleted(deleted)) => {
            assert_eq!(deleted.message_id, fact["deleted_message_id"].as_str().unwrap());
        }
        ("chat_cleared", EventData::ChatCleared(_))
        | ("pinned_message_deleted", EventData::MessageUnpinned(_)) => {}
        ("chatroom_settings", EventData::ChatSettings(settings)) => {
            let on = |key: &str| fact[key].as_bool().unwrap().then_some(true);
            assert_eq!(
                settings.slow_mode_secs.map(u64::from),
                fact["slow_mode_seconds"].as_u64()
            );
            assert_eq!(
                settings.followers_only_mins.map(u64::from),
                fact["followers_min_minutes"].as_u64()
            );
            assert_eq!(settings.subscribers_only, on("subscribers_only"));
            assert_eq!(settings.emotes_only, on("emotes_only"));
        }
        ("pinned_message_created", EventData::MessagePinned(pinned)) => {
            assert_eq!(pinned.message_id, fact["pinned_message_id"].as_str().unwrap());
            assert_eq!(pinned.text.as_deref(), fact["text"].as_str());
            assert_eq!(pinned.duration_secs, fact["duration_seconds"].as_u64());
            assert_eq!(actor.unwrap().display_name, fact["pinned_by"].as_str().unwrap());
            assert_eq!(target.unwrap().display_name, fact["author"].as_str().unwrap());
        }
        ("poll_update", EventData::PollUpdate(poll)) => {
            assert_eq!(poll.title, fact["title"].as_str().unwrap());
            let options: Vec<(String, u64)> = fact["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    (
                        o["label"].as_str().unwrap().to_owned(),
                        o["votes"].as_u64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(
                poll.options
                    .iter()
                    .map(|o| (o.label.clone(), o.votes))
                    .collect::<Vec<_>>(),
                options
            );
        }
        ("poll_delete", EventData::PollEnd(_)) => {}
        ("subscription", EventData::Subscription(sub)) => {
            assert_eq!(actor.unwrap().display_name, fact["actor"].as_str().unwrap());
            assert_eq!(sub.months.map(u64::from), fact["months"].as_u64());
            assert_eq!(sub.is_gift, fact["is_gift"].as_bool().unwrap());
        }
        ("gifted_subscriptions" | "gift_recipients", EventData::SubscriptionGift(gift)) => {
            assert_eq!(u64::from(gift.quantity), fact["quantity"].as_u64().unwrap());
            let recipients: Vec<&str> = fact["recipients"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            assert_eq!(gift.recipients, recipients);
            assert_eq!(actor.unwrap().display_name, fact["gifter"].as_str().unwrap());
            if let Some(total) = fact["gifter_lifetime_total"].as_u64() {
                assert_eq!(gift.gifter_total.map(u64::from), Some(total));
            }
        }
        ("stream_online", EventData::StreamOnline(stream)) => {
            assert_eq!(
                stream.stream_id,
                fact["livestream_id"].as_u64().map(|id| id.to_string())
            );
            assert_eq!(stream.title.as_deref(), fact["title"].as_str());
            assert_eq!(event.occurred_at, time(&fact["started_at"]));
        }
        ("stream_offline", EventData::StreamOffline(stream)) => {
            assert_eq!(
                stream.stream_id,
                fact["livestream_id"].as_u64().map(|id| id.to_string())
            );
        }
        ("livestream_updated", EventData::StreamUpdated(stream)) => {
            assert_eq!(
                stream.stream_id,
                fact["livestream_id"].as_u64().map(|id| id.to_string())
            );
            assert_eq!(stream.title.as_deref(), fact["title"].as_str());
        }
        ("host_received", EventData::Raid(raid)) => {
            assert_eq!(raid.viewers, fact["viewers"].as_u64());
            assert_eq!(raid.message.as_deref(), fact["message"].as_str());
            assert_eq!(actor.unwrap().display_name, fact["host"].as_str().unwrap());
        }
        ("raid_outgoing", EventData::RaidOut(raid)) => {
            assert_eq!(raid.viewers, fact["viewers"].as_u64());
            let target = target.unwrap();
            assert_eq!(target.id, fact["target_id"].as_u64().unwrap().to_string());
            assert_eq!(target.login, fact["target_slug"].as_str().unwrap());
            assert_eq!(target.display_name, fact["target_username"].as_str().unwrap());
        }
        ("gifts_leaderboard", EventData::LeaderboardUpdate(value)) => {
            assert_eq!(value["gifter_id"], fact["gifter_id"]);
            assert_eq!(value["gifted_quantity"], fact["gifted_quantity"]);
        }
        ("kicks_gifted", EventData::Cheer(cheer)) => {
            assert_eq!(cheer.amount, fact["kicks"].as_u64().unwrap());
            assert_eq!(cheer.currency, Currency::Kicks);
            assert_eq!(cheer.message.as_deref(), fact["message"].as_str());
            assert_eq!(actor.unwrap().id, fact["sender_id"].as_u64().unwrap().to_string());
        }
        ("reward_redeemed", EventData::RewardRedeemed(reward)) => {
            assert_eq!(reward.title, fact["reward"].as_str().unwrap());
            assert_eq!(reward.input.as_deref(), fact["user_input"].as_str());
            assert_eq!(actor.unwrap().id, fact["actor_id"].as_u64().unwrap().to_string());
        }
        ("prediction", EventData::Prediction(prediction)) => {
            assert_eq!(prediction.title, fact["title"].as_str().unwrap());
            assert_eq!(prediction.state.as_deref(), Some("active"));
            let outcomes: Vec<&str> = fact["outcomes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap())
                .collect();
            assert_eq!(
                prediction
                    .options
                    .iter()
                    .map(|o| o.label.as_str())
                    .collect::<Vec<_>>(),
                outcomes
            );
        }
        ("unknown_event", EventData::Unknown(unknown)) => {
            assert_eq!(unknown.name, r"App\Events\HoloConfettiStormEvent");
            assert!(
                event.raw.as_ref().unwrap().get().contains("confetti"),
                "{file}: raw not kept"
            );
        }
        (kind, data) => panic!("{file}: expected {kind}, got {:?}", data.kind()),
    }
}

#[test]
fn twins_share_an_id_and_real_repeats_get_their_own() {
    let mut map = EventMap::new();
    let text = std::fs::read_to_string(format!("{FIXTURES}/chatroom_updated.json")).unwrap();
    let frame = onair_pusher::parse(text.trim(), 1 << 20).unwrap();
    let data = frame.data.text().unwrap();
    let mut id_at = |feed: &str, seconds: i64| {
        let at = received() + chrono::Duration::seconds(seconds);
        one(
            map.map(&channel(), feed, &frame.event, data, at),
            "chatroom_updated",
        )
        .source_id
        .unwrap()
    };
    // The same payload on the chatroom's two feeds, a moment apart: one event.
    let first = id_at("chatrooms.4760932.v2", 0);
    assert_eq!(id_at("chatroom_4760932", 1), first);
    // The same settings again a minute later (slow mode on, off, on): a new event, and its twin.
    let later = id_at("chatrooms.4760932.v2", 60);
    assert_ne!(later, first);
    assert_eq!(id_at("chatroom_4760932", 61), later);
    // The same payload again on the same feed within the window is a real repeat, even in the same
    // millisecond (two identical Kicks in a row are two gifts).
    let again = id_at("chatrooms.4760932.v2", 62);
    let once_more = id_at("chatrooms.4760932.v2", 62);
    assert!(
        again != later && once_more != again,
        "{later} {again} {once_more}"
    );
    // The same payload after the client subscribed again (a new socket): a replay, stored once.
    assert_eq!(id_at("chatrooms.4760932.v2#2", 63), once_more);

    // A gift's two halves are one gift; the same gift a day later is another.
    let gifted = one(map_file(&mut map, "gifted_subscriptions.json"), "gifted");
    let lucky = one(map_file(&mut map, "lucky_users_gift_subscriptions.json"), "lucky");
    assert_eq!(gifted.kind(), EventKind::SubscriptionGift);
    assert_eq!(gifted.source_id, lucky.source_id);
    let text = std::fs::read_to_string(format!("{FIXTURES}/gifted_subscriptions.json")).unwrap();
    let frame = onair_pusher::parse(text.trim(), 1 << 20).unwrap();
    let next_day = received() + chrono::Duration::days(1);
    let again = one(
        map.map(
            &channel(),
            "chatrooms.4760932.v2",
            &frame.event,
            frame.data.text().unwrap(),
            next_day,
        ),
        "again",
    );
    assert_ne!(again.source_id, gifted.source_id);
    // The same ids on another channel are another channel's events.
    let other = ChannelRef::new("1", "other");
    let elsewhere = one(
        map.map(
            &other,
            "chatrooms.1.v2",
            &frame.event,
            frame.data.text().unwrap(),
            received(),
        ),
        "elsewhere",
    );
    assert_ne!(elsewhere.source_id, gifted.source_id);
}

#[test]
fn names_with_and_without_the_prefix_and_odd_payloads() {
    let mut map = EventMap::new();
    assert!(map.knows(r"App\Events\ChatMessageEvent") && map.knows("ChatMessageEvent"));
    assert!(map.knows("GiftedSubscriptionsEvent") && map.knows(r"App\Events\GiftedSubscriptionsEvent"));
    // The legacy twin of chat is not recorded.
    assert!(matches!(
        map.map(
            &channel(),
            "chatrooms.4760932.v2",
            r"App\Events\ChatMessageSentEvent",
            "{}",
            received()
        ),
        Mapped::Ignored(_)
    ));
    // A newer chat-settings shape is not read as "every mode off": it is kept as unknown.
    let Mapped::Events(events) = map.map(
        &channel(),
        "chatrooms.4760932.v2",
        r"App\Events\ChatroomUpdatedEvent",
        r#"{"settings":{"slow_mode":true}}"#,
        received(),
    ) else {
        panic!()
    };
    assert_eq!(events[0].kind(), EventKind::Unknown);
    // A payload that is not JSON is kept as a JSON string.
    let Mapped::Events(events) = map.map(
        &channel(),
        "chatrooms.4760932.v2",
        "MysteryEvent",
        "hello",
        received(),
    ) else {
        panic!()
    };
    assert_eq!(events[0].raw.as_ref().unwrap().get(), r#""hello""#);
    // A known event whose payload does not decode is kept as unknown, with its raw JSON: nothing is lost.
    let Mapped::Events(events) = map.map(
        &channel(),
        "chatrooms.4760932.v2",
        r"App\Events\UserBannedEvent",
        r#"{"user":7}"#,
        received(),
    ) else {
        panic!()
    };
    assert_eq!(events[0].kind(), EventKind::Unknown);
    assert_eq!(events[0].raw.as_ref().unwrap().get(), r#"{"user":7}"#);
    // A follower named in FollowersUpdated gives a follow beside the count.
    let Mapped::Events(events) = map.map(
        &channel(),
        "chatrooms.4760932.v2",
        r"App\Events\FollowersUpdated",
        r#"{"followersCount":"12","username":"NewFan","followed":true,"created_at":1779475327}"#,
        received(),
    ) else {
        panic!()
    };
    assert_eq!(
        events.iter().map(Event::kind).collect::<Vec<_>>(),
        [EventKind::FollowerCount, EventKind::Follow]
    );
    assert_eq!(events[1].actor.as_ref().unwrap().login, "newfan");
    assert_ne!(events[0].source_id, events[1].source_id);
}

#[test]
fn emote_tags_are_found_in_order_and_fakes_stay_text() {
    let found = onair_kick::emotes("[emote:1:A][emote:22:B b] [emote:x:C] [emote:3:] [emote:4:D");
    assert_eq!(
        found
            .iter()
            .map(|e| (e.id.as_str(), e.name.as_str()))
            .collect::<Vec<_>>(),
        [("1", "A"), ("22", "B b")]
    );
}

/// Found by the `kick_event` fuzz target: a leaderboard frame without `data` (read as `null`) became a
/// `leaderboard_update` whose JSON line read back with `{}` as its data: not the event recorded.
#[test]
fn a_leaderboard_that_is_not_an_object_is_kept_as_unknown() {
    let mut map = EventMap::new();
    for data in ["null", "12", "[]", r#""board""#] {
        let Mapped::Events(events) = map.map(
            &channel(),
            "channel_4781203",
            r"App\Events\GiftsLeaderboardUpdated",
            data,
            received(),
        ) else {
            panic!("{data}: ignored")
        };
        assert_eq!(events.len(), 1, "{data}");
        let event = &events[0];
        assert_eq!(event.kind(), EventKind::Unknown, "{data}");
        assert_eq!(event.raw.as_ref().unwrap().get(), data);
        let read = Event::from_json(&event.to_json_line()).unwrap();
        assert_eq!(
            read,
            Event {
                raw: None,
                ..event.clone()
            },
            "{data}"
        );
    }
    let Mapped::Events(events) = map.map(
        &channel(),
        "channel_4781203",
        r"App\Events\GiftsLeaderboardUpdated",
        r#"{"leaderboard":[]}"#,
        received(),
    ) else {
        panic!("ignored")
    };
    assert_eq!(events[0].kind(), EventKind::LeaderboardUpdate);
}
