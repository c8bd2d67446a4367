//! The `onair` command as a user runs it: a real binary on a real database file in a temp folder.

#![allow(clippy::unwrap_used)] // A failed unwrap is how a test reports.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use onair_core::{Event, EventKind, Platform, sample};
use predicates::prelude::*;

fn onair(db: &Path) -> Command {
    let mut cmd = Command::cargo_bin("onair").unwrap();
    cmd.env("ONAIR_DB", db).env_remove("RUST_LOG");
    cmd
}

/// A JSONL export of one event of every kind on Kick and on Twitch.
fn export(dir: &Path) -> PathBuf {
    let path = dir.join("export.jsonl");
    let lines: Vec<String> = sample::every_kind(Platform::Kick)
        .into_iter()
        .chain(sample::every_kind(Platform::Twitch))
        .map(|e| e.to_json_line())
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// A database in a temp folder with [`export`] imported.
fn imported() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    onair(&db)
        .arg("import")
        .arg(export(dir.path()))
        .assert()
        .success();
    (dir, db)
}

fn jsonl(output: &[u8]) -> Vec<Event> {
    String::from_utf8(output.to_vec())
        .unwrap()
        .lines()
        .map(|l| Event::from_json(l).unwrap())
        .collect()
}

#[test]
fn a_missing_database_is_an_error_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.db");
    onair(&db)
        .args(["events"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no OnAir database at").and(predicate::str::contains("--db")));
    assert!(!db.exists(), "reading never creates the database");
    onair(&db)
        .args(["db", "stats"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no OnAir database"));
}

#[test]
fn import_is_idempotent_and_events_come_back_as_the_same_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let file = export(dir.path());
    let total = 2 * EventKind::ALL.len();
    onair(&db)
        .arg("import")
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "imported {total} new events, 0 already present"
        )));
    onair(&db)
        .arg("import")
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "imported 0 new events, {total} already present"
        )));

    let out = onair(&db)
        .args(["events", "--format", "jsonl", "--after", "0", "--limit", "0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stored = jsonl(&out.stdout);
    let originals: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(stored.len(), originals.len());
    for (stored, original) in stored.iter().zip(&originals) {
        assert!(stored.offset.is_some());
        let without_offset = Event {
            offset: None,
            ..stored.clone()
        };
        assert_eq!(
            &without_offset.to_json_line(),
            original,
            "JSON v1 survives the round trip"
        );
    }
}

#[test]
fn filters_and_formats() {
    let (_dir, db) = imported();
    let kinds = |args: &[&str]| -> Vec<(Platform, EventKind)> {
        let out = onair(&db)
            .args(["events", "--format", "jsonl", "--after", "0"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        jsonl(&out.stdout)
            .iter()
            .map(|e| (e.platform, e.kind()))
            .collect()
    };
    assert_eq!(
        kinds(&["--kind", "follow,ban", "--platform", "twitch"]),
        [
            (Platform::Twitch, EventKind::Follow),
            (Platform::Twitch, EventKind::Ban)
        ]
    );
    assert_eq!(
        kinds(&["--kind", "follow", "--kind", "raid"]).len(),
        4,
        "repeatable"
    );
    assert_eq!(
        kinds(&["--search", "CAFE"]),
        [
            (Platform::Kick, EventKind::ChatMessage),
            (Platform::Twitch, EventKind::ChatMessage)
        ]
    );
    assert_eq!(
        kinds(&["--channel", "NebulaCast"]).len(),
        2 * EventKind::ALL.len()
    );
    assert!(kinds(&["--channel", "someone_else"]).is_empty());
    // Samples are received one second apart from 2026-05-22T18:42:07.16Z.
    let window = kinds(&[
        "--since",
        "2026-05-22T18:42:10Z",
        "--until",
        "2026-05-22T18:42:12Z",
    ]);
    assert_eq!(window.len(), 4, "two seconds, both platforms: {window:?}");
    assert!(kinds(&["--since", "1h"]).is_empty(), "samples are from May");
    assert_eq!(kinds(&["--limit", "3"]).len(), 3);

    // Without --after: the newest N, oldest first.
    let out = onair(&db)
        .args(["events", "--format", "jsonl", "--limit", "2"])
        .output()
        .unwrap();
    let newest = jsonl(&out.stdout);
    assert_eq!(
        newest.iter().map(Event::kind).collect::<Vec<_>>(),
        [EventKind::MemberLeave, EventKind::Unknown]
    );

    onair(&db)
        .args([
            "events",
            "--format",
            "csv",
            "--kind",
            "timeout",
            "--platform",
            "kick",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("offset,id,received_at")
                .and(predicate::str::contains("timed out модератор for 600 s")),
        );
    onair(&db)
        .args(["events", "--kind", "subscription_gift"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("OFFSET").and(predicate::str::contains("gifted 2 subs to bob, zedzero")),
        );
}

#[test]
fn bad_filters_are_refused_with_the_reason() {
    let (_dir, db) = imported();
    onair(&db)
        .args(["events", "--kind", "chat"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown event kind `chat`")
                .and(predicate::str::contains("chat_message")),
        );
    onair(&db)
        .args(["events", "--since", "yesterdayish"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("neither a time"));
    onair(&db)
        .args(["events", "--platform", "youtube"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("kick, twitch, discord"));
    onair(&db)
        .args(["events", "--since", "1h", "--until", "2h"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("must be before --until"));
    onair(&db)
        .args(["events", "--search", " * "])
        .assert()
        .failure()
        .stderr(predicate::str::contains("search for words"));
}

#[test]
fn a_bad_line_is_reported_and_the_rest_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let file = dir.path().join("mixed.jsonl");
    let events = sample::every_kind(Platform::Kick);
    let text = format!(
        "{}\nnot json at all\n\n{}\n",
        events[0].to_json_line(),
        events[1].to_json_line()
    );
    std::fs::write(&file, text).unwrap();
    onair(&db)
        .arg("import")
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("imported 2 new events"))
        .stderr(predicate::str::contains(
            "mixed.jsonl:2: skipped: not an OnAir event",
        ));
}

#[test]
fn the_database_path_follows_the_flag_then_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let from_env = dir.path().join("env.db");
    let from_flag = dir.path().join("flag.db");
    onair(&from_env)
        .args(["db", "path"])
        .assert()
        .success()
        .stdout(format!("{}\n", from_env.display()));
    onair(&from_env)
        .arg("--db")
        .arg(&from_flag)
        .args(["db", "path"])
        .assert()
        .success()
        .stdout(format!("{}\n", from_flag.display()));
}

#[test]
fn stats_and_vacuum_report_on_the_file() {
    let (dir, db) = imported();
    onair(&db).args(["db", "stats"]).assert().success().stdout(
        predicate::str::contains(format!("events:    {}", 2 * EventKind::ALL.len()))
            .and(predicate::str::contains("chat_message")),
    );
    onair(&db)
        .args(["db", "vacuum"])
        .assert()
        .success()
        .stdout(predicate::str::contains("vacuumed"));
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "x".repeat(4096)).unwrap();
    onair(&notes).args(["db", "stats"]).assert().failure().stderr(
        predicate::str::contains("is not an OnAir database").and(predicate::str::contains("changed nothing")),
    );
    assert_eq!(
        std::fs::read(&notes).unwrap(),
        "x".repeat(4096).into_bytes(),
        "left as it was"
    );
}

#[test]
fn the_example_export_in_the_docs_imports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/examples/events.jsonl");
    onair(&db)
        .args(["import", example])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "imported {} new events",
            EventKind::ALL.len()
        )));
}
