//! The checkpointer: copies committed WAL pages back into the database file on a connection (and so a
//! thread) of its own, after each commit, so the writer's transactions do not pay for checkpoints. The
//! writer keeps SQLite's automatic checkpoint only as a backstop for a WAL that grows past
//! [`WAL_BACKSTOP_PAGES`].

use sqlx::SqliteConnection;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::WriterStatus;

/// WAL size (pages) at which the writer checkpoints by itself, should this task fall behind.
pub(crate) const WAL_BACKSTOP_PAGES: u32 = 8192;

/// Runs until the writer's status channel closes (the writer stopped).
pub(crate) async fn run(mut conn: SqliteConnection, mut commits: watch::Receiver<WriterStatus>) {
    while commits.changed().await.is_ok() {
        commits.mark_unchanged();
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await
        {
            Ok((_, wal_pages, copied)) => debug!(wal_pages, copied, "checkpoint"),
            Err(e) => {
                warn!(error = %e, "background checkpoint failed; the writer's own checkpoint will cover it")
            }
        }
    }
}
