//! `onair simulate` end to end: the real binary plays a simulated Kick stream through its local server
//! and the real client into the store; `onair events` then shows the stream going live first, a varied
//! flow, and the stream going offline last.
#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn a_simulated_stream_is_recorded_from_live_to_offline() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let onair = assert_cmd::cargo::cargo_bin("onair");
    let out = assert_cmd::Command::new(&onair)
        .env("ONAIR_SECRET_STORE", "file")
        .env("XDG_DATA_HOME", dir.path())
        .arg("--db")
        .arg(&db)
        .args(["simulate", "--for", "3s", "--rate", "60"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("kick/onair-demo: connected"), "{stdout}");

    let events = common::stored_events(&onair, &db);
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.len() > 60, "{} events in 3 s at 60/s", kinds.len());
    assert_eq!(kinds.first(), Some(&"stream_online"));
    assert_eq!(kinds.last(), Some(&"stream_offline"));
    assert!(!kinds.contains(&"unknown"), "{kinds:?}");
    for kind in ["chat_message", "follow"] {
        assert!(kinds.contains(&kind), "{kind} missing: {kinds:?}");
    }
    assert!(events.iter().all(|e| e["channel"]["slug"] == "onair-demo"));
}
