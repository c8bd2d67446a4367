//! The relay end to end: `onair simulate --relay` records a simulated stream and serves it; two real
//! socket.io-client processes (node) connect with the token while it runs. One only listens live; the
//! other resumes from offset 0. When the run ends (and the relay with it), the resuming one has received
//! every stored event its filter matches, once each, in offset order, exactly as `onair events` prints
//! them; the live one has every matching event from its first on; both got the shutdown notice.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;

mod common;

const TOKEN: &str = "relay-e2e-token";
const FILTER: &str = r#"{"kinds": ["follow", "chat_message", "subscription"]}"#;

fn client_script() -> PathBuf {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../peers/socket.io-client/relay-client.mjs");
    assert!(
        script
            .with_file_name("node_modules")
            .join("socket.io-client")
            .is_dir(),
        "socket.io-client is not installed: run `cargo xtask setup`"
    );
    script
}

/// Runs a socket.io-client until the relay closes it; returns the events it got and whether it saw the
/// shutdown notice.
async fn client(url: String, resume_after: Option<i64>) -> (Vec<Value>, bool) {
    let mut command = Command::new("node");
    command.arg(client_script()).arg(url).arg(TOKEN).arg(FILTER);
    if let Some(after) = resume_after {
        command.arg(after.to_string());
    }
    let mut child = command.stdout(Stdio::piped()).kill_on_drop(true).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut events, mut notice) = (Vec::new(), false);
    while let Some(line) = timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
        .unwrap()
    {
        let line: Value = serde_json::from_str(&line).unwrap();
        if let Some(event) = line.get("event") {
            events.push(event.clone());
        } else if line.get("shutdown").is_some() {
            notice = true;
        } else if let Some(error) = line.get("connect_error").or(line.get("error")) {
            panic!("the relay refused: {error}");
        }
    }
    (events, notice)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_serves_every_event_live_and_to_a_client_that_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let onair = assert_cmd::cargo::cargo_bin("onair");
    let mut run = Command::new(&onair)
        .arg("--db")
        .arg(&db)
        .args([
            "simulate",
            "--rate",
            "40",
            "--for",
            "6s",
            "--relay",
            "127.0.0.1:0",
        ])
        .env("ONAIR_RELAY_TOKEN", TOKEN)
        .env("ONAIR_SECRET_STORE", "file")
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("HOME", dir.path())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(run.stdout.take().unwrap()).lines();
    let url = loop {
        let line = timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("onair ended before its relay started");
        if let Some(rest) = line.strip_prefix("relay: Socket.IO on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    assert!(!url.contains(TOKEN));
    let live = tokio::spawn(client(url.clone(), None));
    let resumed = tokio::spawn(client(url, Some(0)));
    let (live, resumed) = (live.await.unwrap(), resumed.await.unwrap());
    let mut printed = String::new();
    while let Ok(Some(line)) = stdout.next_line().await {
        printed.push_str(&line);
        printed.push('\n');
    }
    assert!(run.wait().await.unwrap().success(), "{printed}");
    assert!(!printed.contains(TOKEN), "the token is never printed by a run");

    let stored: Vec<Value> = common::stored_events(&onair, &db)
        .into_iter()
        .filter(|e| {
            matches!(
                e["kind"].as_str(),
                Some("follow" | "chat_message" | "subscription")
            )
        })
        .collect();
    assert!(
        stored.len() > 20,
        "the simulated stream recorded {} matching events",
        stored.len()
    );
    let (resumed, resumed_notice) = resumed;
    assert!(resumed_notice, "the resuming client got the shutdown notice");
    assert_eq!(
        resumed, stored,
        "the resuming client got every matching stored event, once, in order"
    );
    let (live, live_notice) = live;
    assert!(
        live_notice && !live.is_empty(),
        "the live client got events and the notice"
    );
    let first = live[0]["offset"].as_i64().unwrap();
    let from_first: Vec<Value> = stored
        .into_iter()
        .filter(|e| e["offset"].as_i64().unwrap() >= first)
        .collect();
    assert_eq!(
        live, from_first,
        "the live client missed nothing from its first event on"
    );
}
