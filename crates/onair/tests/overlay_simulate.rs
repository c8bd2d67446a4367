//! The relay's alerts overlay end to end, as in OBS: `onair simulate --relay` records a simulated Kick
//! stream and serves it; the overlay page (`/overlays/alerts`, in headless Debian Chromium, driven by
//! onair-relay's `overlays/test/driver.mjs`) shows the simulated follows as they come. The run ends (the
//! relay with it: the page is cut off) and a second run starts on the same port and database while the
//! page reconnects. When all is done, the page has shown every follow recorded from its first on, once
//! each, in offset order: none lost across the cut, none doubled by the resume.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;

mod common;
#[path = "../../onair-relay/tests/support/overlay_driver.rs"]
mod overlay_driver;

use overlay_driver::{OverlayDriver, chromium};

const TOKEN: &str = "overlay-e2e-token";

/// A port free now, for two runs in a row to serve on.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `onair simulate --relay` on `port`, recording into `db` for `seconds`, with its own stream (`seed`);
/// returns once its relay listens, with a task that waits for the run to end.
async fn simulate(
    dir: &Path,
    db: &Path,
    port: u16,
    seed: u32,
    seconds: u32,
) -> tokio::task::JoinHandle<std::process::ExitStatus> {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("onair"))
        .arg("--db")
        .arg(db)
        .args(["simulate", "--rate", "12", "--seed", &seed.to_string()])
        .args([
            "--for",
            &format!("{seconds}s"),
            "--relay",
            &format!("127.0.0.1:{port}"),
        ])
        .env("ONAIR_RELAY_TOKEN", TOKEN)
        .env("ONAIR_SECRET_STORE", "file")
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("onair ended before its relay started");
        if line.starts_with("relay: Socket.IO on ") {
            break;
        }
    }
    tokio::spawn(async move {
        while let Ok(Some(_)) = stdout.next_line().await {}
        child.wait().await.unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alerts_overlay_shows_every_simulated_follow_once_across_a_relay_restart() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let port = free_port();
    let first_done = simulate(dir.path(), &db, port, 11, 6).await;

    let mut driver = OverlayDriver::start(&chromium);
    let url = format!("http://127.0.0.1:{port}/overlays/alerts?token={TOKEN}&kinds=follow&duration=1");
    let mut shown: Vec<i64> = Vec::new();
    let mut states: Vec<String> = Vec::new();
    driver
        .send(json!({"cmd": "open", "page": "alerts", "url": url}))
        .await;
    let opened = loop {
        if let Some(opened) = driver.next().await.get("opened") {
            break opened.clone();
        }
    };
    assert_eq!(opened["state"], "live", "{opened}");
    assert_eq!(opened["notice"], Value::Null, "{opened}");

    // The first run ends (its relay tells the page and closes); the second starts on the same port.
    let pump = |line: &Value, shown: &mut Vec<i64>, states: &mut Vec<String>| {
        if let Some(alert) = line.get("shown") {
            assert_eq!(alert["kind"], "follow", "{alert}");
            shown.push(alert["offset"].as_i64().unwrap());
        } else if let Some(state) = line.get("state") {
            states.push(state["state"].as_str().unwrap().to_owned());
        }
    };
    while !states.iter().any(|s| s == "disconnected") {
        let line = driver.next().await;
        pump(&line, &mut shown, &mut states);
    }
    assert!(first_done.await.unwrap().success());
    let second_done = simulate(dir.path(), &db, port, 12, 6).await;
    while !(states
        .iter()
        .rev()
        .take_while(|s| *s != "disconnected")
        .any(|s| s == "live"))
    {
        let line = driver.next().await;
        pump(&line, &mut shown, &mut states);
    }
    assert!(second_done.await.unwrap().success());

    // Every follow recorded from the page's first on, shown once, in order (the queue shows one a second).
    while shown.is_empty() {
        let line = driver.next().await;
        pump(&line, &mut shown, &mut states);
    }
    let recorded: Vec<i64> = common::stored_events(&assert_cmd::cargo::cargo_bin("onair"), &db)
        .into_iter()
        .filter(|e| e["kind"] == "follow")
        .map(|e| e["offset"].as_i64().unwrap())
        .collect();
    let first = shown[0];
    let want: Vec<i64> = recorded.into_iter().filter(|&o| o >= first).collect();
    assert!(want.len() >= 4, "too few follows to tell: {want:?}");
    while shown.len() < want.len() {
        let line = driver.next().await;
        pump(&line, &mut shown, &mut states);
    }
    assert_eq!(shown, want, "each follow once, in order, across the restart");
    driver.send(json!({"cmd": "quit"})).await;
}
