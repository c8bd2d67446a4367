//! `onair run` against a real Pusher server nobody here wrote: soketi on loopback (installed by
//! `cargo xtask setup`). Every Kick fixture is published through soketi's HTTP API on its feed; the binary
//! records each expected event once.
#![allow(clippy::unwrap_used)]

#[path = "../../onair-pusher/tests/support/soketi.rs"]
#[allow(dead_code)]
mod soketi;

use std::process::Stdio;
use std::time::Duration;

use soketi::Soketi;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::timeout;

mod common;

use common::FIXTURES;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onair_run_records_kick_events_published_through_soketi() {
    let soketi = Soketi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let onair = assert_cmd::cargo::cargo_bin("onair");
    let mut child = tokio::process::Command::new(&onair)
        .arg("--db")
        .arg(&db)
        .args([
            "run",
            "--watch",
            "kick:novastreams@4781203/4760932",
            "--for",
            "10s",
        ])
        .env("ONAIR_KICK_PUSHER_URL", soketi.ws_url())
        .env("ONAIR_KICK_API_URL", "http://127.0.0.1:9")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    // The binary says when it is connected...
    timeout(Duration::from_secs(20), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if line.ends_with("kick/novastreams: connected") {
                return;
            }
        }
        panic!("onair run ended before connecting");
    })
    .await
    .unwrap();
    // ...and soketi says when every feed has its subscriber (the subscribes go out at 5 a second).
    let feeds = onair_kick::feeds(onair_kick::KickIds {
        channel_id: 4781203,
        chatroom_id: 4760932,
    });
    timeout(Duration::from_secs(20), async {
        for feed in &feeds {
            while !soketi.occupied(feed).await {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    })
    .await
    .expect("every feed subscribed");

    let files = common::kick_frame_files();
    for file in &files {
        let frame: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap()).unwrap();
        soketi
            .trigger(
                frame["channel"].as_str().unwrap(),
                frame["event"].as_str().unwrap(),
                frame["data"].as_str().unwrap(),
            )
            .await;
    }
    let mut rest = String::new();
    while let Some(line) = timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .unwrap()
        .unwrap()
    {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(child.wait().await.unwrap().success(), "{rest}");
    assert!(rest.contains("stopped:"), "{rest}");

    let kinds: Vec<String> = common::stored_events(&onair, &db)
        .iter()
        .map(|event| event["kind"].as_str().unwrap().to_owned())
        .collect();
    // Every fixture once, but the channel-level subscription twin and a gift's second half.
    assert_eq!(kinds.len(), files.len() - 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "chat_message").count(), 3);
    assert_eq!(kinds.iter().filter(|k| *k == "subscription_gift").count(), 1);
}
