//! Several real `onair` processes on one database, as a user runs them (the app open while `onair import`
//! or `onair run` writes the same file): every event any of them reports recorded is stored exactly once,
//! a new database opened by several at once gets its schema once, and a process recording live keeps
//! recording while another imports, its relay serving the other's events too.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use tokio::process::Command;
use tokio::time::timeout;

mod common;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/examples/events.jsonl");

fn onair(db: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_onair"));
    command
        .arg("--db")
        .arg(db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `onair import FILE` into `db`; returns what it printed, after checking it succeeded.
async fn import(db: &Path, file: &Path) -> String {
    let out = timeout(
        Duration::from_secs(120),
        onair(db).arg("import").arg(file).output(),
    )
    .await
    .expect("the import finishes")
    .unwrap();
    assert!(
        out.status.success(),
        "import of {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The stored events' offsets, checked unique and increasing, and how many there are per platform.
fn check_offsets(events: &[Value]) -> (usize, usize) {
    let offsets: Vec<i64> = events.iter().map(|e| e["offset"].as_i64().unwrap()).collect();
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "offsets unique and increasing"
    );
    let on = |platform: &str| events.iter().filter(|e| e["platform"] == platform).count();
    (on("kick"), on("twitch"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_imports_into_one_database_at_once_store_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("y.db");
    let examples = import(&db, Path::new(EXAMPLES)).await;
    assert!(examples.contains("imported 32 new events"), "{examples}");
    let (a, b) = (
        common::twitch_follows(dir.path(), "a", 20_000),
        common::twitch_follows(dir.path(), "b", 20_000),
    );

    let (said_a, said_b) = tokio::join!(import(&db, &a), import(&db, &b));
    assert!(
        said_a.contains("imported 20000 new events, 0 already present"),
        "{said_a}"
    );
    assert!(
        said_b.contains("imported 20000 new events, 0 already present"),
        "{said_b}"
    );

    let stored = common::stored_events(Path::new(env!("CARGO_BIN_EXE_onair")), &db);
    assert_eq!(
        stored.len(),
        40_032,
        "the examples and both files, every event once"
    );
    for prefix in ["a", "b"] {
        let from_file = stored
            .iter()
            .filter(|e| e["source_id"].as_str().is_some_and(|s| s.starts_with(prefix)))
            .count();
        assert_eq!(from_file, 20_000, "every event of {prefix}.jsonl");
    }
    check_offsets(&stored);

    // And a real duplicate is still one: importing a file again adds nothing.
    let again = import(&db, &a).await;
    assert!(
        again.contains("imported 0 new events, 20000 already present"),
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_creating_one_new_database_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let files: Vec<PathBuf> = (0..4)
        .map(|n| common::twitch_follows(dir.path(), &format!("p{n}-"), 50))
        .collect();
    let imports = files.iter().map(|file| import(&db, file));
    for said in futures_util::future::join_all(imports).await {
        assert!(said.contains("imported 50 new events"), "{said}");
    }
    let stored = common::stored_events(Path::new(env!("CARGO_BIN_EXE_onair")), &db);
    assert_eq!(stored.len(), 200);
}

const TOKEN: &str = "shared-db-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_process_keeps_recording_and_relays_what_another_imports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    // The recording process: a simulated Kick stream, busy, with its relay.
    let mut recording = onair(&db);
    recording
        .args(["simulate", "--rate", "300", "--relay", "127.0.0.1:0"])
        .env("ONAIR_RELAY_TOKEN", TOKEN)
        .env("ONAIR_SECRET_STORE", "file")
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("HOME", dir.path());
    let mut recording = common::Running::spawn(&mut recording);
    // A relay client that only wants Twitch events: only the other process records those.
    let mut client =
        common::RelayClient::subscribe(&mut recording, TOKEN, r#"{"platforms": ["twitch"]}"#).await;

    // Meanwhile another process imports into the same database.
    let file = common::twitch_follows(dir.path(), "imported-", 5_000);
    let said = import(&db, &file).await;
    assert!(said.contains("imported 5000 new events"), "{said}");
    let mut relayed = Vec::new();
    while relayed.len() < 5_000 {
        relayed.push(
            client
                .next_event()
                .await
                .expect("the relay client keeps receiving"),
        );
    }
    let expected: Vec<String> = (0..5_000).map(|n| format!("imported-{n}")).collect();
    assert_eq!(relayed, expected, "every imported event relayed once, in order");

    // The recording process recorded on through the import: what it says it recorded is all stored.
    let (status, stdout, stderr) = recording.interrupt().await;
    assert!(status.success(), "{stdout}\n{stderr}");
    // "stopped: simulated N events received and recorded in ..." or "..., M recorded in ..." when some
    // were repeats (a gift arrives twice on Kick).
    let summary = stdout
        .lines()
        .find_map(|l| l.strip_prefix("stopped: simulated "))
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    let number = |text: &str| -> usize { text.split_whitespace().next().unwrap().parse().unwrap() };
    let recorded = match summary.split_once(", ") {
        Some((_, rest)) => number(rest),
        None => number(summary),
    };
    let stored = common::stored_events(Path::new(env!("CARGO_BIN_EXE_onair")), &db);
    let (kick, twitch) = check_offsets(&stored);
    assert_eq!(twitch, 5_000);
    assert!(recorded > 0);
    assert_eq!(kick, recorded, "every simulated event it reported is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_records_a_channel_and_another_takes_over_when_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let mut server = onair_pusher::server::ScriptedServer::bind().await.unwrap();
    let pusher_url = server.url("kick-key");
    let watch = |db: &Path| {
        let mut command = onair(db);
        command
            .args(["run", "--watch", "kick:novastreams@4781203/4760932"])
            .env("ONAIR_KICK_PUSHER_URL", &pusher_url)
            .env("ONAIR_KICK_API_URL", "http://127.0.0.1:9");
        command
    };
    let mut first = common::Running::spawn(&mut watch(&db));
    let mut conn = timeout(Duration::from_secs(10), server.accept())
        .await
        .unwrap()
        .unwrap();
    common::greet(&mut conn).await;
    first.wait_for("kick/novastreams: connected").await;
    let first_pid = first.id();

    // A second process on the same database waits, saying who records the channel.
    let mut second = common::Running::spawn(&mut watch(&db));
    let waiting = second.wait_for("is recorded into this database by").await;
    assert!(waiting.contains(&format!("onair (pid {first_pid})")), "{waiting}");
    assert!(waiting.contains("takes over when that one stops"), "{waiting}");
    conn.send_text(common::kick_frame("chat_basic.json"))
        .await
        .unwrap();

    // The first stops; the second connects and records from then on.
    let (status, stdout, stderr) = first.interrupt().await;
    assert!(status.success(), "{stdout}\n{stderr}");
    let mut conn = timeout(Duration::from_secs(10), server.accept())
        .await
        .expect("the second process connects once the first has stopped")
        .unwrap();
    common::greet(&mut conn).await;
    second.wait_for("kick/novastreams: connected").await;
    conn.send_text(common::kick_frame("chat_reply.json"))
        .await
        .unwrap();
    conn.send_text(common::kick_frame("chat_basic.json"))
        .await
        .unwrap();
    let (status, stdout, stderr) = second.interrupt().await;
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("(1 already stored)"), "{stdout}");

    let chat: Vec<String> = common::stored_events(Path::new(env!("CARGO_BIN_EXE_onair")), &db)
        .into_iter()
        .filter(|e| e["kind"] == "chat_message")
        .map(|e| e["source_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(chat.len(), 2, "each message once: {chat:?}");
}
