//! The polling fallback through `TwitchPlatform`, against the scripted EventSub server, Helix on wiremock
//! and a real store on disk (on the real clock, since SQLite answers from its own threads; the fallback's
//! minute is a second here): at start the lists are read (moderators recorded,
//! the subscribers taken as the baseline, follows from before the watching left alone); while the socket
//! is down they are read every "minute", what was missed is recorded once (marked as reconciled) and what is
//! gone is revoked or ended, and the warnings say that polling stands in; once the socket is back the
//! warning goes.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use onair_core::{
    Actor, ChannelRef, Community, ConnectionState, Event, EventKind, Platform, Realtime, Session,
};
use onair_pusher::BackoffPolicy;
use onair_store::{CommunityReader, Store};
use onair_twitch::helix::Helix;
use onair_twitch::platform::TwitchPlatform;
use onair_twitch::poll::RecordedCommunity;
use onair_twitch::reconcile::RECONCILED;
use onair_twitch::testing::EventSubServer;
use onair_twitch::{Credentials, TwitchConfig};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BROADCASTER: &str = "52731608";

/// The fallback's cadence while the socket is down (a minute in the app).
const MINUTE: Duration = Duration::from_secs(1);

struct InStore(CommunityReader);

#[async_trait]
impl RecordedCommunity for InStore {
    async fn community(&self, channel: &ChannelRef) -> Result<Community, String> {
        self.0
            .community(Platform::Twitch, &channel.platform_id)
            .await
            .map_err(|e| e.to_string())
    }
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn users(ids: &[u32]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|n| json!({"user_id": n.to_string(), "user_login": format!("user{n}"), "user_name": format!("User{n}")}))
        .collect();
    json!({"data": data, "pagination": {}})
}

fn followers(list: &[(u32, chrono::DateTime<Utc>)]) -> Value {
    let data: Vec<Value> = list
        .iter()
        .map(|(n, at)| {
            json!({"user_id": n.to_string(), "user_login": format!("user{n}"),
                               "user_name": format!("User{n}"), "followed_at": at.to_rfc3339()})
        })
        .collect();
    json!({"data": data, "pagination": {}, "total": data.len()})
}

fn subscribers(ids: &[u32]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|n| {
            json!({"broadcaster_id": BROADCASTER, "broadcaster_login": "nebulacast",
                         "broadcaster_name": "NebulaCast", "gifter_id": "", "gifter_login": "",
                         "gifter_name": "", "is_gift": false, "tier": "1000", "plan_name": "Tier 1",
                         "user_id": n.to_string(), "user_login": format!("user{n}"),
                         "user_name": format!("User{n}")})
        })
        .collect();
    json!({"data": data, "pagination": {}, "total": data.len(), "points": data.len()})
}

/// Helix listing these followers, moderators, VIPs and subscribers (and accepting every subscription).
async fn lists(
    helix: &MockServer,
    follows: &[(u32, chrono::DateTime<Utc>)],
    mods: &[u32],
    vips: &[u32],
    subs: &[u32],
) {
    helix.reset().await;
    for (route, body) in [
        ("/channels/followers", followers(follows)),
        ("/moderation/moderators", users(mods)),
        ("/channels/vips", users(vips)),
        ("/subscriptions", subscribers(subs)),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ok(body))
            .mount(helix)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/eventsub/subscriptions"))
        .respond_with(ResponseTemplate::new(202).set_body_json(
            json!({"data": [{"id": "s", "cost": 0}], "total": 1, "total_cost": 0,
                                      "max_total_cost": 10}),
        ))
        .mount(helix)
        .await;
}

fn kinds(events: &[Event]) -> Vec<(EventKind, String)> {
    let mut kinds: Vec<(EventKind, String)> = events
        .iter()
        .map(|e| {
            let who = e.actor.as_ref().or(e.target.as_ref()).unwrap();
            (e.kind(), who.id.clone())
        })
        .collect();
    kinds.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_records_what_the_socket_missed_while_it_was_down() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("onair.db")).await.unwrap();
    let eventsub = EventSubServer::start().await.unwrap();
    let helix_server = MockServer::start().await;
    let before_watching = Utc::now() - chrono::Duration::days(30);
    lists(&helix_server, &[(1, before_watching)], &[3], &[], &[6]).await;

    let config = TwitchConfig {
        client_id: Some("cid".into()),
        eventsub_url: eventsub.url().to_owned(),
        helix_url: helix_server.uri(),
        keepalive: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        poll_while_down: MINUTE,
        poll_while_up: Duration::from_secs(3600),
        backoff: BackoffPolicy {
            jitter: false,
            max_retries: 100,
            ..BackoffPolicy::default()
        },
        ..TwitchConfig::default()
    };
    let session = Session {
        platform: Platform::Twitch,
        account: Actor::new(BROADCASTER, "nebulacast"),
        scopes: onair_twitch::subscriptions::scopes()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        access_token: SecretString::from("token"),
        refresh_token: None,
        expires_at: None,
    };
    let helix = Helix::new(&config, Credentials::new("cid", session, None)).unwrap();
    let platform =
        TwitchPlatform::new(config, helix, None).with_polling(Arc::new(InStore(store.community_reader())));
    let (sink, mut events) = mpsc::channel(64);
    let channel = ChannelRef::new(BROADCASTER, "nebulacast");
    let live = platform.connect(&[channel], sink).await.unwrap();
    let writer = store.writer();
    // Everything found goes to the store, as the hub would; the test sees each event too.
    let (seen, mut recorded) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            writer.append_and_wait(event.clone()).await.unwrap();
            seen.send(event).unwrap();
        }
    });
    let mut next = async |n: usize| {
        let mut got = Vec::new();
        for _ in 0..n {
            got.push(recorded.recv().await.unwrap());
        }
        got
    };

    // At start: the moderator is recorded; the follow from before the watching and the subscriber
    // already there (the baseline) are not events.
    let mut socket = eventsub.accept().await.unwrap();
    socket.welcome("s-1", 10).await.unwrap();
    let first = next(1).await;
    assert_eq!(kinds(&first), [(EventKind::ModeratorAdd, "3".to_owned())]);
    assert!(first[0].source_id.as_deref().unwrap().starts_with(RECONCILED));
    let mut state = live.state();
    state
        .wait_for(|s| matches!(s, ConnectionState::Connected { .. }))
        .await
        .unwrap();

    // The socket goes down (the server stops answering); meanwhile a viewer follows, one subscribes, the
    // moderator is removed and a VIP added.
    let started = tokio::time::Instant::now();
    let just_now = Utc::now();
    lists(
        &helix_server,
        &[(2, just_now), (1, before_watching)],
        &[],
        &[5],
        &[6, 7],
    )
    .await;
    socket.close(4000, "internal server error").await.unwrap();
    drop(socket);
    let mut warnings = live.warnings();
    warnings
        .wait_for(|w| w.iter().any(|w| w.contains("Live events are interrupted")))
        .await
        .unwrap();
    let missed = next(4).await;
    assert!(
        started.elapsed() < MINUTE * 20,
        "read within about a minute of the drop: {:?}",
        started.elapsed()
    );
    assert_eq!(
        kinds(&missed),
        [
            (EventKind::Follow, "2".to_owned()),
            (EventKind::ModeratorRemove, "3".to_owned()),
            (EventKind::Subscription, "7".to_owned()),
            (EventKind::VipAdd, "5".to_owned()),
        ]
    );
    assert!(
        missed
            .iter()
            .all(|e| e.source_id.as_deref().unwrap().starts_with(RECONCILED))
    );

    // Later reads find nothing new: each change is recorded once (checked at the end). Wiremock gives no
    // signal when it is asked, so its request log is looked at until two more reads have happened.
    let reads = async || {
        helix_server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/moderation/moderators")
            .count()
    };
    let so_far = reads().await;
    tokio::time::timeout(MINUTE * 10, async {
        while reads().await < so_far + 2 {
            tokio::time::sleep(MINUTE / 10).await;
        }
    })
    .await
    .unwrap();
    let community = store.community(Platform::Twitch, BROADCASTER).await.unwrap();
    assert!(community.followers.contains("2") && community.vips.contains_key("5"));
    assert!(community.moderators.is_empty());

    // The socket comes back: the warning goes.
    // Attempts the client gave up on wait in the listen queue: the first one still open is welcomed.
    let _socket = loop {
        let mut socket = eventsub.accept().await.unwrap();
        if socket.welcome("s-2", 10).await.is_ok() {
            break socket;
        }
    };
    warnings
        .wait_for(|w| !w.iter().any(|w| w.contains("Live events are interrupted")))
        .await
        .unwrap();
    live.shutdown().await;
    // Once the connection is shut, the pump has stored everything it was given.
    while recorded.recv().await.is_some() {}
    let stored = store.events(&onair_store::EventQuery::all()).await.unwrap();
    assert_eq!(
        kinds(&stored),
        kinds(&[first, missed].concat()),
        "each change is recorded once, however many reads found it"
    );
    store.close().await;
}
