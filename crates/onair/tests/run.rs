//! `onair run` end to end: the real binary watches a Kick channel on a local Pusher server (the scripted
//! one, through `ONAIR_KICK_PUSHER_URL`), the server sends every Kick fixture, drops the connection half
//! way, sends the rest (and a frame again) on the new one; then `onair events` shows each expected event
//! once.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use onair_pusher::server::ScriptedServer;
use tokio::time::timeout;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onair_run_records_every_fixture_once_across_a_dropped_connection() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let mut server = ScriptedServer::bind().await.unwrap();
    let onair = assert_cmd::cargo::cargo_bin("onair");
    let child = tokio::process::Command::new(&onair)
        .arg("--db")
        .arg(&db)
        .args([
            "run",
            "--watch",
            "kick:novastreams@4781203/4760932",
            "--for",
            "8s",
        ])
        .env("ONAIR_KICK_PUSHER_URL", server.url("kick-key"))
        // Never used (the ids are given), and never the real kick.com from a test.
        .env("ONAIR_KICK_API_URL", "http://127.0.0.1:9")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let files = common::kick_frame_files();
    let (first, second) = files.split_at(files.len() / 2);

    let mut conn = timeout(Duration::from_secs(10), server.accept())
        .await
        .unwrap()
        .unwrap();
    common::greet(&mut conn).await;
    for (n, file) in first.iter().enumerate() {
        conn.send_text(common::kick_frame(file)).await.unwrap();
        if n == 3 {
            // A malformed frame on the way: skipped, the connection stays (one reconnect in all, below).
            conn.send_text("{not json").await.unwrap();
        }
    }
    // The same id-less frame on the chatroom's other feed: its twin, stored once.
    conn.send_text(
        common::kick_frame("chatroom_clear.json").replace("chatrooms.4760932.v2", "chatroom_4760932"),
    )
    .await
    .unwrap();
    // The connection drops; the client comes back on its own and subscribes again.
    drop(conn);
    let mut conn = timeout(Duration::from_secs(10), server.accept())
        .await
        .unwrap()
        .unwrap();
    common::greet(&mut conn).await;
    for file in second {
        conn.send_text(common::kick_frame(file)).await.unwrap();
    }
    // Frames seen before (a replay), with and without Kick's id: stored once.
    conn.send_text(common::kick_frame("chat_basic.json"))
        .await
        .unwrap();
    conn.send_text(common::kick_frame("chatroom_clear.json"))
        .await
        .unwrap();

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
    assert!(
        stdout.contains("watching kick:novastreams (channel 4781203, chatroom 4760932)"),
        "{stdout}"
    );
    assert!(stdout.contains("kick/novastreams: connected"), "{stdout}");
    assert!(
        stdout.contains("kick/novastreams: no connection; try 1"),
        "{stdout}"
    );
    assert!(stdout.contains("stopped:"), "{stdout}");
    assert!(
        !stdout.contains("try 2"),
        "more than the one reconnect:\n{stdout}"
    );

    let events = common::stored_events(&onair, &db);
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for event in &events {
        *kinds
            .entry(event["kind"].as_str().unwrap().to_owned())
            .or_default() += 1;
        assert_eq!(event["channel"]["platform_id"], "4781203");
        assert_eq!(event["platform"], "kick");
    }
    // Every fixture once; the legacy-free, twin-free count: the channel-level subscription twin is not
    // recorded and a gift's two halves are one gift.
    assert_eq!(events.len(), files.len() - 2, "{kinds:?}");
    for (kind, count) in [
        ("chat_message", 3),
        ("subscription_gift", 1),
        ("ban", 1),
        ("timeout", 1),
        ("unban", 1),
        ("message_deleted", 1),
        ("message_pinned", 1),
        ("message_unpinned", 1),
        ("chat_settings", 1),
        ("chat_cleared", 1),
        ("follower_count", 1),
        ("stream_online", 1),
        ("stream_offline", 1),
        ("stream_updated", 1),
        ("raid", 1),
        ("raid_out", 1),
        ("cheer", 1),
        ("reward_redeemed", 1),
        ("poll_update", 1),
        ("poll_end", 1),
        ("prediction", 1),
        ("leaderboard_update", 1),
        ("subscription", 1),
        ("unknown", 1),
    ] {
        assert_eq!(kinds.get(kind).copied().unwrap_or(0), count, "{kind}: {kinds:?}");
    }
    let chat = events
        .iter()
        .find(|e| e["source_id"] == "chat:3f1c9a52-7b1e-4d0a-9c55-1e2f8a6b0d41")
        .unwrap();
    assert_eq!(chat["actor"]["login"], "pixelwitch");
    assert!(chat["data"]["text"].as_str().unwrap().contains("naïve café ☕"));

    // Every state change went to the connection log.
    let stats = assert_cmd::Command::new(&onair)
        .arg("--db")
        .arg(&db)
        .args(["db", "stats"])
        .output()
        .unwrap();
    let stats = String::from_utf8_lossy(&stats.stdout);
    let changes: u32 = stats
        .split(" connection changes")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no connection changes in:\n{stats}"));
    // connecting, connected, reconnecting, (connecting,) connected, disconnected.
    assert!(changes >= 4, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_file_names_what_to_watch_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let mut server = ScriptedServer::bind().await.unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "watch = [\"kick:novastreams@4781203/4760932\"]\n[kick]\npusher_url = \"{}\"\n",
            server.url("kick-key")
        ),
    )
    .unwrap();
    let onair = assert_cmd::cargo::cargo_bin("onair");
    let child = tokio::process::Command::new(&onair)
        .arg("--db")
        .arg(&db)
        .args(["run", "--for", "4s", "--config"])
        .arg(&config)
        .env_remove("ONAIR_KICK_PUSHER_URL")
        .env("ONAIR_KICK_API_URL", "http://127.0.0.1:9")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut conn = timeout(Duration::from_secs(10), server.accept())
        .await
        .unwrap()
        .unwrap();
    common::greet(&mut conn).await;
    conn.send_text(common::kick_frame("chat_basic.json"))
        .await
        .unwrap();
    let output = timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("stopped: 1 event received"), "{stdout}");

    // Mistakes in the settings, or nothing to watch, are explained.
    let run = |args: &[&str]| {
        let output = assert_cmd::Command::new(&onair)
            .arg("--db")
            .arg(&db)
            .arg("run")
            .args(args)
            .env_remove("ONAIR_TWITCH_CLIENT_ID")
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let missing = dir.path().join("missing.toml");
    let error = run(&["--config", missing.to_str().unwrap()]);
    assert!(error.contains("missing.toml"), "{error}");
    std::fs::write(&config, "watch = [\"youtube:xqc\"]\n").unwrap();
    let error = run(&["--config", config.to_str().unwrap()]);
    assert!(
        error.contains("config.toml") && error.contains("write kick:SLUG, twitch:LOGIN or discord:SERVER_ID"),
        "{error}"
    );
    // Twitch without an app to sign in with says how to get one.
    std::fs::write(&config, "watch = [\"twitch:xqc\"]\n").unwrap();
    let error = run(&["--config", config.to_str().unwrap()]);
    assert!(error.contains("dev.twitch.tv/console/apps"), "{error}");
    std::fs::write(&config, "").unwrap();
    let error = run(&["--config", config.to_str().unwrap()]);
    assert!(error.contains("nothing to watch"), "{error}");
}
