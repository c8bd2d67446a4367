//! `onair run --watch twitch:LOGIN` end to end: the real binary with a token from the environment, Helix
//! and the OAuth server played by wiremock, EventSub by the scripted server. The run validates the token,
//! looks the channel up, creates every subscription on the welcome (asserted on the mock), records every
//! fixture notification once (a resend included), reports a revocation, moves to a new socket on
//! `session_reconnect` without losing or doubling an event and without re-creating anything, records a
//! follow that happened while the socket was down through the polling fallback (once, marked as
//! reconciled), after the 4000 close re-creates every subscription on the fresh session, and gives that
//! session up when Twitch falls silent past its keepalive. Then the store holds the rows
//! `expected.json` lists, and no token appears in the output.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use onair_twitch::testing::helix::HelixStandIn;
use onair_twitch::testing::{EventSubServer, ServerSocket};
use serde_json::{Value, json};
use tokio::time::timeout;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

const TWITCH_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/twitch");
const TOKEN: &str = "TOKEN-e2e-secret";
const BROADCASTER: &str = "52731608";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{TWITCH_FIXTURES}/{name}")).unwrap()
}

fn expected() -> Value {
    serde_json::from_str(&fixture("expected.json")).unwrap()
}

/// Helix and the OAuth server, as Twitch answers a broadcaster's own token with every scope; one type
/// already exists (a 409 is not an error).
async fn twitch_mock() -> MockServer {
    HelixStandIn {
        token: TOKEN.to_owned(),
        client_id: "cid".to_owned(),
        user_id: BROADCASTER.to_owned(),
        login: "nebulacast".to_owned(),
        display_name: "NebulaCast".to_owned(),
        expires_in: 5000,
        existing: vec!["channel.raid".to_owned()],
    }
    .start()
    .await
}

/// How many times the follower list was read.
async fn follower_reads(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/channels/followers")
        .count()
}

/// The subscription types created on `session`, as the mock received them.
async fn created_on(server: &MockServer, session: &str) -> Vec<String> {
    let mut types: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .filter(|b| b["transport"]["session_id"] == session)
        .map(|b| b["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    types
}

/// The next connection to `eventsub`.
async fn accept(eventsub: &EventSubServer) -> ServerSocket {
    timeout(Duration::from_secs(30), eventsub.accept())
        .await
        .unwrap()
        .unwrap()
}

/// The notification fixtures, in stream order.
fn notification_files() -> Vec<String> {
    expected()["stream_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .filter(|f| f.contains("_notification_"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onair_run_watches_a_twitch_channel_through_handover_and_drop() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let eventsub = EventSubServer::start().await.unwrap();
    let twitch = twitch_mock().await;
    let onair = assert_cmd::cargo::cargo_bin("onair");
    // The fallback reads the lists every second while the socket is down (a minute by default).
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[twitch]\npoll_while_down_seconds = 1\n").unwrap();
    let mut output = common::Running::spawn(
        tokio::process::Command::new(&onair)
            .arg("--db")
            .arg(&db)
            .arg("--config")
            .arg(&config)
            .args(["run", "--watch", "twitch:NebulaCast"])
            .env("ONAIR_TWITCH_EVENTSUB_URL", eventsub.url())
            .env("ONAIR_TWITCH_HELIX_URL", twitch.uri())
            .env("ONAIR_TWITCH_AUTH_URL", twitch.uri())
            .env("ONAIR_TWITCH_CLIENT_ID", "cid")
            .env("ONAIR_TWITCH_ACCESS_TOKEN", TOKEN)
            .env("RUST_LOG", "trace"),
    );
    let all_types: Vec<String> = {
        let mut types: Vec<String> = onair_twitch::SUBSCRIPTIONS
            .iter()
            .map(|s| s.name.to_owned())
            .collect();
        types.sort();
        types
    };

    // The first session: every subscription is created on its welcome, then "connected".
    let mut first: ServerSocket = accept(&eventsub).await;
    assert!(
        first.uri().contains("keepalive_timeout_seconds=30"),
        "{}",
        first.uri()
    );
    first.welcome("session-1", 30).await.unwrap();
    output.wait_for("twitch/nebulacast: connected").await;
    assert_eq!(created_on(&twitch, "session-1").await, all_types);

    // Every fixture notification, one of them twice; a revocation.
    let files = notification_files();
    let (before, after) = files.split_at(files.len() / 2);
    for file in before {
        first.send(&fixture(file)).await.unwrap();
    }
    first.send(&fixture(&before[0])).await.unwrap();
    first.send(&fixture("20_revocation.json")).await.unwrap();
    output.wait_for("Twitch ended the").await;

    // Twitch moves the session: the old socket still delivers until the new welcome.
    first
        .reconnect("session-1", &eventsub.reconnect_url("move"))
        .await
        .unwrap();
    let mut second = accept(&eventsub).await;
    assert_eq!(second.uri(), "/ws?reconnect=move");
    first.send(&fixture(&after[0])).await.unwrap();
    second.welcome("session-2", 30).await.unwrap();
    output.wait_for("twitch/nebulacast: connected").await;
    // The first of the rest came on the old socket just before the new welcome; the others come on the
    // new one, one of them twice (at-least-once delivery): each is stored once.
    for file in &after[1..] {
        second.send(&fixture(file)).await.unwrap();
    }
    second.send(&fixture(&after[1])).await.unwrap();
    assert!(
        created_on(&twitch, "session-2").await.is_empty(),
        "nothing is re-created on a handover"
    );

    // A drop (4000). While the socket is down someone follows: the fallback's reading of the follower
    // list records it. (Wiremock gives no signal when it is asked: its log is looked at until two reads
    // after the follow have happened.)
    second.close(4000, "internal server error").await.unwrap();
    output.wait_for("no connection").await;
    output.wait_for("Live events are interrupted").await;
    let followed_at = chrono::Utc::now();
    Mock::given(method("GET"))
        .and(path("/channels/followers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "user_id": "2002", "user_login": "quietfollower", "user_name": "QuietFollower",
            "followed_at": followed_at.to_rfc3339(),
        }], "pagination": {}})))
        .with_priority(1)
        .mount(&twitch)
        .await;
    let reads = follower_reads(&twitch).await;
    timeout(Duration::from_secs(30), async {
        while follower_reads(&twitch).await < reads + 2 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap();
    // The fresh session gets every subscription again.
    let mut third = accept(&eventsub).await;
    // The shortest keepalive Twitch allows: its watchdog ends this test.
    third.welcome("session-3", 10).await.unwrap();
    output.wait_for("twitch/nebulacast: connected").await;
    assert_eq!(created_on(&twitch, "session-3").await, all_types);
    third
        .notify(
            "after-the-drop",
            "channel.follow",
            json!({
                "user_id": "1001", "user_login": "latecomer", "user_name": "Latecomer",
                "broadcaster_user_id": BROADCASTER, "broadcaster_user_login": "nebulacast",
                "broadcaster_user_name": "NebulaCast", "followed_at": "2026-11-29T20:10:00Z",
            }),
        )
        .await
        .unwrap();
    // Then Twitch falls silent: past the keepalive (and a little leeway) the client gives the socket up
    // and reconnects; once it reports that, every frame before the silence was read.
    let silent = std::time::Instant::now();
    output.wait_for("no connection").await;
    assert!(
        silent.elapsed() >= Duration::from_secs(10),
        "{:?}",
        silent.elapsed()
    );

    // Stop as Ctrl-C would; everything received is committed.
    let (status, stdout, stderr) = output.interrupt().await;
    assert!(status.success(), "{status}");
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "the token leaked"
    );
    assert!(stdout.contains("stopped:"), "{stdout}");
    assert!(
        stderr.contains("Twitch sent nothing for 15 s"),
        "the watchdog's reason is logged"
    );

    // Each notification once, in order, plus the one after the drop.
    let events = common::stored_events(&onair, &db);
    let ids: Vec<String> = events
        .iter()
        .map(|e| e["source_id"].as_str().unwrap().to_owned())
        .collect();
    let mut want: Vec<String> = files
        .iter()
        .map(|f| {
            let frame: Value = serde_json::from_str(&fixture(f)).unwrap();
            frame["metadata"]["message_id"].as_str().unwrap().to_owned()
        })
        .collect();
    want.push(format!(
        "reconciled:follow:{BROADCASTER}:2002:{}",
        followed_at.timestamp_millis()
    ));
    want.push("after-the-drop".to_owned());
    assert_eq!(ids, want);
    assert!(events.iter().all(|e| e["platform"] == "twitch"));

    // The table rows expected.json lists: each insert, and one row per key upserted or updated (two more
    // follows: the one found by polling and the one after the drop).
    let mut rows: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for (n, file) in files.iter().enumerate() {
        for effect in expected()["files"][file]["db_effect"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let table = effect["table"].as_str().unwrap().to_owned();
            match effect["op"].as_str().unwrap() {
                "insert" => rows.entry(table).or_default().insert(format!("insert {n}")),
                // Against an empty database an update of a row the fixtures' seed held makes that row (a
                // role revoked without its grant on record, a subscription ended without its start).
                "upsert" | "update" => {
                    let mut key = effect["key"].clone();
                    key.as_object_mut().unwrap().remove("revoked_at");
                    rows.entry(table).or_default().insert(key.to_string())
                }
                _ => false,
            };
        }
    }
    let count = |table: &str| rows.get(table).map_or(0, |keys| keys.len());
    let stats = assert_cmd::Command::new(&onair)
        .arg("--db")
        .arg(&db)
        .args(["db", "stats"])
        .output()
        .unwrap();
    let stats = String::from_utf8(stats.stdout).unwrap();
    let history = format!(
        "history:   {} follows, {} subscriptions, {} roles",
        count("follower_history") + 2,
        count("viewer_subscriptions"),
        count("viewer_roles"),
    );
    assert!(stats.contains(&history), "want {history:?} in:\n{stats}");
}
