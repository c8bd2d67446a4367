//! `cargo xtask bench twitch`: how fast the EventSub connection takes in notifications: the scripted EventSub
//! server sends a burst of realistic notifications (the fixtures' types in turn, each with its own message
//! id) on one socket as fast as it takes them; each is read, parsed, checked against the message-id set,
//! routed to its channel and handed to the sink, which counts. Timed from the first frame sent to the last
//! event received, best of the rounds. The last line is `RESULT twitch notifications_per_s=N`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use onair_core::{ChannelRef, ConnectionState, LiveConnection, PlatformError};
use onair_twitch::testing::EventSubServer;
use onair_twitch::{LiveOptions, SessionSetup, TwitchLive};
use serde_json::Value;
use tokio::sync::mpsc;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/twitch");
const BURST: usize = 100_000;
const ROUNDS: usize = 3;

/// Subscribes to nothing (the server sends regardless).
struct NoSetup;

#[async_trait]
impl SessionSetup for NoSetup {
    async fn subscribe(&self, _session_id: &str) -> Result<Vec<String>, PlatformError> {
        Ok(Vec::new())
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("bench twitch: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let templates = templates()?;
    let server = EventSubServer::start().await.map_err(|e| e.to_string())?;
    let options = LiveOptions {
        url: server.url().to_owned(),
        keepalive: Duration::from_secs(600),
        keepalive_leeway: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(10),
        backoff: Default::default(),
    };
    let (sink, mut events) = mpsc::channel(1024);
    let channel = ChannelRef::new("52731608", "nebulacast");
    let live = TwitchLive::start(options, Arc::new(NoSetup), &[channel], sink);
    let mut socket = server.accept().await.map_err(|e| e.to_string())?;
    socket.welcome("bench", 600).await.map_err(|e| e.to_string())?;
    live.state()
        .wait_for(|s| matches!(s, ConnectionState::Connected { .. }))
        .await
        .map_err(|e| e.to_string())?;
    let bytes: usize = templates.iter().map(String::len).sum::<usize>() / templates.len();
    println!(
        "burst: {BURST} notifications of {} types, about {bytes} bytes each",
        templates.len()
    );
    let mut best = 0.0_f64;
    for round in 1..=ROUNDS {
        let frames: Vec<String> = (0..BURST)
            .map(|n| templates[n % templates.len()].replace("{ID}", &format!("r{round}-{n}")))
            .collect();
        let started = Instant::now();
        let counting = async {
            for _ in 0..BURST {
                events.recv().await.ok_or("the connection stopped")?;
            }
            Ok::<_, String>(started.elapsed())
        };
        let sending = async {
            for frame in &frames {
                socket.send(frame).await.map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        };
        let (took, sent) = tokio::join!(counting, sending);
        sent?;
        let per_second = BURST as f64 / took?.as_secs_f64();
        println!("round {round}: {per_second:>9.0} notifications/s");
        best = best.max(per_second);
    }
    Box::new(live).shutdown().await;
    println!("RESULT twitch notifications_per_s={best:.0}");
    Ok(())
}

/// Each notification fixture as text, its message id replaced by `{ID}`.
fn templates() -> Result<Vec<String>, String> {
    let mut templates = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(FIXTURES)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("_notification_"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(format!("{FIXTURES}/{file}")).map_err(|e| e.to_string())?;
        let mut frame: Value = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
        frame["metadata"]["message_id"] = "{ID}".into();
        templates.push(frame.to_string());
    }
    Ok(templates)
}
