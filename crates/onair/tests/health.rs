//! What the app shows about its database: a file OnAir cannot use is moved aside only when asked (kept
//! byte for byte, a new database then working in its place), a healthy one never; the store-health view
//! after each notice, and the tray's overall state while writes are held up.

use onair::health::{HealthNotice, open_or_move_aside};
use onair::views::{HealthState, Overall, StartupView, StoreHealthView};
use onair_core::Platform;

const NOT_A_DATABASE: &[u8] = b"my shopping list, not a database\n";

#[tokio::test]
async fn a_file_that_is_not_a_database_is_moved_aside_only_when_asked_and_kept_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    std::fs::write(&db, NOT_A_DATABASE.repeat(200)).unwrap();

    let Err(refused) = open_or_move_aside(db.clone(), false).await else {
        panic!("a file that is not a database opened");
    };
    assert!(refused.is_unusable_file(), "{refused}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        NOT_A_DATABASE.repeat(200),
        "refused, untouched"
    );
    let StartupView::Stopped {
        database,
        problem,
        can_move_aside,
    } = StartupView::stopped(&db, &refused)
    else {
        panic!("not the recovery screen's view");
    };
    assert_eq!(database, db.display().to_string());
    assert!(
        problem.contains(&db.display().to_string()),
        "the problem names the file: {problem}"
    );
    assert!(can_move_aside);

    let (store, aside) = open_or_move_aside(db.clone(), true).await.unwrap();
    let aside = aside.expect("moved aside");
    assert_eq!(aside.parent(), db.parent(), "kept beside it");
    assert!(
        aside
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("onair.db.unusable-"),
        "{}",
        aside.display()
    );
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        NOT_A_DATABASE.repeat(200),
        "kept byte for byte"
    );
    let event = onair_core::sample::every_kind(Platform::Kick).remove(0);
    store.writer().append_and_wait(event).await.unwrap();
    assert_eq!(store.stats().await.unwrap().events, 1, "the new database records");
    store.close().await;
}

#[tokio::test]
async fn a_healthy_database_is_never_moved() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let (store, _) = open_or_move_aside(db.clone(), false).await.unwrap();
    let event = onair_core::sample::every_kind(Platform::Kick).remove(0);
    store.writer().append_and_wait(event).await.unwrap();
    store.close().await;

    let (store, aside) = open_or_move_aside(db.clone(), true).await.unwrap();
    assert_eq!(aside, None);
    assert_eq!(store.stats().await.unwrap().events, 1);
    store.close().await;
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("unusable")), "{names:?}");
}

#[test]
fn the_health_view_carries_each_notice_and_turns_the_tray_red_while_held_up() {
    let well = StoreHealthView::recording();
    assert_eq!(
        (well.state, well.message.as_deref()),
        (HealthState::Recording, None)
    );
    assert_eq!(Overall::Connected.with_store(&well), Overall::Connected);

    let held_up = StoreHealthView::after(&HealthNotice::HeldUp("the disk is full: free some space".into()));
    assert_eq!(held_up.state, HealthState::HeldUp);
    assert_eq!(
        held_up.message.as_deref(),
        Some("recording is held up: the disk is full: free some space")
    );
    assert_eq!(Overall::Connected.with_store(&held_up), Overall::NotRecording);
    assert_eq!(Overall::Idle.with_store(&held_up), Overall::NotRecording);
    assert!(Overall::NotRecording > Overall::Failed, "the worst state of all");

    let again = StoreHealthView::after(&HealthNotice::Recovered);
    assert_eq!(again.state, HealthState::Recovered);
    assert!(again.message.unwrap().starts_with("recording again"));
    assert_eq!(
        Overall::Reconnecting.with_store(&StoreHealthView::after(&HealthNotice::Recovered)),
        Overall::Reconnecting
    );
}
