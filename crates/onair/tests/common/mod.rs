//! What the `onair run` end-to-end tests share: the Kick fixture frames and reading the store back through
//! the real `onair events`.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

/// The Kick fixtures folder.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/kick");

/// The fixtures that are Kick frames (not protocol frames, REST answers or the facts file), sorted.
pub fn kick_frame_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            n.ends_with(".json")
                && !n.starts_with("pusher_")
                && !n.starts_with("rest_")
                && n != "expected.json"
        })
        .collect();
    files.sort();
    files
}

/// Every event stored in `db`, as `onair events --format jsonl` prints them.
pub fn stored_events(onair: &Path, db: &Path) -> Vec<serde_json::Value> {
    let listed = assert_cmd::Command::new(onair)
        .arg("--db")
        .arg(db)
        .args(["events", "--after", "0", "--limit", "0", "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(listed.status.success());
    String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
