//! Table-driven: every frame in `fixtures/twitch/`, in stream order, is parsed, routed and written to a real
//! SQLite store, and both the facts and the table rows `expected.json` lists for it are there; a resend of
//! a notification (same message id) is stored once; a malformed frame is an error that says why.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use onair_core::{ChannelRef, Event, EventData, EventKind};
use onair_store::Store;
use onair_twitch::{Frame, parse, route};
use serde_json::Value;
use sqlx::Row;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/twitch");

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/expected.json")).unwrap()).unwrap()
}

fn ns(value: &Value) -> Option<i64> {
    value
        .as_str()
        .map(|s| s.parse::<DateTime<Utc>>().unwrap().timestamp_nanos_opt().unwrap())
}

/// The unified kind of each subscription type.
fn kind_of(subscription_type: &str) -> EventKind {
    match subscription_type {
        "channel.follow" => EventKind::Follow,
        "channel.subscribe" => EventKind::Subscription,
        "channel.subscription.end" => EventKind::SubscriptionEnd,
        "channel.subscription.gift" => EventKind::SubscriptionGift,
        "channel.moderator.add" => EventKind::ModeratorAdd,
        "channel.moderator.remove" => EventKind::ModeratorRemove,
        "channel.vip.add" => EventKind::VipAdd,
        "channel.vip.remove" => EventKind::VipRemove,
        "channel.cheer" => EventKind::Cheer,
        "channel.raid" => EventKind::Raid,
        "stream.online" => EventKind::StreamOnline,
        "stream.offline" => EventKind::StreamOffline,
        other => panic!("no kind for {other}"),
    }
}

/// Checks one `extract` fact against the routed event.
fn check_fact(file: &str, event: &Event, key: &str, want: &Value) {
    let user = event.actor.as_ref().or(event.target.as_ref());
    let got: Value = match (key, &event.data) {
        ("user_id" | "gifter_user_id" | "from_broadcaster_user_id", _) => user.map(|u| u.id.clone()).into(),
        ("user_login", _) => user.map(|u| u.login.clone()).into(),
        ("user_name" | "gifter_user_name" | "from_broadcaster_user_name", _) => {
            user.map(|u| u.display_name.clone()).into()
        }
        ("broadcaster_user_id" | "to_broadcaster_user_id", _) => event.channel.platform_id.clone().into(),
        ("followed_at", _) => event
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            .into(),
        ("started_at", _) => event
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into(),
        ("tier", EventData::Subscription(s)) => s.tier.clone().into(),
        ("tier", EventData::SubscriptionEnd(s)) => s.tier.clone().into(),
        ("tier", EventData::SubscriptionGift(g)) => g.tier.clone().into(),
        ("is_gift", EventData::Subscription(s)) => s.is_gift.into(),
        ("is_gift", EventData::SubscriptionEnd(s)) => s.is_gift.into(),
        ("total", EventData::SubscriptionGift(g)) => g.quantity.into(),
        ("cumulative_total", EventData::SubscriptionGift(g)) => g.gifter_total.into(),
        ("is_anonymous", _) => event.actor.is_none().into(),
        ("bits", EventData::Cheer(c)) => c.amount.into(),
        ("message", EventData::Cheer(c)) => c.message.clone().into(),
        ("viewers", EventData::Raid(r)) => r.viewers.into(),
        ("stream_id", EventData::StreamOnline(s)) => s.stream_id.clone().into(),
        ("type", EventData::StreamOnline(_)) => "live".into(),
        (other, data) => panic!("{file}: no check for {other} on {data:?}"),
    };
    assert_eq!(&got, want, "{file}: {key}");
}

/// Checks one `db_effect` row against the store's tables.
async fn check_row(file: &str, db: &sqlx::SqlitePool, effect: &Value) {
    let table = effect["table"].as_str().unwrap();
    let viewer = |v: &Value| v.as_str().map(str::to_owned);
    match table {
        "viewers" => {
            let id = effect["key"]["twitch_user_id"].as_str().unwrap();
            let row = sqlx::query(
                "SELECT login, display_name FROM viewers WHERE platform = 'twitch' AND platform_user_id = ?",
            )
            .bind(id)
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{file}: viewer {id}: {e}"));
            assert_eq!(
                row.get::<String, _>(0),
                effect["set"]["login"].as_str().unwrap(),
                "{file}"
            );
            assert_eq!(
                row.get::<String, _>(1),
                effect["set"]["display_name"].as_str().unwrap(),
                "{file}"
            );
        }
        "follower_history" => {
            let row = &effect["row"];
            let found: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM follower_history f JOIN viewers v ON v.id = f.viewer_id \
                 WHERE v.platform_user_id = ? AND f.action = ? AND f.at = ?",
            )
            .bind(viewer(&row["viewer"]))
            .bind(row["action"].as_str())
            .bind(ns(&row["at"]))
            .fetch_one(db)
            .await
            .unwrap();
            assert_eq!(found, 1, "{file}: {row}");
        }
        "viewer_subscriptions" => {
            let set = &effect["set"];
            let row = sqlx::query(
                "SELECT s.tier, s.is_gift, s.started_at, s.ended_at FROM viewer_subscriptions s \
                 JOIN viewers v ON v.id = s.viewer_id WHERE v.platform_user_id = ? ORDER BY s.id DESC LIMIT 1",
            )
            .bind(viewer(&effect["key"]["viewer"]))
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{file}: subscription: {e}"));
            assert_eq!(
                row.get::<Option<String>, _>(0).as_deref(),
                set["tier"].as_str(),
                "{file}: tier"
            );
            assert_eq!(
                row.get::<i64, _>(1),
                set["is_gift"].as_i64().unwrap(),
                "{file}: is_gift"
            );
            if let Some(start) = set.get("start_date") {
                assert_eq!(row.get::<Option<i64>, _>(2), ns(start), "{file}: start");
            }
            if let Some(end) = set.get("end_date") {
                assert_eq!(row.get::<Option<i64>, _>(3), ns(end), "{file}: end");
            }
        }
        "viewer_roles" => {
            let set = &effect["set"];
            let row = sqlx::query(
                "SELECT r.granted_at, r.revoked_at FROM viewer_roles r JOIN viewers v ON v.id = r.viewer_id \
                 WHERE v.platform_user_id = ? AND r.role = ? ORDER BY r.id DESC LIMIT 1",
            )
            .bind(viewer(&effect["key"]["viewer"]))
            .bind(effect["key"]["role_type"].as_str())
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{file}: role: {e}"));
            if let Some(granted) = set.get("granted_at") {
                assert_eq!(row.get::<Option<i64>, _>(0), ns(granted), "{file}: granted");
            }
            assert_eq!(
                row.get::<Option<i64>, _>(1),
                ns(&set["revoked_at"]),
                "{file}: revoked"
            );
        }
        "events" => {
            let row = &effect["row"];
            let kind = kind_of(row["event_type"].as_str().unwrap());
            let event = sqlx::query(
                "SELECT e.data, va.platform_user_id, vt.platform_user_id FROM events e \
                 LEFT JOIN viewers va ON va.id = e.actor_id LEFT JOIN viewers vt ON vt.id = e.target_id \
                 WHERE e.kind = ? ORDER BY e.offset DESC LIMIT 1",
            )
            .bind(kind.as_str())
            .fetch_one(db)
            .await
            .unwrap_or_else(|e| panic!("{file}: event: {e}"));
            let who = event
                .get::<Option<String>, _>(1)
                .or(event.get::<Option<String>, _>(2));
            assert_eq!(who, viewer(&row["viewer"]), "{file}: the event's viewer");
            let data: Value = serde_json::from_str(&event.get::<String, _>(0)).unwrap();
            for (key, want) in row["data"].as_object().into_iter().flatten() {
                let ours = match key.as_str() {
                    "total" => "quantity",
                    "cumulative_total" => "gifter_total",
                    "bits" => "amount",
                    "is_gift" => continue, // a gift is a gift by its kind
                    other => other,
                };
                assert_eq!(&data[ours], want, "{file}: data.{key}");
            }
        }
        other => panic!("{file}: no check for table {other}"),
    }
}

#[tokio::test]
async fn every_fixture_yields_its_facts_and_table_rows() {
    let expected = expected();
    let broadcaster = &expected["broadcaster"];
    let channel = ChannelRef::new(
        broadcaster["id"].as_str().unwrap(),
        broadcaster["login"].as_str().unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onair.db");
    let store = Store::open(&path).await.unwrap();
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .unwrap();
    let received: DateTime<Utc> = expected["reference_now"].as_str().unwrap().parse().unwrap();
    let mut notifications = 0;
    for file in expected["stream_order"].as_array().unwrap() {
        let file = file.as_str().unwrap();
        let want = &expected["files"][file];
        let text = std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
        let frame = parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let extract = &want["extract"];
        match (want["message_type"].as_str().unwrap(), frame) {
            ("session_welcome", Frame::Welcome(session)) => {
                assert_eq!(session.id, extract["session_id"].as_str().unwrap());
                assert_eq!(
                    session.keepalive_timeout_seconds,
                    extract["keepalive_timeout_seconds"].as_u64()
                );
                assert_eq!(session.status, extract["status"].as_str().unwrap());
            }
            ("session_keepalive", Frame::Keepalive) => {}
            ("session_reconnect", Frame::Reconnect(session)) => {
                assert_eq!(
                    session.reconnect_url.as_deref(),
                    extract["reconnect_url"].as_str()
                );
            }
            ("revocation", Frame::Revocation(revocation)) => {
                assert_eq!(
                    revocation.subscription_id,
                    extract["subscription_id"].as_str().unwrap()
                );
                assert_eq!(revocation.status, extract["status"].as_str().unwrap());
                assert_eq!(
                    revocation.subscription_type,
                    want["subscription_type"].as_str().unwrap()
                );
            }
            ("notification", Frame::Notification(notification)) => {
                notifications += 1;
                let subscription_type = want["subscription_type"].as_str().unwrap();
                assert_eq!(notification.subscription_type, subscription_type, "{file}");
                let event = route(&channel, &notification, received).unwrap();
                assert_eq!(event.kind(), kind_of(subscription_type), "{file}");
                assert_eq!(event.source_id.as_deref(), Some(notification.message_id.as_str()));
                for (key, value) in extract.as_object().unwrap() {
                    check_fact(file, &event, key, value);
                }
                store.writer().append_and_wait(event).await.unwrap();
                // Twitch resends a message it is unsure about with the same id: stored once.
                let again = route(&channel, &notification, received).unwrap();
                let before: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                store.writer().append_and_wait(again).await.unwrap();
                let after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                assert_eq!(before, after, "{file}: the resend was stored again");
                for effect in want["db_effect"].as_array().into_iter().flatten() {
                    check_row(file, &db, effect).await;
                }
            }
            (message_type, frame) => panic!("{file}: expected a {message_type}, read {frame:?}"),
        }
    }
    assert_eq!(notifications, 12, "every notification fixture was routed");
    db.close().await;
    store.close().await;
}

/// A notification of `kind` carrying `event`.
fn notification(kind: &str, event: &str) -> onair_twitch::Notification {
    let text = format!(
        r#"{{"metadata":{{"message_id":"m-{kind}","message_type":"notification","message_timestamp":"2026-11-21T18:00:00Z","subscription_type":"{kind}","subscription_version":"1"}},"payload":{{"event":{event}}}}}"#
    );
    match parse(&text).unwrap() {
        Frame::Notification(n) => n,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_malformed_frame_says_what_is_wrong() {
    let not_json = parse("{\"metadata\": ").unwrap_err().to_string();
    assert!(not_json.contains("not an EventSub frame"), "{not_json}");
    let unknown = parse(
        r#"{"metadata":{"message_id":"1","message_type":"session_party","message_timestamp":"2026-11-21T18:00:00Z"},"payload":{}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(unknown.contains("session_party"), "{unknown}");
    let no_event = parse(
        r#"{"metadata":{"message_id":"1","message_type":"notification","message_timestamp":"2026-11-21T18:00:00Z","subscription_type":"channel.follow","subscription_version":"2"},"payload":{"subscription":{}}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(no_event.contains("payload.event"), "{no_event}");
}

#[test]
fn a_bad_event_names_its_type_and_an_unknown_type_is_kept_raw() {
    let channel = ChannelRef::new("52731608", "nebulacast");
    let bad = route(
        &channel,
        &notification("channel.cheer", r#"{"bits":"lots"}"#),
        Utc::now(),
    )
    .unwrap_err()
    .to_string();
    assert!(bad.contains("channel.cheer"), "{bad}");
    let unknown = route(
        &channel,
        &notification("channel.hype_train.begin", r#"{"level":2}"#),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(unknown.kind(), EventKind::Unknown);
    assert_eq!(unknown.raw.as_ref().map(|r| r.get()), Some(r#"{"level":2}"#));
}

#[test]
fn a_raid_by_the_watched_channel_is_an_outgoing_raid_and_bans_split_by_permanence() {
    let channel = ChannelRef::new("52731608", "nebulacast");
    let out = route(
        &channel,
        &notification(
            "channel.raid",
            r#"{"from_broadcaster_user_id":"52731608","from_broadcaster_user_login":"nebulacast","from_broadcaster_user_name":"NebulaCast","to_broadcaster_user_id":"9","to_broadcaster_user_login":"friend","to_broadcaster_user_name":"Friend","viewers":12}"#,
        ),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(out.kind(), EventKind::RaidOut);
    assert_eq!(out.target.unwrap().login, "friend");

    let ban = |permanent: bool| {
        format!(
            r#"{{"user_id":"7","user_login":"troll","user_name":"Troll","moderator_user_id":"8","moderator_user_login":"mod","moderator_user_name":"Mod","reason":"spam","banned_at":"2026-11-21T18:00:00Z","ends_at":{},"is_permanent":{permanent}}}"#,
            if permanent {
                "null"
            } else {
                "\"2026-11-21T18:10:00Z\""
            }
        )
    };
    let timeout = route(&channel, &notification("channel.ban", &ban(false)), Utc::now()).unwrap();
    assert_eq!(timeout.kind(), EventKind::Timeout);
    match &timeout.data {
        EventData::Timeout(m) => assert_eq!(m.duration_secs, Some(600)),
        other => panic!("{other:?}"),
    }
    assert_eq!(timeout.actor.unwrap().login, "mod");
    assert_eq!(timeout.target.unwrap().login, "troll");
    let banned = route(&channel, &notification("channel.ban", &ban(true)), Utc::now()).unwrap();
    assert_eq!(banned.kind(), EventKind::Ban);
}
