//! Twitch through network faults: the real EventSub connection (`TwitchLive`) against the scripted
//! EventSub server (`onair-twitch`'s feature `test-server`), a fault proxy in between, every event into a
//! real store. Each connection gets a welcome with a keepalive of 1 s, then a stream of `channel.follow`
//! notifications with unique message ids. Then: latency with jitter and writes of 1-7 bytes; a half-open
//! socket (the server's bytes stop, nothing closes), which the keepalive watchdog (keepalive + leeway of
//! silence) must notice and replace with a fresh session; a TCP reset inside a frame; refusals while the
//! client retries; a seeded chaos schedule of every fault. Checked: every notification the proxy delivered
//! while a connection was up is stored exactly once and nothing else is; every retry waits within the
//! backoff's bounds and the connection never ends `failed`; each fault is followed by a new session.
//! And a `session_reconnect` over a slow, choppy network: the move is no outage, the old socket is closed
//! by the client after the new welcome, the messages sent on both sockets are stored once. And a session
//! OnAir gives up because its subscriptions could not be created: a notification that crosses its close
//! is still stored.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use common::{Recorder, States, assert_backoff, assert_stored_once, quick_backoff};
use onair_core::{ChannelRef, ConnectionState, LiveConnection, PlatformError};
use onair_faultproxy::{Chaos, Conditions, Connection, End, FaultProxy, Schedule, Stall, WsFrame};
use onair_twitch::testing::{EventSubServer, ServerSocket};
use onair_twitch::{LiveOptions, SessionSetup, TwitchLive};
use serde_json::{Value, json};
use tokio::time::{Instant, timeout};

const BROADCASTER: &str = "52731608";
/// The keepalive each welcome announces, in seconds.
const KEEPALIVE: u64 = 1;
const LEEWAY: Duration = Duration::from_millis(300);
/// The message id of the last notification, sent once the stream stops.
const LAST: &str = "last-notification";

/// Subscriptions "created" at once (Helix is not what these tests are about).
struct Subscribed;

#[async_trait]
impl SessionSetup for Subscribed {
    async fn subscribe(&self, _session_id: &str) -> Result<Vec<String>, PlatformError> {
        Ok(Vec::new())
    }
}

/// What the server streams: numbered follows while `sending`, then the last one, once. It can also ask
/// the client to move (`session_reconnect`) to a new socket through the proxy.
#[derive(Default)]
struct Stream {
    next: AtomicU64,
    sending: AtomicBool,
    last_sent: AtomicBool,
    /// The newest connection welcomed: older ones send nothing more.
    newest: AtomicU32,
    /// Set to have the newest connection send `session_reconnect` to `reconnect_url`.
    move_now: AtomicBool,
    reconnect_url: OnceLock<String>,
    /// The last notifications sent, which a socket taking over sends again (Twitch may send a message on
    /// both sockets around a move).
    recent: Mutex<Vec<(String, Value)>>,
}

impl Stream {
    fn new() -> Arc<Stream> {
        Arc::new(Stream {
            next: AtomicU64::new(1),
            sending: AtomicBool::new(true),
            ..Stream::default()
        })
    }

    fn next(&self) -> Option<(String, Value)> {
        let (id, n) = if self.sending.load(Ordering::SeqCst) {
            let n = self.next.fetch_add(1, Ordering::SeqCst);
            (format!("follow-{n:08}"), n)
        } else if !self.last_sent.swap(true, Ordering::SeqCst) {
            (LAST.to_owned(), 0)
        } else {
            return None;
        };
        let event = json!({
            "user_id": format!("{}", 700_000_000 + n), "user_login": format!("viewer{n}"),
            "user_name": format!("Viewer{n}"), "broadcaster_user_id": BROADCASTER,
            "broadcaster_user_login": "nebulacast", "broadcaster_user_name": "NebulaCast",
            "followed_at": chrono::Utc::now().to_rfc3339(),
        });
        let mut recent = self.recent.lock().unwrap();
        recent.push((id.clone(), event.clone()));
        let excess = recent.len().saturating_sub(5);
        recent.drain(..excess);
        Some((id, event))
    }
}

async fn serve(server: EventSubServer, stream: Arc<Stream>) {
    let mut n = 0;
    while let Ok(socket) = server.accept().await {
        n += 1;
        tokio::spawn(serve_one(socket, n, Arc::clone(&stream)));
    }
}

/// The welcome, then a notification about every 8 ms (a keepalive when there is none to send); a
/// socket taking over (`?reconnect=`) first sends the last few notifications again. Once a newer socket is
/// welcomed, an older one sends nothing more and waits for the client to close it.
async fn serve_one(mut socket: ServerSocket, n: u32, stream: Arc<Stream>) {
    let session = format!("session-{n}");
    if socket.welcome(&session, KEEPALIVE).await.is_err() {
        return;
    }
    stream.newest.fetch_max(n, Ordering::SeqCst);
    if socket.uri().contains("reconnect=") {
        let again = stream.recent.lock().unwrap().clone();
        for (id, event) in again {
            if socket.notify(&id, "channel.follow", event).await.is_err() {
                return;
            }
        }
    }
    loop {
        if stream.newest.load(Ordering::SeqCst) > n {
            let _ = socket.client_end().await;
            return;
        }
        if stream.move_now.swap(false, Ordering::SeqCst) {
            let url = stream.reconnect_url.get().unwrap();
            if socket.reconnect(&session, url).await.is_err() {
                return;
            }
        }
        let sent = match stream.next() {
            Some((id, event)) => socket.notify(&id, "channel.follow", event).await,
            None => socket.keepalive().await,
        };
        if sent.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(8)).await;
    }
}

/// The scripted EventSub server, and a fault proxy in front of it.
async fn behind_proxy() -> (EventSubServer, FaultProxy) {
    let server = EventSubServer::start().await.unwrap();
    let upstream = server
        .url()
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .parse()
        .unwrap();
    let proxy = FaultProxy::start(upstream).await.unwrap();
    (server, proxy)
}

/// The client's options: through `proxy`, asking for a keepalive of [`KEEPALIVE`], retrying by `backoff`.
fn options(proxy: &FaultProxy, backoff: onair_pusher::BackoffPolicy) -> LiveOptions {
    LiveOptions {
        url: format!("ws://{}/ws?keepalive_timeout_seconds={KEEPALIVE}", proxy.addr()),
        // What the client asks for before a welcome says otherwise, and how long a session must last to end
        // an outage's count when it delivered nothing: longer than any session here, as in production
        // (30 s) against faults seconds apart.
        keepalive: Duration::from_secs(10),
        keepalive_leeway: LEEWAY,
        connect_timeout: Duration::from_secs(1),
        backoff,
    }
}

/// The notifications among `frames`, by message id (the source id the router gives them).
fn notifications(frames: &[WsFrame]) -> Vec<String> {
    frames
        .iter()
        .filter_map(WsFrame::text)
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter(|frame| frame["metadata"]["message_type"] == "notification")
        .filter_map(|frame| Some(frame["metadata"]["message_id"].as_str()?.to_owned()))
        .collect()
}

async fn delivered(conn: &Connection, at_least: usize) {
    timeout(
        Duration::from_secs(5),
        conn.wait_frames(|f| notifications(f).len() >= at_least),
    )
    .await
    .unwrap_or_else(|_| panic!("connection {} delivered too few notifications", conn.id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twitch_notifications_delivered_through_network_faults_are_stored_once() {
    common::logs();
    let (server, proxy) = behind_proxy().await;
    let stream = Stream::new();
    stream
        .reconnect_url
        .set(format!("ws://{}/ws?reconnect=move", proxy.addr()))
        .unwrap();
    tokio::spawn(serve(server, Arc::clone(&stream)));

    let policy = quick_backoff();
    let options = options(&proxy, policy.clone());
    let channel = ChannelRef::new(BROADCASTER, "nebulacast");
    let (mut recorder, sink) = Recorder::open().await;
    let mut live = TwitchLive::start(options, Arc::new(Subscribed), &[channel], sink);
    let mut states = States::follow(live.state_changes());
    let started = Instant::now();

    let first = proxy.connection(1).await;
    delivered(&first, 30).await;

    // Latency with jitter, and the server's bytes in pieces of 1 to 7.
    proxy.set(
        Conditions::clean()
            .with_latency(Duration::from_millis(10), Duration::from_millis(10))
            .with_split(1, 7),
    );
    let so_far = notifications(&first.frames()).len();
    delivered(&first, so_far + 30).await;

    // Half-open: silence longer than keepalive + leeway, and the watchdog opens a fresh session.
    let stalled_at = Instant::now();
    first.set(proxy.conditions().with_stall(Stall::Downstream));
    let noticed = states
        .wait(stalled_at, Duration::from_secs(4), |s| {
            matches!(s, ConnectionState::Reconnecting { .. })
        })
        .await;
    let detection = noticed - stalled_at;
    assert!(
        detection <= Duration::from_secs(KEEPALIVE) + LEEWAY + Duration::from_millis(300),
        "the half-open socket was noticed after {detection:?}"
    );
    states.connected_after(noticed, Duration::from_secs(3)).await;
    first.reset().await;
    let second = proxy.connection(2).await;
    delivered(&second, 20).await;

    // A TCP reset inside a frame.
    let cut_at = Instant::now();
    assert_eq!(second.cut().await, End::Cut { mid_frame: true });
    states.connected_after(cut_at, Duration::from_secs(3)).await;
    let third = proxy.connection(3).await;
    delivered(&third, 20).await;

    // Cut, and refused while the client retries.
    proxy.refuse(true).await;
    let refused_at = Instant::now();
    third.cut().await;
    let is_retry = |s: &ConnectionState| matches!(s, ConnectionState::Reconnecting { .. });
    let first_retry = states.wait(refused_at, Duration::from_secs(3), is_retry).await;
    states
        .wait(
            first_retry + Duration::from_millis(1),
            Duration::from_secs(3),
            is_retry,
        )
        .await;
    proxy.refuse(false).await;
    states.connected_after(refused_at, Duration::from_secs(5)).await;
    let fourth = proxy.connection(4).await;
    delivered(&fourth, 20).await;

    // Chaos.
    proxy.set(Conditions::clean());
    let chaos = Chaos {
        duration: Duration::from_secs(6),
        gap: Duration::from_millis(500)..Duration::from_millis(1200),
        length: Duration::from_millis(200)..Duration::from_millis(1500),
        ..Chaos::default()
    };
    let schedule = Schedule::random(17, &chaos);
    let steps = schedule.steps().len();
    let played = proxy.play(schedule).finish().await;
    assert!(played.len() >= steps, "{played:?}");
    // One more cut once calm, so the end is read on a connection that began after every fault.
    let calm = Instant::now();
    let before = proxy.connections().len();
    proxy.cut_all().await;
    states.connected_after(calm, Duration::from_secs(5)).await;
    let last = proxy.connection(before + 1).await;
    let so_far = notifications(&last.frames()).len();
    delivered(&last, so_far + 10).await;

    stream.sending.store(false, Ordering::SeqCst);
    timeout(Duration::from_secs(10), recorder.wait_stored(LAST))
        .await
        .expect("the last notification was not stored");
    let delivered: BTreeSet<String> = proxy
        .connections()
        .iter()
        .flat_map(|c| notifications(&c.frames()))
        .collect();
    assert!(delivered.len() > 300, "only {} delivered", delivered.len());
    assert_stored_once(&recorder.stored().await, &delivered);
    assert_backoff(&policy, &states.all(), Duration::from_secs(1));
    eprintln!(
        "twitch: {} notifications over {} connections in {:?}",
        delivered.len(),
        proxy.connections().len(),
        started.elapsed()
    );
    timeout(Duration::from_secs(5), Box::new(live).shutdown())
        .await
        .expect("the connection did not shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_reconnect_over_a_slow_choppy_network_loses_and_doubles_nothing() {
    common::logs();
    let (server, proxy) = behind_proxy().await;
    let stream = Stream::new();
    stream
        .reconnect_url
        .set(format!("ws://{}/ws?reconnect=move", proxy.addr()))
        .unwrap();
    tokio::spawn(serve(server, Arc::clone(&stream)));
    proxy.set(
        Conditions::clean()
            .with_latency(Duration::from_millis(20), Duration::from_millis(20))
            .with_split(1, 7),
    );
    let options = options(&proxy, quick_backoff());
    let (mut recorder, sink) = Recorder::open().await;
    let channel = ChannelRef::new(BROADCASTER, "nebulacast");
    let mut live = TwitchLive::start(options, Arc::new(Subscribed), &[channel], sink);
    let mut states = States::follow(live.state_changes());
    let old = proxy.connection(1).await;
    delivered(&old, 30).await;

    // Twitch asks to move: the new socket is opened while the old one is still read, the old one closed
    // after the new welcome; the last messages come on both.
    let asked = Instant::now();
    stream.move_now.store(true, Ordering::SeqCst);
    states
        .wait(
            asked,
            Duration::from_secs(5),
            |s| matches!(s, ConnectionState::Connected { session: Some(id) } if id == "session-2"),
        )
        .await;
    let new = proxy.connection(2).await;
    assert_eq!(
        timeout(Duration::from_secs(5), old.ended()).await.unwrap(),
        End::Closed,
        "the client closes the old socket"
    );
    delivered(&new, 30).await;
    let moved = states.since(asked);
    assert!(
        moved
            .iter()
            .all(|(_, s)| matches!(s, ConnectionState::Connected { .. })),
        "a move is not an outage: {moved:?}"
    );

    stream.sending.store(false, Ordering::SeqCst);
    timeout(Duration::from_secs(10), recorder.wait_stored(LAST))
        .await
        .expect("the last notification was not stored");
    let on_old: BTreeSet<String> = notifications(&old.frames()).into_iter().collect();
    let on_new: Vec<String> = notifications(&new.frames());
    assert!(on_new.iter().any(|id| on_old.contains(id)), "some came on both");
    let delivered: BTreeSet<String> = on_old.into_iter().chain(on_new).collect();
    assert_stored_once(&recorder.stored().await, &delivered);
    assert_eq!(proxy.connections().len(), 2);
    timeout(Duration::from_secs(5), Box::new(live).shutdown())
        .await
        .expect("the connection did not shut down");
}

/// Subscriptions that fail (Twitch's API unreachable) when the test says so.
struct FailsWhenTold(tokio::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>);

#[async_trait]
impl SessionSetup for FailsWhenTold {
    async fn subscribe(&self, _session_id: &str) -> Result<Vec<String>, PlatformError> {
        if let Some(told) = self.0.lock().await.take() {
            let _ = told.await;
        }
        Err(PlatformError::Unreachable {
            platform: onair_core::Platform::Twitch,
            detail: "the test cut Helix".to_owned(),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_that_crosses_the_close_of_a_failed_session_is_stored() {
    common::logs();
    let (server, proxy) = behind_proxy().await;
    let options = options(&proxy, quick_backoff());
    let (fail, told) = tokio::sync::oneshot::channel();
    let setup = Arc::new(FailsWhenTold(tokio::sync::Mutex::new(Some(told))));
    let (mut recorder, sink) = Recorder::open().await;
    let live = TwitchLive::start(
        options,
        setup,
        &[ChannelRef::new(BROADCASTER, "nebulacast")],
        sink,
    );
    let mut socket = timeout(Duration::from_secs(5), server.accept())
        .await
        .unwrap()
        .unwrap();
    socket.welcome("session-1", 10).await.unwrap();
    let connection = proxy.connection(1).await;
    connection.wait_frames(|f| !f.is_empty()).await;

    // A notification on its way (held by the network) when creating the subscriptions fails: OnAir gives
    // the session up and closes it; the notification reaches it only after its close went out, as one
    // Twitch had sent before reading that close would.
    connection.set(Conditions::clean().with_stall(Stall::Downstream));
    let event = json!({
        "user_id": "700000001", "user_login": "crosser", "user_name": "Crosser",
        "broadcaster_user_id": BROADCASTER, "broadcaster_user_login": "nebulacast",
        "broadcaster_user_name": "NebulaCast", "followed_at": chrono::Utc::now().to_rfc3339(),
    });
    socket
        .notify("crossed-the-close", "channel.follow", event)
        .await
        .unwrap();
    fail.send(()).unwrap();
    let (end, _) = timeout(Duration::from_secs(5), socket.client_end())
        .await
        .expect("OnAir closed the failed session");
    assert_eq!(end, onair_twitch::testing::ClientEnd::Closed(1000));
    connection.set(Conditions::clean());
    timeout(Duration::from_secs(5), recorder.wait_stored("crossed-the-close"))
        .await
        .expect("the notification that crossed the close was not stored");
    timeout(Duration::from_secs(5), Box::new(live).shutdown())
        .await
        .expect("the connection did not shut down");
}
