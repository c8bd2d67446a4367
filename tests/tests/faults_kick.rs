//! Kick through network faults: the real Kick connection (`KickLive` on `onair-pusher`) watching a channel
//! of the scripted Pusher server (`onair-pusher`'s feature `server`), a fault proxy in between, every event
//! into a real store. The server streams chat messages with unique ids on the chat feed of each connection
//! once the client subscribes it. Then: latency with jitter and writes of 1-7 bytes (decoded all the
//! same); a half-open socket (the server's bytes stop, nothing closes), which the liveness rule (ping after
//! `activity_timeout` of silence, dead without an answer within the pong timeout) must notice and replace;
//! a TCP reset inside a frame; a refusal while the client retries; then a seeded chaos schedule of every
//! fault. Checked: every chat message the proxy delivered while a connection was up is stored exactly once
//! and nothing else is; every retry waits within the backoff's bounds and the connection never ends
//! `failed`; each fault is followed by a new connection within those bounds.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::{Recorder, States, assert_backoff, assert_stored_once, quick_backoff};
use onair_core::{ChannelRef, ConnectionState, LiveConnection};
use onair_faultproxy::{Chaos, Conditions, Connection, End, FaultProxy, Schedule, Stall, WsFrame};
use onair_kick::{KickLive, PUSHER_APP_KEY};
use onair_pusher::server::{ScriptedServer, ServerConn};
use onair_pusher::{Endpoint, PusherConfig, app_path};
use serde_json::{Value, json};
use tokio::time::{Instant, timeout};

const CHANNEL_ID: u64 = 668;
const CHATROOM_ID: u64 = 4_760_932;
const CHAT_EVENT: &str = "App\\Events\\ChatMessageEvent";
/// The id of the last message, sent once the stream stops: when it is stored, everything before it is.
const LAST: u64 = 999_999_999;

fn chat_feed() -> String {
    format!("chatrooms.{CHATROOM_ID}.v2")
}

fn chat_id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// The fixture's chat message with id `n`.
fn chat_data(template: &Value, n: u64) -> String {
    let mut data = template.clone();
    data["id"] = json!(chat_id(n));
    data["chatroom_id"] = json!(CHATROOM_ID);
    data.to_string()
}

/// What the server streams: numbered chat messages while `sending`, then the last one, once.
struct Stream {
    template: Value,
    next: AtomicU64,
    sending: AtomicBool,
    last_sent: AtomicBool,
}

impl Stream {
    fn new() -> Arc<Stream> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/kick/chat_basic.json");
        let frame: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let template = serde_json::from_str(frame["data"].as_str().unwrap()).unwrap();
        Arc::new(Stream {
            template,
            next: AtomicU64::new(1),
            sending: AtomicBool::new(true),
            last_sent: AtomicBool::new(false),
        })
    }

    /// The next message to send on a connection, if any.
    fn next(&self) -> Option<String> {
        if self.sending.load(Ordering::SeqCst) {
            return Some(chat_data(
                &self.template,
                self.next.fetch_add(1, Ordering::SeqCst),
            ));
        }
        (!self.last_sent.swap(true, Ordering::SeqCst)).then(|| chat_data(&self.template, LAST))
    }
}

/// Serves every connection: the hello (activity timeout 1 s), each subscribe confirmed, pings answered,
/// and a chat message about every 8 ms on the chat feed once it is subscribed.
async fn serve(mut server: ScriptedServer, stream: Arc<Stream>) {
    let mut n = 0;
    while let Some(conn) = server.accept().await {
        n += 1;
        tokio::spawn(serve_one(conn, n, Arc::clone(&stream)));
    }
}

async fn serve_one(mut conn: ServerConn, n: u32, stream: Arc<Stream>) {
    if conn.establish(&format!("{n}.{n}"), 1).await.is_err() {
        return;
    }
    let feed = chat_feed();
    let mut streaming = false;
    loop {
        match timeout(Duration::from_millis(8), conn.recv()).await {
            Ok(None) => return,
            Ok(Some(frame)) => {
                let answer = match frame.event.as_str() {
                    "pusher:ping" => Some(r#"{"event":"pusher:pong","data":"{}"}"#.to_owned()),
                    "pusher:subscribe" => {
                        let data: Value = frame.data.decode().unwrap();
                        let channel = data["channel"].as_str().unwrap().to_owned();
                        streaming |= channel == feed;
                        Some(
                            json!({"event": "pusher_internal:subscription_succeeded", "channel": channel, "data": "{}"})
                                .to_string(),
                        )
                    }
                    _ => None,
                };
                if let Some(answer) = answer
                    && conn.send_text(answer).await.is_err()
                {
                    return;
                }
            }
            Err(_) => {}
        }
        if streaming
            && let Some(data) = stream.next()
            && conn.send_event(&feed, CHAT_EVENT, &data).await.is_err()
        {
            return;
        }
    }
}

/// The chat messages among `frames`, as the source ids the Kick map gives them.
fn chats(frames: &[WsFrame]) -> Vec<String> {
    frames
        .iter()
        .filter_map(WsFrame::text)
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter(|frame| frame["event"] == CHAT_EVENT)
        .filter_map(|frame| {
            let data: Value = serde_json::from_str(frame["data"].as_str()?).ok()?;
            Some(format!("chat:{}", data["id"].as_str()?))
        })
        .collect()
}

/// Waits until `conn` has delivered `at_least` chat messages.
async fn chats_delivered(conn: &Connection, at_least: usize) {
    timeout(
        Duration::from_secs(5),
        conn.wait_frames(|f| chats(f).len() >= at_least),
    )
    .await
    .unwrap_or_else(|_| panic!("connection {} delivered too few chat messages", conn.id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_events_delivered_through_network_faults_are_stored_once() {
    common::logs();
    let server = ScriptedServer::bind().await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let stream = Stream::new();
    tokio::spawn(serve(server, Arc::clone(&stream)));

    let policy = quick_backoff();
    let mut config = PusherConfig::new(Endpoint::Url(format!(
        "ws://{}{}",
        proxy.addr(),
        app_path(PUSHER_APP_KEY)
    )));
    config.activity_timeout = Duration::from_millis(300);
    config.pong_timeout = Duration::from_millis(500);
    config.connect_timeout = Duration::from_secs(1);
    config.backoff = policy.clone();
    let channel = ChannelRef {
        platform_id: CHANNEL_ID.to_string(),
        slug: "nova".to_owned(),
        chatroom_id: Some(CHATROOM_ID.to_string()),
    };
    let (mut recorder, sink) = Recorder::open().await;
    let mut live = KickLive::start(config, &[channel], sink).await;
    let mut states = States::follow(live.state_changes());
    let started = Instant::now();

    // A clean network.
    let first = proxy.connection(1).await;
    chats_delivered(&first, 30).await;

    // Latency with jitter, and the server's bytes in pieces of 1 to 7.
    proxy.set(
        Conditions::clean()
            .with_latency(Duration::from_millis(10), Duration::from_millis(10))
            .with_split(1, 7),
    );
    let so_far = chats(&first.frames()).len();
    chats_delivered(&first, so_far + 30).await;

    // Half-open: the server's bytes stop, both sockets stay open. Silence for the activity timeout, a ping,
    // no answer within the pong timeout: the client must give the socket up and open another.
    let stalled_at = Instant::now();
    first.set(proxy.conditions().with_stall(Stall::Downstream));
    let noticed = states
        .wait(stalled_at, Duration::from_secs(3), |s| {
            matches!(s, ConnectionState::Reconnecting { .. })
        })
        .await;
    let detection = noticed - stalled_at;
    assert!(
        detection <= Duration::from_millis(300 + 500 + 300),
        "the half-open socket was noticed after {detection:?}"
    );
    states.connected_after(noticed, Duration::from_secs(3)).await;
    // What the stalled connection still holds never reaches the client.
    first.reset().await;
    let second = proxy.connection(2).await;
    chats_delivered(&second, 20).await;

    // A TCP reset inside a frame.
    let cut_at = Instant::now();
    assert_eq!(second.cut().await, End::Cut { mid_frame: true });
    states.connected_after(cut_at, Duration::from_secs(3)).await;
    let third = proxy.connection(3).await;
    chats_delivered(&third, 20).await;

    // Cut, and refused while the client retries; back once the server listens again.
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
    chats_delivered(&fourth, 20).await;

    // Chaos: every kind of fault, drawn from a seed, one after another.
    proxy.set(Conditions::clean());
    let chaos = Chaos {
        duration: Duration::from_secs(6),
        gap: Duration::from_millis(500)..Duration::from_millis(1200),
        length: Duration::from_millis(200)..Duration::from_millis(900),
        ..Chaos::default()
    };
    let schedule = Schedule::random(2026, &chaos);
    let steps = schedule.steps().len();
    let played = proxy.play(schedule).finish().await;
    assert!(played.len() >= steps, "{played:?}");
    // One more cut once calm, so the end is read on a connection that began after every fault.
    let calm = Instant::now();
    let before = proxy.connections().len();
    proxy.cut_all().await;
    states.connected_after(calm, Duration::from_secs(5)).await;
    let last = proxy.connection(before + 1).await;
    let so_far = chats(&last.frames()).len();
    chats_delivered(&last, so_far + 10).await;

    // Stop the stream; the last message marks the end.
    stream.sending.store(false, Ordering::SeqCst);
    timeout(
        Duration::from_secs(10),
        recorder.wait_stored(&format!("chat:{}", chat_id(LAST))),
    )
    .await
    .expect("the last message was not stored");
    let delivered: BTreeSet<String> = proxy
        .connections()
        .iter()
        .flat_map(|c| chats(&c.frames()))
        .collect();
    assert!(delivered.len() > 300, "only {} delivered", delivered.len());
    assert_stored_once(&recorder.stored().await, &delivered);
    assert_backoff(&policy, &states.all(), Duration::from_secs(1));
    eprintln!(
        "kick: {} messages over {} connections in {:?}",
        delivered.len(),
        proxy.connections().len(),
        started.elapsed()
    );
    timeout(Duration::from_secs(5), Box::new(live).shutdown())
        .await
        .expect("the connection did not shut down");
}
