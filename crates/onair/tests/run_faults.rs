//! `onair run` through network faults: the real binary watches a Kick channel on the scripted Pusher server
//! with the fault proxy in between (`ONAIR_KICK_PUSHER_URL` points at the proxy), with its built-in rules
//! (Pusher's 1 s doubling backoff with jitter, 5 retries). The server streams chat messages; the network
//! writes them in pieces of 1 to 7 bytes with latency, then cuts the connection inside a frame, then cuts
//! it again and refuses connections for 2.5 s. When the run ends, `onair events` holds every chat message
//! the proxy delivered, each once, and nothing else; the run reconnected each time, never `failed`.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use onair_faultproxy::{Conditions, Connection, End, FaultProxy, WsFrame};
use onair_pusher::server::{ScriptedServer, ServerConn};
use serde_json::{Value, json};
use tokio::time::timeout;

mod common;

use common::FIXTURES;

const FEED: &str = "chatrooms.4760932.v2";
const CHAT_EVENT: &str = "App\\Events\\ChatMessageEvent";

struct Stream {
    template: Value,
    next: AtomicU64,
    sending: AtomicBool,
}

impl Stream {
    fn next(&self) -> Option<String> {
        self.sending.load(Ordering::SeqCst).then(|| {
            let n = self.next.fetch_add(1, Ordering::SeqCst);
            let mut data = self.template.clone();
            data["id"] = json!(format!("00000000-0000-4000-8000-{n:012}"));
            data.to_string()
        })
    }
}

/// Each connection: the hello, its five subscribes confirmed, pings answered, a chat message about every
/// 10 ms once the chat feed is subscribed.
async fn serve(mut server: ScriptedServer, stream: Arc<Stream>) {
    let mut n = 0;
    while let Some(conn) = server.accept().await {
        n += 1;
        tokio::spawn(serve_one(conn, n, Arc::clone(&stream)));
    }
}

async fn serve_one(mut conn: ServerConn, n: u32, stream: Arc<Stream>) {
    if conn.establish(&format!("{n}.{n}"), 120).await.is_err() {
        return;
    }
    let mut streaming = false;
    loop {
        match timeout(Duration::from_millis(10), conn.recv()).await {
            Ok(None) => return,
            Ok(Some(frame)) => {
                let answer = match frame.event.as_str() {
                    "pusher:ping" => Some(r#"{"event":"pusher:pong","data":"{}"}"#.to_owned()),
                    "pusher:subscribe" => {
                        let data: Value = frame.data.decode().unwrap();
                        let channel = data["channel"].as_str().unwrap().to_owned();
                        streaming |= channel == FEED;
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
            && conn.send_event(FEED, CHAT_EVENT, &data).await.is_err()
        {
            return;
        }
    }
}

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

async fn chats_delivered(conn: &Connection, at_least: usize) {
    timeout(
        Duration::from_secs(10),
        conn.wait_frames(|f| chats(f).len() >= at_least),
    )
    .await
    .unwrap_or_else(|_| panic!("connection {} delivered too few chat messages", conn.id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onair_run_stores_every_message_delivered_through_cuts_and_refusals_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let server = ScriptedServer::bind().await.unwrap();
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let url = server
        .url("kick-key")
        .replace(&server.addr().to_string(), &proxy.addr().to_string());
    let frame: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/chat_basic.json")).unwrap())
            .unwrap();
    let stream = Arc::new(Stream {
        template: serde_json::from_str(frame["data"].as_str().unwrap()).unwrap(),
        next: AtomicU64::new(1),
        sending: AtomicBool::new(true),
    });
    tokio::spawn(serve(server, Arc::clone(&stream)));
    proxy.set(
        Conditions::clean()
            .with_latency(Duration::from_millis(10), Duration::from_millis(10))
            .with_split(1, 7),
    );

    let onair = assert_cmd::cargo::cargo_bin("onair");
    let child = tokio::process::Command::new(&onair)
        .arg("--db")
        .arg(&db)
        .args([
            "run",
            "--watch",
            "kick:novastreams@4781203/4760932",
            "--for",
            "16s",
        ])
        .env("ONAIR_KICK_PUSHER_URL", url)
        .env("ONAIR_KICK_API_URL", "http://127.0.0.1:9")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // In pieces, late: decoded all the same.
    let first = proxy.connection(1).await;
    chats_delivered(&first, 40).await;
    // Cut inside a frame: back after the first retry's 1-2 s.
    assert_eq!(first.cut().await, End::Cut { mid_frame: true });
    let second = proxy.connection(2).await;
    chats_delivered(&second, 40).await;
    // Cut, and refused for 2.5 s: the retries wait 1-2 s, then 2-4 s; the second gets through.
    proxy.refuse(true).await;
    second.cut().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    proxy.refuse(false).await;
    let third = timeout(Duration::from_secs(6), proxy.connection(3))
        .await
        .unwrap();
    chats_delivered(&third, 40).await;
    stream.sending.store(false, Ordering::SeqCst);

    let output = timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "onair run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.contains("failed"), "{stdout}");
    assert_eq!(proxy.connections().len(), 3, "{stdout}");

    let delivered: BTreeSet<String> = proxy
        .connections()
        .iter()
        .flat_map(|c| chats(&c.frames()))
        .collect();
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for event in common::stored_events(&onair, &db) {
        if event["kind"] == "chat_message" {
            *stored
                .entry(event["source_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert!(stored.values().all(|n| *n == 1), "stored twice: {stored:?}");
    let stored: BTreeSet<String> = stored.into_keys().collect();
    assert!(delivered.len() >= 120, "{}", delivered.len());
    assert_eq!(
        delivered.difference(&stored).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "delivered, not stored"
    );
    assert_eq!(
        stored.difference(&delivered).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "stored, never delivered"
    );
}
