//! The relay end to end: `onair simulate --relay` records a simulated stream and serves it; two real
//! socket.io-client processes (node) connect with the token while it runs. One only listens live; the
//! other resumes from offset 0. When the run ends (and the relay with it), the resuming one has received
//! every stored event its filter matches, once each, in offset order, exactly as `onair events` prints
//! them; the live one has every matching event from its first on and the connection's status; both got
//! the shutdown notice. While they are connected, `onair relay clients` lists both, and the relay's
//! `/metrics` shows the events ingested and the connection's state.
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

/// What a client received until the relay closed it.
struct Received {
    events: Vec<Value>,
    notice: bool,
    statuses: Vec<Value>,
}

/// Runs a socket.io-client until the relay closes it, saying on `first` when the first event arrives.
async fn client(url: String, resume_after: Option<i64>, first: tokio::sync::oneshot::Sender<()>) -> Received {
    let mut first = Some(first);
    let mut command = Command::new("node");
    command
        .env("ONAIR_TEST_STATUS", "1")
        .env("ONAIR_TEST_USER_AGENT", "relay-e2e")
        .arg(client_script())
        .arg(url)
        .arg(TOKEN)
        .arg(FILTER);
    if let Some(after) = resume_after {
        command.arg(after.to_string());
    }
    let mut child = command.stdout(Stdio::piped()).kill_on_drop(true).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut got = Received {
        events: Vec::new(),
        notice: false,
        statuses: Vec::new(),
    };
    while let Some(line) = timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap()
        .unwrap()
    {
        let line: Value = serde_json::from_str(&line).unwrap();
        if let Some(event) = line.get("event") {
            got.events.push(event.clone());
            if let Some(first) = first.take() {
                let _ = first.send(());
            }
        } else if let Some(status) = line.get("status") {
            got.statuses.push(status.clone());
        } else if line.get("shutdown").is_some() {
            got.notice = true;
        } else if let Some(error) = line.get("connect_error").or(line.get("error")) {
            panic!("the relay refused: {error}");
        }
    }
    got
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
            // A bound only: the test stops it with Ctrl-C once both clients are in and enough is recorded
            // (a fixed run could end before two node clients start on a busy machine).
            "--for",
            "120s",
            "--relay",
            "127.0.0.1:0",
        ])
        .env("ONAIR_RELAY_TOKEN", TOKEN)
        .env("ONAIR_SECRET_STORE", "file")
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("HOME", dir.path())
        // The most detailed log, every library's included: the token must not be in it either.
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(run.stdout.take().unwrap()).lines();
    let mut stderr = run.stderr.take().unwrap();
    let logged = tokio::spawn(async move {
        let mut log = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut log)
            .await
            .unwrap();
        log
    });
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
    let (live_first, live_started) = tokio::sync::oneshot::channel();
    let (resumed_first, resumed_started) = tokio::sync::oneshot::channel();
    let live = tokio::spawn(client(url.clone(), None, live_first));
    let resumed = tokio::spawn(client(url.clone(), Some(0), resumed_first));
    live_started.await.unwrap();
    resumed_started.await.unwrap();

    // While both are connected: the hub lists them, and the metrics count what happened.
    let addr = url.trim_start_matches("http://");
    let listed = std::process::Command::new(&onair)
        .args(["relay", "clients", "--json", "--addr", addr])
        .env("ONAIR_RELAY_TOKEN", TOKEN)
        .env("ONAIR_SECRET_STORE", "file")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let clients = listed["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 2, "{listed}");
    for client in clients {
        assert_eq!(client["user_agent"], "relay-e2e");
        assert_eq!(
            client["filter"]["kinds"],
            serde_json::json!(["follow", "chat_message", "subscription"])
        );
        assert!(client["address"].as_str().unwrap().starts_with("127.0.0.1:"));
    }
    let tls = onair_pusher::tls_config().unwrap();
    let metrics = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .build()
        .unwrap()
        .get(format!("{url}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sample = |name: &str, labels: &[&str]| -> f64 {
        metrics
            .lines()
            .find(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(['{', ' ']))
                    && labels.iter().all(|label| l.contains(label))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{metrics}"))
    };
    assert!(sample("onair_events_ingested_total", &["platform=\"kick\""]) >= 1.0);
    assert_eq!(
        sample(
            "onair_connection_state",
            &["platform=\"kick\"", "state=\"connected\""]
        ),
        1.0
    );
    assert!(sample("onair_relay_events_sent_total", &[]) >= 2.0, "{metrics}");

    // Enough recorded for the comparisons below, then Ctrl-C: the relay's shutdown notice ends both clients.
    timeout(Duration::from_secs(60), async {
        while common::stored_events(&onair, &db)
            .iter()
            .filter(|e| {
                matches!(
                    e["kind"].as_str(),
                    Some("follow" | "chat_message" | "subscription")
                )
            })
            .count()
            <= 20
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the simulator records");
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &run.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let (live, resumed) = (live.await.unwrap(), resumed.await.unwrap());
    let mut printed = String::new();
    while let Ok(Some(line)) = stdout.next_line().await {
        printed.push_str(&line);
        printed.push('\n');
    }
    assert!(run.wait().await.unwrap().success(), "{printed}");
    assert!(!printed.contains(TOKEN), "the token is never printed by a run");
    let logged = logged.await.unwrap();
    assert!(logged.contains("relay listening"), "the trace log was captured");
    assert!(
        !logged.contains(TOKEN),
        "the token is never logged, even at trace level"
    );

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
    assert!(resumed.notice, "the resuming client got the shutdown notice");
    assert_eq!(
        resumed.events, stored,
        "the resuming client got every matching stored event, once, in order"
    );
    assert!(
        live.notice && !live.events.is_empty(),
        "the live client got events and the notice"
    );
    assert!(
        live.statuses
            .iter()
            .any(|s| s["connections"][0]["state"]["state"] == "connected"
                && s["connections"][0]["id"]["platform"] == "kick"),
        "the live client was told the connection is up: {:?}",
        live.statuses
    );
    let first = live.events[0]["offset"].as_i64().unwrap();
    let from_first: Vec<Value> = stored
        .into_iter()
        .filter(|e| e["offset"].as_i64().unwrap() >= first)
        .collect();
    assert_eq!(
        live.events, from_first,
        "the live client missed nothing from its first event on"
    );
}
