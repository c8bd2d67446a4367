//! The commit signal: a watch that changes after every commit to the database, whoever made it. This
//! process's writer signals at once; another process's commits (the app and `onair` sharing one file) are
//! noticed on a connection of this task's own by SQLite's `PRAGMA data_version`, which moves whenever
//! another connection commits. Followers (the window, notifications, the relay) then read what is new by
//! offset, so they show every writer's events, not only their own.

use std::time::Duration;

use sqlx::SqliteConnection;
use tokio::sync::watch;
use tracing::warn;

use crate::WriterStatus;

/// How often another process's commits are looked for, by default.
pub(crate) const FOREIGN_POLL: Duration = Duration::from_millis(100);

/// Starts the signal; it ends when the writer stops (its status channel closes).
pub(crate) fn spawn(
    mut conn: SqliteConnection,
    mut own: watch::Receiver<WriterStatus>,
    poll: Duration,
) -> watch::Receiver<u64> {
    let (signal, commits) = watch::channel(0u64);
    tokio::spawn(async move {
        let mut version = data_version(&mut conn).await;
        let mut ticks = tokio::time::interval(poll);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                changed = own.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    own.mark_unchanged();
                }
                _ = ticks.tick() => {
                    let now = data_version(&mut conn).await;
                    if now == version {
                        continue;
                    }
                    version = now;
                }
            }
            signal.send_modify(|n| *n = n.wrapping_add(1));
        }
    });
    commits
}

/// SQLite's count of other connections' commits as this connection sees it; `None` when it cannot be
/// read (logged; the next tick tries again and a change is then signalled).
async fn data_version(conn: &mut SqliteConnection) -> Option<i64> {
    match sqlx::query_scalar("PRAGMA data_version").fetch_one(conn).await {
        Ok(version) => Some(version),
        Err(e) => {
            warn!(error = %e, "could not ask the database for other processes' commits");
            None
        }
    }
}
