//! The writer under pressure: it waits out a locked database (reporting the failure in its status) and
//! loses nothing; readers on WAL never block it and only ever see whole transactions; full batches commit
//! without waiting for the linger; connection states are logged in order; told to stop retrying, a
//! writer that keeps failing answers and counts what it could not write, and closes.

#![allow(clippy::unwrap_used)] // A failed unwrap is how a test reports.

mod common;

use std::time::Duration;

use common::{temp_store, temp_store_with};
use onair_core::{Actor, ConnectionId, ConnectionState, Empty, Event, EventData, Platform, sample};
use onair_store::{BatchOptions, EventQuery, Store};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

fn follow(n: u32) -> Event {
    Event::new(Platform::Kick, sample::channel(), EventData::Follow(Empty {}))
        .with_actor(Actor::new(format!("{n}"), format!("viewer{n}")))
        .with_source_id(format!("follow-{n}"))
}

async fn outside_connection(store: &Store) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(store.path())
        .connect()
        .await
        .unwrap()
}

/// Fails the test instead of hanging if `fut` never finishes.
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), fut)
        .await
        .unwrap_or_else(|_| panic!("{what} never happened"))
}

#[tokio::test]
async fn a_locked_database_is_retried_reported_and_nothing_is_lost() {
    let (store, _dir) = temp_store_with(|o| o.busy_timeout = Duration::from_millis(20)).await;
    let mut blocker = outside_connection(&store).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();

    let writer = store.writer();
    let mut status = writer.status();
    let receipts = [
        writer.append(follow(1)).await.unwrap(),
        writer.append(follow(2)).await.unwrap(),
    ];
    let failure = within("a failure report", async {
        loop {
            status.changed().await.unwrap();
            if let Some(failure) = status.borrow_and_update().failing.clone() {
                return failure;
            }
        }
    })
    .await;
    assert!(failure.error.contains("locked"), "{failure:?}");
    assert_eq!(failure.waiting, 2);

    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    for receipt in receipts {
        within("the commit", receipt.committed()).await.unwrap();
    }
    let status = writer.status().borrow().clone();
    assert_eq!((status.failing, status.committed), (None, 2), "healthy again");
    let stored = store.events(&EventQuery::all()).await.unwrap();
    assert_eq!(stored.len(), 2);
}

#[tokio::test]
async fn told_to_stop_retrying_a_failing_writer_says_what_it_did_not_record_and_closes() {
    let (store, dir) = temp_store_with(|o| o.busy_timeout = Duration::from_millis(20)).await;
    let writer = store.writer();
    writer.append_and_wait(follow(0)).await.unwrap();
    let mut blocker = outside_connection(&store).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let receipts = [
        writer.append(follow(1)).await.unwrap(),
        writer.append(follow(2)).await.unwrap(),
    ];
    let mut status = writer.status();
    within("a failure report", status.wait_for(|s| s.failing.is_some()))
        .await
        .unwrap();

    writer.stop_retrying();
    for receipt in receipts {
        let err = within("the answer", receipt.committed()).await.unwrap_err();
        assert!(
            matches!(&err, onair_store::StoreError::NotRecorded { detail } if detail.contains("locked")),
            "{err}"
        );
        assert!(err.to_string().starts_with("the event was not recorded"), "{err}");
    }
    // Nothing is tried any more, even once the lock is let go: what comes later is answered at once.
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let later = within("the answer", writer.append_and_wait(follow(3))).await;
    assert!(
        matches!(later, Err(onair_store::StoreError::NotRecorded { .. })),
        "{later:?}"
    );
    within("a flush", writer.flush()).await.unwrap();
    let status = writer.status().borrow().clone();
    assert_eq!((status.committed, status.unrecorded), (1, 3));
    assert!(status.failing.is_some(), "still not recording");
    within("the close", store.close()).await;

    let store = Store::open_existing(dir.path().join("onair.db")).await.unwrap();
    let stored = store.events(&EventQuery::all()).await.unwrap();
    let ids: Vec<_> = stored.iter().map(|e| e.source_id.clone()).collect();
    assert_eq!(ids, [Some("follow-0".to_owned())], "only what was committed");
}

#[tokio::test]
async fn told_to_stop_retrying_a_healthy_writer_goes_on_committing() {
    let (store, _dir) = temp_store().await;
    let writer = store.writer();
    writer.stop_retrying();
    for n in 0..3 {
        within("the commit", writer.append_and_wait(follow(n)))
            .await
            .unwrap();
    }
    let status = writer.status().borrow().clone();
    assert_eq!(
        (status.committed, status.unrecorded, status.failing),
        (3, 0, None)
    );
    store.close().await;
}

async fn count(conn: &mut SqliteConnection) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn readers_never_block_the_writer_and_keep_their_snapshot() {
    let (store, _dir) = temp_store().await;
    let writer = store.writer();
    writer.append_and_wait(follow(0)).await.unwrap();

    let mut reader = outside_connection(&store).await;
    sqlx::query("BEGIN").execute(&mut reader).await.unwrap();
    assert_eq!(count(&mut reader).await, 1);
    // The reader holds an open read transaction; the writer commits anyway.
    for n in 1..=100 {
        writer.append_detached(follow(n)).await.unwrap();
    }
    within("commits under an open reader", writer.flush())
        .await
        .unwrap();
    assert_eq!(count(&mut reader).await, 1, "the snapshot does not move");
    sqlx::query("COMMIT").execute(&mut reader).await.unwrap();
    assert_eq!(count(&mut reader).await, 101);
}

#[tokio::test]
async fn readers_only_see_whole_transactions() {
    let (store, _dir) = temp_store().await;
    let writer = store.writer();
    let producer = tokio::spawn(async move {
        for n in 0..3000 {
            writer.append_detached(follow(n)).await.unwrap();
        }
        writer.flush().await.unwrap();
    });
    let mut reader = outside_connection(&store).await;
    let mut samples = 0;
    let mut last = 0;
    loop {
        let done = producer.is_finished();
        // One statement, one snapshot: events and their projection rows must always agree.
        let row =
            sqlx::query("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM follower_history)")
                .fetch_one(&mut reader)
                .await
                .unwrap();
        let (events, follows): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!(events, follows, "a reader saw an event without its projection");
        assert!(events >= last, "committed events never disappear");
        last = events;
        samples += 1;
        if done {
            break;
        }
        tokio::task::yield_now().await;
    }
    producer.await.unwrap();
    assert_eq!(last, 3000);
    assert!(samples > 1);
    reader.close().await.unwrap();
}

#[tokio::test]
async fn a_full_batch_commits_without_waiting_for_the_linger() {
    let batch = BatchOptions {
        max_events: 4,
        linger: Duration::from_secs(3600),
        queue: 64,
    };
    let (store, _dir) = temp_store_with(|o| o.batch = batch).await;
    let writer = store.writer();
    let mut receipts = Vec::new();
    for n in 0..4 {
        receipts.push(writer.append(follow(n)).await.unwrap());
    }
    for receipt in receipts {
        within("a full batch's commit", receipt.committed())
            .await
            .unwrap();
    }
    assert_eq!(
        writer.status().borrow().batches,
        1,
        "one transaction for the four"
    );
}

#[tokio::test]
async fn connection_states_are_logged_in_order() {
    let (store, _dir) = temp_store().await;
    let writer = store.writer();
    let id = ConnectionId::new(Platform::Kick, "nebulacast");
    let states = [
        ConnectionState::Connecting,
        ConnectionState::Connected { session: None },
        ConnectionState::Reconnecting {
            attempt: 1,
            next_in: Duration::from_millis(1000),
        },
        ConnectionState::Failed {
            reason: "Kick refused the app key; update OnAir".into(),
        },
    ];
    for state in &states {
        writer.record_state(&id, state).await.unwrap();
    }
    writer.flush().await.unwrap();
    let mut conn = outside_connection(&store).await;
    let rows = sqlx::query("SELECT platform, connection, state, detail FROM connection_log ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let logged: Vec<(String, String, String, ConnectionState)> = rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                serde_json::from_str(r.get::<&str, _>(3)).unwrap(),
            )
        })
        .collect();
    let expected: Vec<_> = states
        .iter()
        .map(|s| {
            (
                "kick".to_owned(),
                "nebulacast".to_owned(),
                s.name().to_owned(),
                s.clone(),
            )
        })
        .collect();
    assert_eq!(logged, expected);
}

#[tokio::test]
async fn closing_commits_what_was_queued_and_later_appends_fail_clearly() {
    let (store, dir) = temp_store().await;
    let writer = store.writer();
    for n in 0..50 {
        writer.append_detached(follow(n)).await.unwrap();
    }
    store.close().await;
    let err = writer.append(follow(99)).await.unwrap_err();
    assert!(err.to_string().contains("stopped"), "{err}");
    let store = Store::open_existing(dir.path().join("onair.db")).await.unwrap();
    assert_eq!(store.stats().await.unwrap().events, 50);
}

#[tokio::test]
async fn opening_a_missing_database_without_create_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.db");
    let err = Store::open_existing(&path).await.err().unwrap().to_string();
    assert!(
        err.contains("no OnAir database at") && err.contains("--db"),
        "{err}"
    );
    assert!(!path.exists(), "nothing created");
}

#[tokio::test]
async fn a_database_locked_by_another_program_says_so() {
    let (store, dir) = temp_store().await;
    let path = store.path().to_owned();
    store.close().await;
    // Another program takes the file for itself.
    let mut holder = SqliteConnectOptions::new()
        .filename(&path)
        .connect()
        .await
        .unwrap();
    sqlx::query("PRAGMA locking_mode = EXCLUSIVE")
        .execute(&mut holder)
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut holder).await.unwrap();
    sqlx::query("DELETE FROM connection_log")
        .execute(&mut holder)
        .await
        .unwrap();

    let options = onair_store::StoreOptions {
        busy_timeout: Duration::from_millis(50),
        ..onair_store::StoreOptions::new(dir.path().join("onair.db"))
    };
    let err = Store::open_with(options)
        .await
        .err()
        .expect("the lock is held")
        .to_string();
    assert!(
        err.contains("is locked by another program") && err.contains("close the other OnAir"),
        "{err}"
    );
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
}

#[tokio::test]
async fn an_event_sqlite_refuses_for_good_is_answered_and_the_rest_of_its_batch_commits() {
    let batch = BatchOptions {
        max_events: 64,
        linger: Duration::from_secs(3600),
        queue: 64,
    };
    let (store, _dir) = temp_store_with(|o| o.batch = batch).await;
    // A rule the data breaks (as a damaged or hand-edited schema would have).
    let mut conn = outside_connection(&store).await;
    sqlx::query(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON events WHEN NEW.source_id = 'follow-13' \
         BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let writer = store.writer();
    writer
        .record_state(
            &ConnectionId::new(Platform::Kick, "x"),
            &ConnectionState::Connected { session: None },
        )
        .await
        .unwrap();
    let mut receipts = Vec::new();
    for n in 10..15 {
        receipts.push(writer.append(follow(n)).await.unwrap());
    }
    writer.flush().await.unwrap();
    let mut refused = Vec::new();
    for receipt in receipts {
        match receipt.committed().await {
            Ok(appended) => assert!(!appended.duplicate),
            Err(e) => refused.push(e.to_string()),
        }
    }
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("refused event") && refused[0].contains("poisoned"),
        "{refused:?}"
    );
    let status = writer.status().borrow().clone();
    assert_eq!((status.committed, status.rejected, status.failing), (4, 1, None));
    let stats = store.stats().await.unwrap();
    assert_eq!(
        (
            stats.events,
            stats.rows.follower_history,
            stats.rows.connection_log
        ),
        (4, 4, 1)
    );
}
