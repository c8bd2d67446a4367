//! The EventSub connection against a scripted EventSub server on loopback, on tokio's paused clock (every
//! timer exact, no real waiting): subscriptions created on each new session and only then "connected";
//! notifications delivered once however often Twitch sends them, old timestamps included; the
//! `session_reconnect` handover (old socket read until the new welcome, nothing lost or doubled, nothing
//! re-created); the keepalive watchdog; every close code ending in a fresh session with its subscriptions
//! re-created; revocations and missing permissions as warnings; a refused sign-in as a failure.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use onair_core::{ChannelRef, ConnectionState, Event, EventKind, LiveConnection, Platform, PlatformError};
use onair_pusher::BackoffPolicy;
use onair_twitch::testing::{ClientEnd, EventSubServer, ServerSocket};
use onair_twitch::{LiveOptions, SessionSetup, TwitchLive};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/twitch");
const BROADCASTER: &str = "52731608";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
}

/// Records the sessions it was asked to subscribe on; answers with `warnings`, or fails when told to.
#[derive(Default)]
struct Setup {
    sessions: Mutex<Vec<String>>,
    warnings: Vec<String>,
    refuse: bool,
}

impl Setup {
    fn sessions(&self) -> Vec<String> {
        self.sessions.lock().unwrap().clone()
    }
}

#[async_trait]
impl SessionSetup for Setup {
    async fn subscribe(&self, session_id: &str) -> Result<Vec<String>, PlatformError> {
        self.sessions.lock().unwrap().push(session_id.to_owned());
        if self.refuse {
            return Err(PlatformError::Unauthorized {
                platform: Platform::Twitch,
                detail: "invalid access token".into(),
            });
        }
        Ok(self.warnings.clone())
    }
}

struct Rig {
    server: EventSubServer,
    setup: Arc<Setup>,
    live: Box<dyn LiveConnection>,
    events: mpsc::Receiver<Event>,
}

const KEEPALIVE: Duration = Duration::from_secs(10);
const LEEWAY: Duration = Duration::from_secs(5);

async fn rig(setup: Setup) -> Rig {
    let server = EventSubServer::start().await.unwrap();
    let setup = Arc::new(setup);
    let options = LiveOptions {
        url: format!("{}?keepalive_timeout_seconds=10", server.url()),
        keepalive: KEEPALIVE,
        keepalive_leeway: LEEWAY,
        connect_timeout: Duration::from_secs(10),
        backoff: BackoffPolicy {
            jitter: false,
            ..BackoffPolicy::default()
        },
    };
    let (sink, events) = mpsc::channel(64);
    let channel = ChannelRef::new(BROADCASTER, "nebulacast");
    let live = TwitchLive::start(options, setup.clone(), &[channel], sink);
    Rig {
        server,
        setup,
        live: Box::new(live),
        events,
    }
}

impl Rig {
    /// Accepts the next connection and welcomes it as `session`; waits until the client says it is
    /// connected on it (its subscriptions created).
    async fn session(&mut self, session: &str) -> ServerSocket {
        let mut socket = self.server.accept().await.unwrap();
        socket.welcome(session, 10).await.unwrap();
        self.connected_on(session).await;
        socket
    }

    async fn connected_on(&self, session: &str) {
        let mut state = self.live.state();
        state
            .wait_for(|s| matches!(s, ConnectionState::Connected { session: Some(id) } if id == session))
            .await
            .unwrap();
    }

    async fn next_event(&mut self) -> Event {
        self.events.recv().await.unwrap()
    }
}

fn follow_event(user_id: &str) -> serde_json::Value {
    json!({
        "user_id": user_id, "user_login": format!("viewer{user_id}"), "user_name": format!("Viewer{user_id}"),
        "broadcaster_user_id": BROADCASTER, "broadcaster_user_login": "nebulacast",
        "broadcaster_user_name": "NebulaCast", "followed_at": "2026-11-29T20:00:00.123Z",
    })
}

#[tokio::test(start_paused = true)]
async fn a_session_is_subscribed_then_delivers_each_notification_once() {
    let mut rig = rig(Setup::default()).await;
    let mut socket = rig.server.accept().await.unwrap();
    assert_eq!(
        socket.uri(),
        "/ws?keepalive_timeout_seconds=10",
        "the keepalive is asked for"
    );
    assert!(matches!(*rig.live.state().borrow(), ConnectionState::Connecting));
    socket.welcome("session-1", 10).await.unwrap();
    rig.connected_on("session-1").await;
    assert_eq!(rig.setup.sessions(), ["session-1"]);

    // A fixture frame as Twitch sent it (its timestamp is days old: still recorded), then the same
    // message again (at-least-once delivery), then a keepalive and another follow.
    let follow = fixture("04_notification_channel.follow.json");
    socket.send(&follow).await.unwrap();
    socket.send(&follow).await.unwrap();
    socket.keepalive().await.unwrap();
    socket.send("{not json").await.unwrap();
    socket
        .notify("m-2", "channel.follow", follow_event("42"))
        .await
        .unwrap();

    let first = rig.next_event().await;
    assert_eq!(first.kind(), EventKind::Follow);
    assert_eq!(
        first.source_id.as_deref(),
        Some("e3a1c5d8-61b2-4f0e-9a77-5c2d8b1e4f60")
    );
    assert_eq!(first.actor.as_ref().unwrap().login, "hoshino_mika");
    assert_eq!(first.channel.platform_id, BROADCASTER);
    let second = rig.next_event().await;
    assert_eq!(
        second.source_id.as_deref(),
        Some("m-2"),
        "the resend and the bad frame were skipped"
    );
    assert!(matches!(
        *rig.live.state().borrow(),
        ConnectionState::Connected { .. }
    ));

    rig.live.shutdown().await;
    assert_eq!(socket.client_end().await.0, ClientEnd::Closed(1000));
}

#[tokio::test(start_paused = true)]
async fn a_reconnect_moves_to_the_new_socket_without_losing_doubling_or_resubscribing() {
    let mut rig = rig(Setup::default()).await;
    let mut old = rig.session("old").await;
    let reconnect_url = rig.server.reconnect_url("abc");
    old.reconnect("old", &reconnect_url).await.unwrap();
    let mut new = rig.server.accept().await.unwrap();
    assert_eq!(
        new.uri(),
        "/ws?reconnect=abc",
        "the reconnect URL is used as given"
    );

    // Until the new welcome, the old socket still delivers; the last of it arrives just before the new
    // welcome, and the client may read the welcome first: it still reads the old socket to its end.
    old.notify("before-welcome", "channel.follow", follow_event("1"))
        .await
        .unwrap();
    old.notify("late-on-old", "channel.follow", follow_event("4"))
        .await
        .unwrap();
    new.welcome("new", 10).await.unwrap();
    assert_eq!(
        old.client_end().await.0,
        ClientEnd::Closed(1000),
        "the old socket is closed after the welcome"
    );
    rig.connected_on("new").await;
    // Twitch may send a message on both sockets around the switch: it is delivered once.
    new.notify("before-welcome", "channel.follow", follow_event("1"))
        .await
        .unwrap();
    new.notify("after-welcome", "channel.follow", follow_event("2"))
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(rig.next_event().await.source_id.unwrap());
    }
    assert_eq!(got, ["before-welcome", "late-on-old", "after-welcome"]);
    assert_eq!(
        rig.setup.sessions(),
        ["old"],
        "the subscriptions moved with the session"
    );
    rig.live.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_old_socket_closing_before_the_new_welcome_waits_for_the_new_one() {
    let mut rig = rig(Setup::default()).await;
    let mut old = rig.session("old").await;
    old.reconnect("old", &rig.server.reconnect_url("x"))
        .await
        .unwrap();
    let mut new = rig.server.accept().await.unwrap();
    old.close(4004, "reconnect grace time expired").await.unwrap();
    new.welcome("new", 10).await.unwrap();
    rig.connected_on("new").await;
    new.notify("n-1", "channel.follow", follow_event("3"))
        .await
        .unwrap();
    assert_eq!(rig.next_event().await.source_id.as_deref(), Some("n-1"));
    assert_eq!(rig.setup.sessions(), ["old"]);
    rig.live.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn silence_past_the_keepalive_reconnects_and_subscribes_again() {
    let mut rig = rig(Setup::default()).await;
    let mut socket = rig.session("s-1").await;
    let started = Instant::now();
    socket.keepalive().await.unwrap();
    // Nothing more: the watchdog closes the socket after keepalive + leeway.
    assert_eq!(socket.client_end().await.0, ClientEnd::Closed(1001));
    let waited = started.elapsed();
    assert!(
        waited >= KEEPALIVE + LEEWAY && waited < KEEPALIVE + LEEWAY + Duration::from_secs(1),
        "{waited:?}"
    );
    rig.session("s-2").await;
    assert_eq!(
        rig.setup.sessions(),
        ["s-1", "s-2"],
        "a new session gets its subscriptions again"
    );
    rig.live.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn every_close_code_ends_in_a_fresh_session_with_its_subscriptions() {
    let mut rig = rig(Setup::default()).await;
    let mut changes = rig.live.state_changes();
    let mut socket = rig.session("s-4000").await;
    let mut expected = vec!["s-4000".to_owned()];
    for code in 4000..=4007u16 {
        // Each session lives a while (keepalives coming), so each close starts a fresh outage.
        tokio::time::sleep(KEEPALIVE).await;
        socket.keepalive().await.unwrap();
        tokio::time::sleep(KEEPALIVE).await;
        socket.close(code, "scripted").await.unwrap();
        let next = format!("s-{}", code + 1);
        socket = rig.session(&next).await;
        expected.push(next);
    }
    assert_eq!(rig.setup.sessions(), expected);
    // Each close was reported as a reconnect, the transient ones at once (4001, 4002, 4004-4007).
    let mut waits = Vec::new();
    while let Ok(state) = changes.try_recv() {
        if let ConnectionState::Reconnecting { next_in, .. } = state {
            waits.push(next_in);
        }
    }
    assert_eq!(waits.len(), 8, "{waits:?}");
    assert_eq!(waits[0], Duration::from_secs(1), "4000 backs off");
    assert_eq!(waits[1], Duration::ZERO, "4001 reconnects at once");
    assert_eq!(waits[3], Duration::from_secs(1), "4003 backs off");
    rig.live.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_server_closing_every_new_session_backs_off_then_gives_up() {
    let mut rig = rig(Setup::default()).await;
    let mut changes = rig.live.state_changes();
    let mut state = rig.live.state();
    for n in 0.. {
        let mut socket = rig.server.accept().await.unwrap();
        socket.welcome(&format!("s-{n}"), 10).await.unwrap();
        rig.connected_on(&format!("s-{n}")).await;
        socket.close(4003, "connection unused").await.unwrap();
        let now = state
            .wait_for(|s| {
                matches!(
                    s,
                    ConnectionState::Reconnecting { .. } | ConnectionState::Failed { .. }
                )
            })
            .await
            .unwrap()
            .clone();
        if matches!(now, ConnectionState::Failed { .. }) {
            break;
        }
    }
    let mut waits = Vec::new();
    while let Ok(state) = changes.try_recv() {
        if let ConnectionState::Reconnecting { next_in, .. } = state {
            waits.push(next_in.as_secs());
        }
    }
    assert_eq!(
        waits,
        [1, 2, 4, 8, 16],
        "the count was not reset by sessions that ended at once"
    );
    rig.live.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn sessions_that_deliver_notifications_end_the_outage_however_short() {
    // A flaky network: every reconnect works and notifications arrive, then the socket breaks a second
    // later. Each loss is the first retry of a new outage; the client never gives up (it did after five).
    let mut rig = rig(Setup::default()).await;
    let mut changes = rig.live.state_changes();
    let mut state = rig.live.state();
    for n in 0..9 {
        let mut socket = tokio::select! {
            socket = rig.server.accept() => socket.unwrap(),
            failed = state.wait_for(|s| matches!(s, ConnectionState::Failed { .. })) => {
                panic!("the client gave up before connection {n}: {:?}", *failed.unwrap())
            }
        };
        if n == 8 {
            break;
        }
        let session = format!("session-{n}");
        socket.welcome(&session, 10).await.unwrap();
        rig.connected_on(&session).await;
        let id = format!("m-{n}");
        socket
            .notify(&id, "channel.follow", follow_event(&n.to_string()))
            .await
            .unwrap();
        assert_eq!(rig.next_event().await.source_id, Some(id));
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(socket);
    }
    let mut retries = Vec::new();
    while let Ok(state) = changes.try_recv() {
        if let ConnectionState::Reconnecting { attempt, .. } = state {
            retries.push(attempt);
        }
    }
    assert_eq!(retries, [1; 8]);
    rig.live.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn missing_permissions_and_revocations_are_warnings_with_their_reason() {
    let setup = Setup {
        warnings: vec!["channel.cheer needs the bits:read permission".to_owned()],
        ..Setup::default()
    };
    let mut rig = rig(setup).await;
    let mut socket = rig.session("s-1").await;
    let mut warnings = rig.live.warnings();
    assert_eq!(
        *warnings.borrow_and_update(),
        ["channel.cheer needs the bits:read permission"]
    );
    socket
        .revoke("channel.vip.add", "authorization_revoked")
        .await
        .unwrap();
    warnings.changed().await.unwrap();
    let now = warnings.borrow().clone();
    assert_eq!(now.len(), 2);
    assert!(
        now[1].contains("channel.vip.add") && now[1].contains("sign in to Twitch again"),
        "{now:?}"
    );
    // The connection itself is fine.
    socket
        .notify("m-1", "channel.follow", follow_event("9"))
        .await
        .unwrap();
    assert_eq!(rig.next_event().await.source_id.as_deref(), Some("m-1"));
    rig.live.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_sign_in_fails_without_retrying_until_asked() {
    let rig = rig(Setup {
        refuse: true,
        ..Setup::default()
    })
    .await;
    let mut socket = rig.server.accept().await.unwrap();
    socket.welcome("s-1", 10).await.unwrap();
    let mut state = rig.live.state();
    let failed = state
        .wait_for(|s| matches!(s, ConnectionState::Failed { .. }))
        .await
        .unwrap()
        .clone();
    let ConnectionState::Failed { reason } = failed else {
        unreachable!()
    };
    assert!(reason.contains("sign in to twitch again"), "{reason}");
    assert_eq!(socket.client_end().await.0, ClientEnd::Closed(1000));
    // Asked to reconnect, it tries again at once.
    rig.live.reconnect_now();
    let mut socket = rig.server.accept().await.unwrap();
    socket.welcome("s-2", 10).await.unwrap();
    state
        .wait_for(|s| matches!(s, ConnectionState::Failed { .. }))
        .await
        .unwrap();
    assert_eq!(rig.setup.sessions(), ["s-1", "s-2"]);
    rig.live.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn reconnect_now_opens_a_fresh_session() {
    let mut rig = rig(Setup::default()).await;
    let mut socket = rig.session("s-1").await;
    rig.live.reconnect_now();
    assert_eq!(socket.client_end().await.0, ClientEnd::Closed(1000));
    rig.session("s-2").await;
    assert_eq!(rig.setup.sessions(), ["s-1", "s-2"]);
    rig.live.shutdown().await;
}
