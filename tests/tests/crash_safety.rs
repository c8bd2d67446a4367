//! Crash safety: a separate process writes events as fast as it can and is killed with SIGKILL
//! mid-stream, several times over the same file. After each kill the database must pass
//! `PRAGMA integrity_check`, hold every event the writer had reported committed (at the offset it
//! reported), and its projections must agree with its events.

#![allow(clippy::unwrap_used)] // A failed unwrap is how a test reports.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use onair_core::EventKind;
use onair_store::{EventQuery, Store};

/// Runs the writer until it has reported `at_least` commits, kills it, and returns every
/// `source_id -> offset` it reported.
fn write_then_kill(db: &std::path::Path, seed: u64, at_least: usize) -> HashMap<String, i64> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
        .arg(db)
        .arg(seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut reported = HashMap::new();
    while reported.len() < at_least {
        let line = lines
            .next()
            .expect("the writer stopped before it was killed")
            .unwrap();
        let (offset, source_id) = line.split_once(' ').unwrap();
        reported.insert(source_id.to_owned(), offset.parse().unwrap());
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no flush, no checkpoint.
    child.wait().unwrap();
    // Whatever it printed before dying counts too.
    for line in lines {
        let line = line.unwrap();
        let (offset, source_id) = line.split_once(' ').unwrap();
        reported.insert(source_id.to_owned(), offset.parse().unwrap());
    }
    reported
}

#[tokio::test(flavor = "multi_thread")]
async fn committed_events_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut all_reported = HashMap::new();
    for seed in 1..=3 {
        all_reported.extend(write_then_kill(&db, seed, 3_000));

        let store = Store::open_existing(&db).await.unwrap();
        assert_eq!(
            store.integrity_check().await.unwrap(),
            ["ok"],
            "after kill {seed}"
        );
        let stored = store.events(&EventQuery::all()).await.unwrap();
        let by_source: HashMap<&str, i64> = stored
            .iter()
            .filter_map(|e| Some((e.source_id.as_deref()?, e.offset?.0)))
            .collect();
        for (source_id, offset) in &all_reported {
            assert_eq!(
                by_source.get(source_id.as_str()),
                Some(offset),
                "reported committed, then lost: {source_id}"
            );
        }
        assert!(stored.len() >= all_reported.len());
        let follows = stored
            .iter()
            .filter(|e| e.kind() == EventKind::Follow && e.actor.is_some())
            .count();
        let stats = store.stats().await.unwrap();
        assert_eq!(stats.events as usize, stored.len());
        // The projections are part of the same transactions as their events.
        assert_eq!(stats.rows.follower_history as usize, follows, "after kill {seed}");
        store.close().await;
    }
}
