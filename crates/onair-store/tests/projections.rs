//! Each projection follows its events, inside the same transaction: followers, subscriptions (start,
//! renewal, end, gifts), roles with revocation, bans / timeouts / unbans.

#![allow(clippy::unwrap_used)] // A failed unwrap is how a test reports.

mod common;

use chrono::Duration;
use common::temp_store;
use onair_core::{
    Actor, Empty, Event, EventData, Moderation, Platform, Subscription, SubscriptionEnd, SubscriptionGift,
    sample,
};
use onair_store::Store;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{Row, SqlitePool};

fn viewer(n: u32) -> Actor {
    Actor::new(format!("{n}"), format!("viewer{n}"))
}

fn moderator() -> Actor {
    Actor::new("900", "the_mod")
}

/// An event at `minute` minutes after the samples' epoch.
fn at(minute: i64, data: EventData) -> Event {
    Event::new(Platform::Twitch, sample::channel(), data)
        .with_occurred_at(sample::epoch() + Duration::minutes(minute))
}

async fn record(store: &Store, events: Vec<Event>) {
    let writer = store.writer();
    for event in events {
        writer.append_detached(event).await.unwrap();
    }
    writer.flush().await.unwrap();
}

/// A plain SQL connection to the same file, as an outside reader (sqlite3, a report) would have.
async fn sql(store: &Store) -> SqlitePool {
    SqlitePoolOptions::new()
        .connect(&format!("sqlite://{}", store.path().display()))
        .await
        .unwrap()
}

async fn logins(pool: &SqlitePool, query: &str) -> Vec<String> {
    sqlx::query(sqlx::AssertSqlSafe(query.to_owned()))
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}

#[tokio::test]
async fn follows_build_the_follower_history() {
    let (store, _dir) = temp_store().await;
    record(
        &store,
        vec![
            at(0, EventData::Follow(Empty {})).with_actor(viewer(1)),
            at(1, EventData::Follow(Empty {})).with_actor(viewer(2)),
            at(2, EventData::Follow(Empty {})).with_actor(viewer(1)),
        ],
    )
    .await;
    let pool = sql(&store).await;
    let history = logins(
        &pool,
        "SELECT v.login FROM follower_history h JOIN viewers v ON v.id = h.viewer_id ORDER BY h.at",
    )
    .await;
    assert_eq!(history, ["viewer1", "viewer2", "viewer1"]);
    let offsets: Vec<i64> = sqlx::query_scalar("SELECT event_offset FROM follower_history ORDER BY at")
        .fetch_all(&pool)
        .await
        .unwrap();
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM follower_history h JOIN events e ON e.offset = h.event_offset AND e.kind = 'follow'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (offsets.len(), linked),
        (3, 3),
        "every row points at its follow event"
    );
    let current = logins(
        &pool,
        "SELECT v.login FROM current_followers f JOIN viewers v ON v.id = f.viewer_id ORDER BY v.login",
    )
    .await;
    assert_eq!(current, ["viewer1", "viewer2"]);
}

#[tokio::test]
async fn subscriptions_start_renew_end_and_gifts_are_recorded() {
    let (store, _dir) = temp_store().await;
    let sub = |months, tier: &str| {
        EventData::Subscription(Subscription {
            months: Some(months),
            tier: Some(tier.into()),
            is_gift: false,
            message: None,
        })
    };
    record(
        &store,
        vec![
            at(0, sub(1, "1000")).with_actor(viewer(1)),
            at(1, sub(2, "2000")).with_actor(viewer(1)), // renewal with an upgrade: same row
            at(2, sub(5, "1000")).with_actor(viewer(2)),
            at(
                3,
                EventData::SubscriptionEnd(SubscriptionEnd {
                    tier: Some("1000".into()),
                    is_gift: false,
                }),
            )
            .with_actor(viewer(2)),
            at(
                4,
                EventData::SubscriptionEnd(SubscriptionEnd {
                    tier: None,
                    is_gift: false,
                }),
            )
            .with_actor(viewer(3)), // start never seen
            // viewer4 chatted before (known), "newcomer" never did.
            at(5, EventData::Follow(Empty {})).with_actor(viewer(4)),
            at(
                6,
                EventData::SubscriptionGift(SubscriptionGift {
                    quantity: 2,
                    recipients: vec!["VIEWER4".into(), "newcomer".into()],
                    tier: Some("1000".into()),
                    gifter_total: Some(10),
                }),
            )
            .with_actor(viewer(5)),
        ],
    )
    .await;
    let pool = sql(&store).await;
    let rows = sqlx::query(
        "SELECT s.login, s.tier, s.months, s.is_gift, g.login AS gifter, s.started_at IS NOT NULL, s.ended_at IS NOT NULL, \
         s.viewer_id IS NOT NULL FROM viewer_subscriptions s LEFT JOIN viewers g ON g.id = s.gifter_id ORDER BY s.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    type SubscriptionRow = (
        String,
        Option<String>,
        Option<i64>,
        bool,
        Option<String>,
        bool,
        bool,
        bool,
    );
    let rows: Vec<SubscriptionRow> = rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
            )
        })
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        rows,
        [
            (
                "viewer1".into(),
                s("2000"),
                Some(2),
                false,
                None,
                true,
                false,
                true
            ),
            (
                "viewer2".into(),
                s("1000"),
                Some(5),
                false,
                None,
                true,
                true,
                true
            ),
            ("viewer3".into(), None, None, false, None, false, true, true),
            (
                "VIEWER4".into(),
                s("1000"),
                None,
                true,
                s("viewer5"),
                true,
                false,
                true
            ),
            (
                "newcomer".into(),
                s("1000"),
                None,
                true,
                s("viewer5"),
                true,
                false,
                false
            ),
        ]
    );
    let active = logins(&pool, "SELECT login FROM active_subscriptions ORDER BY login").await;
    assert_eq!(active, ["VIEWER4", "newcomer", "viewer1"]);
}

#[tokio::test]
async fn roles_are_granted_and_revoked_with_their_history() {
    let (store, _dir) = temp_store().await;
    record(
        &store,
        vec![
            at(0, EventData::ModeratorAdd(Empty {}))
                .with_actor(moderator())
                .with_target(viewer(1)),
            at(1, EventData::VipAdd(Empty {})).with_target(viewer(2)),
            at(2, EventData::VipAdd(Empty {})).with_target(viewer(2)), // already VIP: no second open row
            at(3, EventData::ModeratorRemove(Empty {}))
                .with_actor(moderator())
                .with_target(viewer(1)),
            at(4, EventData::VipRemove(Empty {})).with_target(viewer(3)), // grant never seen
            at(5, EventData::ModeratorAdd(Empty {})).with_target(viewer(1)), // modded again
        ],
    )
    .await;
    let pool = sql(&store).await;
    let rows = sqlx::query(
        "SELECT v.login, r.role, r.granted_at IS NOT NULL, r.revoked_at IS NOT NULL, b.login FROM viewer_roles r \
         JOIN viewers v ON v.id = r.viewer_id LEFT JOIN viewers b ON b.id = r.revoked_by ORDER BY r.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let rows: Vec<(String, String, bool, bool, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "viewer1".into(),
                "moderator".into(),
                true,
                true,
                Some("the_mod".into())
            ),
            ("viewer2".into(), "vip".into(), true, false, None),
            ("viewer3".into(), "vip".into(), false, true, None),
            ("viewer1".into(), "moderator".into(), true, false, None),
        ]
    );
    let current = logins(&pool, "SELECT v.login || ':' || r.role FROM current_roles r JOIN viewers v ON v.id = r.viewer_id ORDER BY 1").await;
    assert_eq!(current, ["viewer1:moderator", "viewer2:vip"]);
}

#[tokio::test]
async fn bans_timeouts_and_unbans_open_and_close_rows() {
    let (store, _dir) = temp_store().await;
    let timeout = |secs| {
        EventData::Timeout(Moderation {
            reason: Some("caps".into()),
            duration_secs: Some(secs),
            expires_at: None,
        })
    };
    let ban = EventData::Ban(Moderation {
        reason: Some("spam bot".into()),
        ..Default::default()
    });
    record(
        &store,
        vec![
            at(0, timeout(600)).with_actor(moderator()).with_target(viewer(1)),
            at(1, ban.clone()).with_actor(moderator()).with_target(viewer(1)), // escalated: the timeout closes
            at(2, EventData::Unban(Moderation::default()))
                .with_actor(moderator())
                .with_target(viewer(1)),
            at(3, timeout(60)).with_actor(moderator()).with_target(viewer(2)),
            at(30, ban).with_actor(moderator()).with_target(viewer(2)), // the old timeout had expired at minute 4
        ],
    )
    .await;
    let pool = sql(&store).await;
    let rows = sqlx::query(
        "SELECT v.login, b.reason, (b.expires_at - b.banned_at) / 1000000000, (b.lifted_at - b.banned_at) / 60000000000 \
         FROM bans b JOIN viewers v ON v.id = b.viewer_id ORDER BY b.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    type BanRow = (String, Option<String>, Option<i64>, Option<i64>);
    let rows: Vec<BanRow> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        rows,
        [
            ("viewer1".into(), Some("caps".into()), Some(600), Some(1)),
            ("viewer1".into(), Some("spam bot".into()), None, Some(1)),
            ("viewer2".into(), Some("caps".into()), Some(60), Some(1)), // closed at its expiry, not at the ban
            ("viewer2".into(), Some("spam bot".into()), None, None),
        ]
    );
    let banned = logins(
        &pool,
        "SELECT v.login FROM current_bans b JOIN viewers v ON v.id = b.viewer_id",
    )
    .await;
    assert_eq!(banned, ["viewer2"]);
}

#[tokio::test]
async fn a_duplicate_never_projects_twice() {
    let (store, _dir) = temp_store().await;
    let follow = at(0, EventData::Follow(Empty {}))
        .with_actor(viewer(1))
        .with_source_id("f-1");
    record(&store, vec![follow.clone(), follow.clone()]).await;
    record(&store, vec![follow]).await;
    let pool = sql(&store).await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM follower_history")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn viewers_keep_their_latest_name_and_first_and_last_sighting() {
    let (store, _dir) = temp_store().await;
    let mut renamed = viewer(1);
    renamed.display_name = "Viewer_One".into();
    record(
        &store,
        vec![
            at(5, EventData::Follow(Empty {})).with_actor(renamed),
            at(0, EventData::Follow(Empty {})).with_actor(viewer(1)), // older, imported late
        ],
    )
    .await;
    let pool = sql(&store).await;
    let row = sqlx::query("SELECT display_name, (last_seen_at - first_seen_at) / 60000000000 FROM viewers")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (row.get::<String, _>(0), row.get::<i64, _>(1)),
        ("Viewer_One".into(), 5)
    );
}

#[tokio::test]
async fn the_community_is_who_follows_holds_a_role_and_is_subscribed_now() {
    let (store, _dir) = temp_store().await;
    let sub = |tier: &str| {
        EventData::Subscription(Subscription {
            months: None,
            tier: Some(tier.into()),
            is_gift: false,
            message: None,
        })
    };
    record(
        &store,
        vec![
            at(1, EventData::Follow(Empty {})).with_actor(viewer(1)),
            at(2, EventData::Follow(Empty {})).with_actor(viewer(2)),
            at(3, EventData::ModeratorAdd(Empty {})).with_target(viewer(3)),
            at(4, EventData::ModeratorAdd(Empty {})).with_target(viewer(4)),
            at(5, EventData::ModeratorRemove(Empty {})).with_target(viewer(4)),
            at(6, EventData::VipAdd(Empty {})).with_target(viewer(5)),
            at(7, sub("1000")).with_actor(viewer(6)),
            at(8, sub("2000")).with_actor(viewer(7)),
            at(
                9,
                EventData::SubscriptionEnd(SubscriptionEnd {
                    tier: Some("2000".into()),
                    is_gift: false,
                }),
            )
            .with_actor(viewer(7)),
        ],
    )
    .await;
    let channel = sample::channel().platform_id;
    let community = store.community(Platform::Twitch, &channel).await.unwrap();
    let ids = |ids: &[u32]| ids.iter().map(|n| n.to_string()).collect();
    assert_eq!(community.followers, ids(&[1, 2]));
    let last = store
        .events(&onair_store::EventQuery::all())
        .await
        .unwrap()
        .last()
        .unwrap()
        .received_at;
    assert_eq!(community.last_received_at, Some(last));
    let keys = |map: &std::collections::HashMap<String, Actor>| -> std::collections::HashSet<String> {
        map.keys().cloned().collect()
    };
    assert_eq!(keys(&community.moderators), ids(&[3]));
    assert_eq!(community.moderators["3"], viewer(3));
    assert_eq!(keys(&community.vips), ids(&[5]));
    assert_eq!(
        community.subscribers,
        [("6".to_owned(), (viewer(6), Some("1000".to_owned())))].into()
    );
    // Another platform's channel of the same id, or an unknown channel, has nobody.
    let elsewhere = store.community(Platform::Kick, &channel).await.unwrap();
    assert_eq!(elsewhere, onair_core::Community::default());
    store.close().await;
}
