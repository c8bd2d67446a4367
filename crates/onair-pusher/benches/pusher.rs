//! `cargo xtask bench pusher`: how fast the client takes in a burst of realistic Kick chat frames from a local
//! "blaster" (the scripted server pushing pre-encoded frames as fast as the socket takes them), side by side
//! with the reference client pusher-js (run by node) on the same server and the same burst.
//!
//! Three numbers per round, each from the first frame received to the last:
//! - `ceiling`: a bare tokio-tungstenite reader that only counts text frames (what the blaster and the socket
//!   allow at all);
//! - `ours`: frames parsed (envelope, then `data` unwrapped and checked once) and delivered through the
//!   client's inbox;
//! - `ours+typed decode`: the same, with the consumer also decoding every payload into a struct (what
//!   pusher-js's second `JSON.parse` does, and what the Kick event map will do);
//! - `pusher-js`: frames parsed (envelope, then `data`) and dispatched to a channel callback by pusher-js.
//!
//! The last line is `RESULT pusher frames_per_s=N pusherjs_frames_per_s=N ratio=N` (best of the rounds).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use onair_pusher::server::{ScriptedServer, event_frame};
use onair_pusher::{Endpoint, Inbound, PusherClient, PusherConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

const KEY: &str = "bench-key";
const CHANNEL: &str = "chatrooms.4760932.v2";
const FRAMES: usize = 200_000;
const ROUNDS: usize = 5;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("bench pusher: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let frames = burst(FRAMES);
    let bytes: usize = frames.iter().map(|f| f.len()).sum();
    println!(
        "burst: {FRAMES} Kick chat frames, {:.0} bytes each on average",
        bytes as f64 / FRAMES as f64
    );
    let mut server = ScriptedServer::bind().await.map_err(|e| e.to_string())?;
    let script = pusher_js_script()?;
    let (mut best_ceiling, mut best_ours, mut best_typed, mut best_js) = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
    for round in 1..=ROUNDS {
        let ceiling = bare_reader(&mut server, &frames).await?;
        let ours = our_client(&mut server, &frames, false).await?;
        let typed = our_client(&mut server, &frames, true).await?;
        let js = pusher_js(&mut server, &frames, &script).await?;
        println!(
            "round {round}: ceiling {ceiling:>9.0}/s   ours {ours:>8.0}/s   ours+typed decode {typed:>8.0}/s   pusher-js {js:>7.0}/s   ratio {:.2} (typed {:.2})",
            ours / js,
            typed / js
        );
        best_typed = best_typed.max(typed);
        best_ceiling = best_ceiling.max(ceiling);
        best_ours = best_ours.max(ours);
        best_js = best_js.max(js);
    }
    println!(
        "best of {ROUNDS}: ceiling {best_ceiling:.0}/s, ours {best_ours:.0}/s, ours+typed decode {best_typed:.0}/s (ratio {:.2}), pusher-js {best_js:.0}/s",
        best_typed / best_js
    );
    println!(
        "RESULT pusher frames_per_s={best_ours:.0} pusherjs_frames_per_s={best_js:.0} ratio={:.2}",
        best_ours / best_js
    );
    Ok(())
}

/// `n` chat messages shaped like Kick's (the fixture `chat_basic.json`), each with its own id and text.
fn burst(n: usize) -> Vec<Utf8Bytes> {
    let words = [
        "gg",
        "that clutch",
        "was insane",
        "🔥🔥",
        "¡increíble!",
        "日本語もOK",
        "naïve café ☕",
        "LUL",
    ];
    (0..n)
        .map(|i| {
            let content = format!("{} {} #{i}", words[i % words.len()], words[(i / 8) % words.len()]);
            let data = serde_json::json!({
                "id": format!("3f1c9a52-7b1e-4d0a-9c55-{i:012}"),
                "chatroom_id": 4760932,
                "content": content,
                "type": "message",
                "created_at": "2026-05-22T18:42:07+00:00",
                "sender": {
                    "id": 19283746 + (i % 5000),
                    "username": format!("viewer{}", i % 5000),
                    "slug": format!("viewer{}", i % 5000),
                    "identity": {"color": "#FF9D00", "badges": [{"type": "subscriber", "text": "Subscriber", "count": 6}]}
                },
                "metadata": {"message_ref": format!("{}", 1779475327114_u64 + i as u64)}
            });
            Utf8Bytes::from(event_frame(CHANNEL, r"App\Events\ChatMessageEvent", &data.to_string()))
        })
        .collect()
}

/// Accepts the next connection, says hello, confirms its subscribe and pushes the burst from a task.
async fn serve_burst(
    server: &mut ScriptedServer,
    frames: &[Utf8Bytes],
) -> Result<tokio::task::JoinHandle<()>, String> {
    let mut conn = server.accept().await.ok_or("the server stopped accepting")?;
    conn.establish("1.1", 120).await.map_err(|e| e.to_string())?;
    let channel = conn
        .accept_subscribe()
        .await
        .ok_or("the client never subscribed")?;
    if channel != CHANNEL {
        return Err(format!("the client subscribed to {channel}, not {CHANNEL}"));
    }
    let frames = frames.to_vec();
    Ok(tokio::spawn(async move {
        if let Err(e) = conn.blast(&frames).await {
            eprintln!("blaster: {e}");
        }
        // Keep the socket open until the reader is done with it.
        let _ = conn.recv_close().await;
    }))
}

/// The ceiling: a bare WebSocket reader counting text frames.
async fn bare_reader(server: &mut ScriptedServer, frames: &[Utf8Bytes]) -> Result<f64, String> {
    let url = server.url(KEY);
    let reader = tokio::spawn(async move {
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| e.to_string())?;
        let subscribe = r#"{"event":"pusher:subscribe","data":{"auth":"","channel":"chatrooms.4760932.v2"}}"#;
        futures_util::SinkExt::send(&mut socket, Message::text(subscribe))
            .await
            .map_err(|e| e.to_string())?;
        let mut counted = 0;
        let mut first = None;
        while let Some(message) = socket.next().await {
            if let Message::Text(text) = message.map_err(|e| e.to_string())?
                && text.as_str().contains("ChatMessageEvent")
            {
                first.get_or_insert_with(Instant::now);
                counted += 1;
                if counted == FRAMES {
                    break;
                }
            }
        }
        let elapsed = first.map(|t| t.elapsed()).unwrap_or_default();
        let _ = socket.close(None).await;
        Ok::<_, String>(rate(counted, elapsed))
    });
    let blaster = serve_burst(server, frames).await?;
    let rate = reader.await.map_err(|e| e.to_string())??;
    blaster.abort();
    Ok(rate)
}

/// A chat message as a consumer would decode it (what pusher-js's second `JSON.parse` builds).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Chat {
    id: String,
    content: String,
    created_at: String,
    sender: Sender,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Sender {
    id: u64,
    username: String,
}

/// Ours: the client, its inbox drained in batches by a task; with `typed`, the consumer also decodes
/// every payload into [`Chat`].
async fn our_client(server: &mut ScriptedServer, frames: &[Utf8Bytes], typed: bool) -> Result<f64, String> {
    let (client, mut inbox) = PusherClient::start(PusherConfig::new(Endpoint::Url(server.url(KEY))));
    client.subscribe(CHANNEL).await.map_err(|e| e.to_string())?;
    // The consumer is a task on the runtime, as in the app (not the bench's main thread).
    let consumer = tokio::spawn(async move {
        let mut counted = 0;
        let mut first = None;
        let mut batch = Vec::with_capacity(1024);
        while counted < FRAMES {
            batch.clear();
            if inbox.recv_many(&mut batch, 1024).await == 0 {
                return Err("the client stopped".to_owned());
            }
            for item in &batch {
                if let Inbound::Event(frame) = item {
                    first.get_or_insert_with(Instant::now);
                    counted += usize::from(if typed {
                        frame.data.decode::<Chat>().is_ok()
                    } else {
                        frame.data.text().is_some()
                    });
                }
            }
        }
        Ok(rate(counted, first.map(|t| t.elapsed()).unwrap_or_default()))
    });
    let blaster = serve_burst(server, frames).await?;
    let rate = consumer.await.map_err(|e| e.to_string())??;
    client.shutdown().await;
    blaster.abort();
    Ok(rate)
}

/// The reference: pusher-js in node, on the same server and burst.
async fn pusher_js(
    server: &mut ScriptedServer,
    frames: &[Utf8Bytes],
    script: &PathBuf,
) -> Result<f64, String> {
    let child = tokio::process::Command::new("node")
        .arg(script)
        .args(["--url", &format!("ws://{}", server.addr())])
        .args([
            "--key",
            KEY,
            "--channel",
            CHANNEL,
            "--frames",
            &FRAMES.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!("could not start node ({e}); install Node.js 20+ and run `cargo xtask setup`")
        })?;
    let blaster = serve_burst(server, frames).await?;
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .map_err(|_| "pusher-js took over 120 s".to_owned())?
        .map_err(|e| e.to_string())?;
    blaster.abort();
    if !output.status.success() {
        return Err(format!("pusher-js bench failed: {}", output.status));
    }
    let line = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value =
        serde_json::from_str(line.trim()).map_err(|e| format!("pusher-js printed {line:?}: {e}"))?;
    report["frames_per_s"]
        .as_f64()
        .ok_or_else(|| format!("pusher-js printed no rate: {line}"))
}

/// Frames per second over the intervals between the first and the last frame.
fn rate(frames: usize, elapsed: Duration) -> f64 {
    frames.saturating_sub(1) as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// The pusher-js driver script, installed by `cargo xtask setup`.
fn pusher_js_script() -> Result<PathBuf, String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../peers/pusher-js");
    if !dir.join("node_modules/pusher-js").is_dir() {
        return Err(format!(
            "pusher-js is not installed in {}; run `cargo xtask setup`",
            dir.display()
        ));
    }
    Ok(dir.join("parse-bench.mjs"))
}
