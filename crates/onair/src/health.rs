//! The store's health for people: turns the writer's status into the few notices a user needs (recording
//! is held up, and why and what to do; recording again), once per change rather than once per retry. The
//! app shows them as a banner and `onair` prints them. And what to do with a database file that cannot be
//! used at all: [`open_or_move_aside`].

use std::path::PathBuf;

use onair_store::{FailureCause, Store, StoreError, WriterStatus};
use tokio::sync::watch;

/// A change in whether events are being recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthNotice {
    /// Writes fail: what is wrong and what to do ([`onair_store::WriteFailure::advice`]).
    HeldUp(String),
    /// Writes succeed again; nothing that waited was lost.
    Recovered,
}

impl std::fmt::Display for HealthNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HealthNotice::HeldUp(advice) => write!(f, "recording is held up: {advice}"),
            HealthNotice::Recovered => f.write_str("recording again: every event that waited is now stored"),
        }
    }
}

/// Calls `notice` at each change of the writer's health until the writer stops: when writes start to
/// fail, when the cause changes, and when they succeed again.
pub async fn follow(mut status: watch::Receiver<WriterStatus>, mut notice: impl FnMut(HealthNotice)) {
    let mut shown: Option<FailureCause> = None;
    loop {
        let cause = status.borrow_and_update().failing.clone();
        match (shown, cause) {
            // Writes start to fail, or fail for another reason.
            (before, Some(failure)) if before != Some(failure.cause) => {
                shown = Some(failure.cause);
                notice(HealthNotice::HeldUp(failure.advice()));
            }
            (Some(_), None) => {
                shown = None;
                notice(HealthNotice::Recovered);
            }
            _ => {}
        }
        if status.changed().await.is_err() {
            return;
        }
    }
}

/// Opens the database at `path` (creating it if missing). When `move_aside` is asked and the file is one
/// OnAir cannot use ([`StoreError::is_unusable_file`]: another program's, or damaged), it is moved aside
/// first with [`onair_store::move_aside`] (kept, with its `-wal` and `-shm`) and a new database starts at
/// `path`; returns the store and where the old file went. A file that opens is never moved, and any other
/// error (locked, unreadable, from a newer OnAir) is returned as it is.
/// (The path is owned, which keeps the future `Send` for any caller, as `Store::open`'s.)
pub async fn open_or_move_aside(
    path: PathBuf,
    move_aside: bool,
) -> Result<(Store, Option<PathBuf>), StoreError> {
    match Store::open(path.clone()).await {
        Ok(store) => Ok((store, None)),
        Err(e) if move_aside && e.is_unusable_file() => {
            let aside = onair_store::move_aside(&path)?;
            tracing::warn!(from = %path.display(), to = %aside.display(), "moved an unusable database aside");
            let store = Store::open(path).await?;
            Ok((store, Some(aside)))
        }
        Err(e) => Err(e),
    }
}
