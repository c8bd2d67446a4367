//! `onair run --watch discord:SERVER/CHANNEL` end to end: the real binary with the bot token from the
//! environment, Discord (REST and Gateway) played by the scripted server with zlib-stream. The run looks
//! the server and its channel up, says the shard plan and the session starts left, identifies, records
//! joins, leaves and the chosen channel's messages (not the other channel's), then a heartbeat goes
//! unanswered: the client closes the zombie connection keeping the session, resumes on the resume URL,
//! and the events dispatched meanwhile are replayed. Stopped as Ctrl-C would, the store holds every event
//! exactly once, in order, and no token appears in the output (traced at `trace`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use onair_discord::testing::{GatewayServer, ServerOptions};
use serde_json::{Value, json};

mod common;

const TOKEN: &str = "MTM3OTA2NzAyMjU0MDkzMTA3Mg.bot-e2e-secret";
const GUILD: &str = "1085131932938797063";
const GENERAL: &str = "1085131964526100482";
const OFF_TOPIC: &str = "1085131964526100999";

fn user(id: &str) -> Value {
    json!({"id": id, "username": format!("viewer{id}"), "global_name": format!("Viewer {id}")})
}

fn join(id: &str) -> Value {
    json!({"guild_id": GUILD, "user": user(id), "joined_at": "2026-11-30T20:00:00.000000+00:00", "roles": []})
}

fn leave(id: &str) -> Value {
    json!({"guild_id": GUILD, "user": user(id)})
}

fn message(id: &str, channel: &str, author: &str, text: &str) -> Value {
    json!({
        "id": id, "channel_id": channel, "guild_id": GUILD, "type": 0, "author": user(author),
        "member": {"nick": null, "roles": []}, "content": text,
        "timestamp": "2026-11-30T20:00:01.000000+00:00",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onair_run_records_a_discord_server_across_a_forced_resume_once_each() {
    let home = common::Home::new();
    let db = home.db();
    let server = GatewayServer::start(ServerOptions {
        token: TOKEN.to_owned(),
        heartbeat_interval: Duration::from_secs(1),
        split_frames: true,
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    server.add_guild(
        GUILD,
        "Nova's Den",
        &[(GENERAL, "general"), (OFF_TOPIC, "off-topic")],
    );
    let onair = assert_cmd::cargo::cargo_bin("onair");
    let mut output = common::Running::spawn(
        home.onair()
            .env("ONAIR_DISCORD_API_URL", server.api_url())
            .env("ONAIR_DISCORD_BOT_TOKEN", TOKEN)
            .env("RUST_LOG", "trace")
            .args(["run", "--watch", &format!("discord:{GUILD}/{GENERAL}")]),
    );
    let watching = output.wait_for("watching discord:").await;
    assert!(
        watching.contains("Nova's Den") && watching.contains("#general"),
        "{watching}"
    );
    let plan = output.wait_for("Discord: 1 shard").await;
    assert!(plan.contains("new sessions left: 1000 of 1000"), "{plan}");
    output.wait_for("discord/Nova's Den shard 0/1: connected").await;
    let identify = server.wait_for_op(2, 1).await;
    assert_eq!(identify.query, "v=10&encoding=json&compress=zlib-stream");

    // Live: a join, a message here and one elsewhere, a leave.
    server.dispatch(GUILD, "GUILD_MEMBER_ADD", join("1")).await;
    server
        .dispatch(GUILD, "MESSAGE_CREATE", message("m1", GENERAL, "1", "hello chat"))
        .await;
    server
        .dispatch(
            GUILD,
            "MESSAGE_CREATE",
            message("m0", OFF_TOPIC, "1", "not recorded"),
        )
        .await;
    server.dispatch(GUILD, "GUILD_MEMBER_REMOVE", leave("1")).await;

    // A heartbeat goes unanswered: the next one finds the connection zombied. The client's next
    // connection gets its Hello only once the missed events are in the session.
    server.hold_new_connections(true);
    server.pause_acks(0, true).await;
    server
        .wait_until(|v| v.connections()[0].closed_at.is_some())
        .await;
    assert_eq!(
        server.connections()[0].client_close,
        Some(4000),
        "closed keeping the session"
    );
    server.pause_acks(0, false).await;
    // Meanwhile: kept in the session for the resume.
    let missed = [
        server.dispatch(GUILD, "GUILD_MEMBER_ADD", join("2")).await,
        server
            .dispatch(GUILD, "MESSAGE_CREATE", message("m2", GENERAL, "2", "missed me?"))
            .await,
    ];
    server.hold_new_connections(false);
    let resume = server.wait_for_op(6, 1).await;
    assert_eq!(resume.d["session_id"], "session-1");
    assert_eq!(resume.path.trim_end_matches('/'), "/resume");
    assert_eq!(resume.query, "v=10&encoding=json&compress=zlib-stream");
    assert_eq!(
        resume.d["seq"].as_u64(),
        Some(missed[0] - 1),
        "resumed from the last event received: the missed ones are replayed"
    );
    server.wait_until(|v| v.connected(0)).await;
    server
        .dispatch(GUILD, "MESSAGE_CREATE", message("m3", GENERAL, "2", "back live"))
        .await;
    let last = server.dispatch(GUILD, "GUILD_MEMBER_REMOVE", leave("2")).await;
    // The client has read everything once a heartbeat carries the last sequence.
    server
        .wait_until(|v| v.log().iter().any(|r| r.op == 1 && r.d.as_u64() == Some(last)))
        .await;

    // Stop as Ctrl-C would; everything received is committed.
    let (status, stdout, stderr) = output.interrupt().await;
    assert!(status.success(), "{status}");
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "the token was printed"
    );
    assert!(
        !stderr.contains("bot-e2e-secret"),
        "part of the token was printed"
    );
    assert!(stdout.contains("no connection; try 1"), "{stdout}");
    // Counted before the store's de-duplication: nothing was delivered twice.
    assert!(stdout.contains("stopped: 7 events received"), "{stdout}");
    assert_eq!(
        server.log().iter().filter(|r| r.op == 2).count(),
        1,
        "one session throughout"
    );

    let events = common::stored_events(&onair, &db);
    let got: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            let who = e["actor"]["id"].as_str().unwrap().to_owned();
            let what = e["data"]["text"].as_str().unwrap_or("").to_owned();
            (e["kind"].as_str().unwrap().to_owned(), who, what)
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("member_join", "1", ""),
        ("chat_message", "1", "hello chat"),
        ("member_leave", "1", ""),
        ("member_join", "2", ""),
        ("chat_message", "2", "missed me?"),
        ("chat_message", "2", "back live"),
        ("member_leave", "2", ""),
    ]
    .iter()
    .map(|(k, w, t)| ((*k).to_owned(), (*w).to_owned(), (*t).to_owned()))
    .collect();
    assert_eq!(got, want, "every event once, in order");
    for event in &events {
        assert_eq!(event["platform"], "discord");
        assert_eq!(event["channel"]["platform_id"], GUILD);
        assert_eq!(event["channel"]["slug"], "Nova's Den");
        assert!(event["source_id"].as_str().unwrap().starts_with("session-1:"));
    }
    assert_eq!(events[1]["data"]["room_id"], GENERAL);
}
