//! Several stores on one database file, as when the app and `onair` commands share it: every event any of
//! them reports recorded is stored exactly once, offsets stay unique and increase in commit order, only the
//! same platform event is a duplicate, each store follows the others' commits, a new file opened by many
//! at once gets its schema once, and a file that is not OnAir's is refused and left as it was.
//! (`crates/onair/tests/shared_db.rs` does the same with real `onair` processes.)

#![allow(clippy::unwrap_used)] // A failed unwrap is how a test reports.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use onair_core::{Actor, Empty, Event, EventData, Platform, sample};
use onair_store::{Appended, EventQuery, Store, StoreError, StoreOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

fn follow(source_id: &str) -> Event {
    Event::new(Platform::Kick, sample::channel(), EventData::Follow(Empty {}))
        .with_actor(Actor::new(source_id.to_owned(), format!("viewer_{source_id}")))
        .with_source_id(source_id.to_owned())
}

/// Fails the test instead of hanging if `fut` never finishes.
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), fut)
        .await
        .unwrap_or_else(|_| panic!("{what} never happened"))
}

/// Appends `events` through `store`, in small bursts so that the two stores' batches interleave, and
/// returns each event's source id with its receipt's answer, in append order.
async fn record(store: &Store, events: Vec<Event>) -> Vec<(String, Appended)> {
    let writer = store.writer();
    let mut answers = Vec::new();
    for burst in events.chunks(50) {
        let mut receipts = Vec::new();
        for event in burst {
            let id = event.source_id.clone().unwrap();
            receipts.push((id, writer.append(event.clone()).await.unwrap()));
        }
        for (id, receipt) in receipts {
            answers.push((id, within("a commit", receipt.committed()).await.unwrap()));
        }
        tokio::task::yield_now().await;
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_writing_one_file_keep_every_event_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = Store::open(&path).await.unwrap();
    let b = Store::open(&path).await.unwrap();
    // Each store has events of its own, and both receive the same 100 (as two processes watching one
    // channel would): those are real duplicates, stored once.
    let shared: Vec<Event> = (0..100).map(|n| follow(&format!("both-{n}"))).collect();
    let mine = |who: &str| -> Vec<Event> {
        let own = (0..2000).map(|n| follow(&format!("{who}-{n}")));
        // The shared events come in the middle, so they race with the other store's copies.
        own.clone()
            .take(1000)
            .chain(shared.iter().cloned())
            .chain(own.skip(1000))
            .collect()
    };
    let (from_a, from_b) = tokio::join!(record(&a, mine("a")), record(&b, mine("b")));

    let stored = a.events(&EventQuery::all()).await.unwrap();
    assert_eq!(
        stored.len(),
        4100,
        "2000 + 2000 own events and the 100 shared ones once"
    );
    let by_source: BTreeMap<String, i64> = stored
        .iter()
        .map(|e| (e.source_id.clone().unwrap(), e.offset.unwrap().0))
        .collect();
    assert_eq!(by_source.len(), 4100, "no source id stored twice");
    let offsets: Vec<i64> = stored.iter().map(|e| e.offset.unwrap().0).collect();
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "offsets unique and ordered"
    );

    for (who, answers) in [("a", &from_a), ("b", &from_b)] {
        // Every receipt names the row that holds its event.
        for (id, appended) in answers.iter() {
            assert_eq!(
                Some(&appended.offset.0),
                by_source.get(id),
                "{who}: receipt of {id}"
            );
        }
        // Only the shared events may be duplicates.
        let own_duplicates: Vec<&String> = answers
            .iter()
            .filter(|(id, a)| a.duplicate && !id.starts_with("both-"))
            .map(|(id, _)| id)
            .collect();
        assert!(
            own_duplicates.is_empty(),
            "{who}: false duplicates {own_duplicates:?}"
        );
        // A writer commits in append order, and offsets follow commit order.
        let own: Vec<i64> = answers
            .iter()
            .filter(|(_, a)| !a.duplicate)
            .map(|(_, a)| a.offset.0)
            .collect();
        assert!(
            own.windows(2).all(|w| w[0] < w[1]),
            "{who}: offsets follow its commits"
        );
    }
    // Each shared event was new for exactly one of the two.
    for n in 0..100 {
        let id = format!("both-{n}");
        let firsts = [&from_a, &from_b]
            .iter()
            .filter(|answers| answers.iter().any(|(i, a)| *i == id && !a.duplicate))
            .count();
        assert_eq!(firsts, 1, "{id} recorded by exactly one store");
    }
    let (sa, sb) = (
        a.writer().status().borrow().clone(),
        b.writer().status().borrow().clone(),
    );
    assert_eq!(sa.committed + sb.committed, 4100);
    assert_eq!(sa.duplicates + sb.duplicates, 100);
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn a_store_follows_what_another_commits_to_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let mut options = StoreOptions::new(path.clone());
    options.foreign_poll = Duration::from_millis(20);
    let watching = Store::open_with(options).await.unwrap();
    let other = Store::open(&path).await.unwrap();
    let mut commits = watching.commits();
    commits.mark_unchanged();

    let appended = other
        .writer()
        .append_and_wait(follow("from-the-other"))
        .await
        .unwrap();
    within("the other store's commit to be signalled", commits.changed())
        .await
        .unwrap();
    let seen = watching
        .events(&EventQuery {
            after: Some(onair_core::Offset(0)),
            ..EventQuery::all()
        })
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].offset, Some(appended.offset));
    assert_eq!(seen[0].source_id.as_deref(), Some("from-the-other"));

    // Its own commits are signalled too.
    commits.mark_unchanged();
    watching.writer().append_and_wait(follow("own")).await.unwrap();
    within("its own commit to be signalled", commits.changed())
        .await
        .unwrap();
    watching.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_opening_a_new_file_at_once_all_get_one_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    // Spawned (which also proves `Store::open` can be sent to another thread, as the app needs).
    let opens: Vec<_> = (0..8).map(|_| tokio::spawn(Store::open(path.clone()))).collect();
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.unwrap().expect("everyone opening a new file succeeds"));
    }
    for (n, store) in stores.iter().enumerate() {
        store
            .writer()
            .append_and_wait(follow(&format!("opener-{n}")))
            .await
            .unwrap();
    }
    assert_eq!(stores[0].events(&EventQuery::all()).await.unwrap().len(), 8);
    let mut conn = SqliteConnectOptions::new()
        .filename(&path)
        .connect()
        .await
        .unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .unwrap()
        .count();
    assert_eq!(applied, migrations as i64, "each migration applied once");
    conn.close().await.unwrap();
    for store in stores {
        store.close().await;
    }
}

fn refused(result: Result<Store, StoreError>) -> StoreError {
    match result {
        Ok(_) => panic!("a file that is not OnAir's was opened"),
        Err(e) => e,
    }
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn another_programs_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let mut conn = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO notes (text) VALUES ('keep me')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let before = bytes(&path);

    let error = refused(Store::open(&path).await);
    assert!(matches!(error, StoreError::NotOnAir { .. }), "{error:?}");
    assert!(error.is_unusable_file());
    let message = error.to_string();
    assert!(message.contains("is not an OnAir database"), "{message}");
    assert!(message.contains("notes"), "says what it found: {message}");
    assert!(
        message.contains("changed nothing") && message.contains("--db"),
        "{message}"
    );
    assert_eq!(bytes(&path), before, "the file is untouched");
    assert!(
        !dir.path().join("notes.db-wal").exists(),
        "not even a WAL was made"
    );
}

#[tokio::test]
async fn a_file_that_is_no_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let text = b"{\"this is\": \"not a database, but a user's file given to --db by mistake\"}\n".repeat(100);
    std::fs::write(&path, &text).unwrap();

    let error = refused(Store::open(&path).await);
    assert!(matches!(error, StoreError::NotOnAir { .. }), "{error:?}");
    assert!(error.to_string().contains("not a database"), "{error}");
    assert_eq!(bytes(&path), text, "the file is untouched");
}

#[tokio::test]
async fn a_damaged_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onair.db");
    let store = Store::open(&path).await.unwrap();
    store.writer().append_and_wait(follow("one")).await.unwrap();
    store.vacuum().await.unwrap();
    store.close().await;
    // Scribble over the schema's page, past the file header: SQLite can no longer read the schema.
    let mut damaged = bytes(&path);
    for (i, byte) in damaged[100..4096].iter_mut().enumerate() {
        *byte = (i * 7 % 251) as u8;
    }
    std::fs::write(&path, &damaged).unwrap();

    let error = refused(Store::open(&path).await);
    assert!(error.is_unusable_file(), "{error:?}");
    assert!(error.to_string().contains("Move it aside"), "{error}");
    assert_eq!(bytes(&path), damaged, "the file is untouched");
}
