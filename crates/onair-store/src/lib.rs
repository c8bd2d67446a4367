//! OnAir's store: one SQLite file (WAL, `synchronous=NORMAL`, foreign keys on) that is the source of truth
//! for every event.
//!
//! It owns the schema (`migrations/`, embedded), the single [`Writer`] task that batches appends into
//! transactions and applies the projections (followers, roles, subscriptions, bans, viewers) in the same
//! transaction as the event rows, and the read queries (on a separate reader pool). It knows nothing of
//! platforms' wire formats, Tauri or Socket.IO: it takes and returns `onair_core::Event`s.

mod batch;
mod checkpoint;
mod codec;
mod community;
mod error;
mod query;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};
use tokio::task::JoinHandle;

pub use batch::{Appended, dedup_key};
pub use community::CommunityReader;
pub use error::StoreError;
pub use query::{EventQuery, MinuteCount, StoreStats, TableRows, fts_query};
pub use writer::{BatchOptions, Receipt, WriteFailure, Writer, WriterStatus, metric};

/// The schema, applied in order at every open.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The default wait for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The database file.
    pub path: PathBuf,
    /// Create the file (and its folder) if it does not exist.
    pub create: bool,
    /// How the writer batches.
    pub batch: BatchOptions,
    /// How long a connection waits for another program's lock before reporting the database busy.
    pub busy_timeout: Duration,
}

impl StoreOptions {
    /// Options for `path`, creating it if missing, with default batching.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StoreOptions {
            path: path.into(),
            create: true,
            batch: BatchOptions::default(),
            busy_timeout: BUSY_TIMEOUT,
        }
    }
}

/// An open store: the writer task and a pool of readers.
pub struct Store {
    path: PathBuf,
    readers: SqlitePool,
    writer: Writer,
    task: JoinHandle<()>,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Store, StoreError> {
        Store::open_with(StoreOptions::new(path)).await
    }

    /// Opens the store at `path`, failing with [`StoreError::Missing`] if there is none.
    pub async fn open_existing(path: impl Into<PathBuf>) -> Result<Store, StoreError> {
        Store::open_with(StoreOptions {
            create: false,
            ..StoreOptions::new(path)
        })
        .await
    }

    /// Opens a store with explicit options.
    pub async fn open_with(options: StoreOptions) -> Result<Store, StoreError> {
        let path = options.path.clone();
        if !path.exists() {
            if !options.create {
                return Err(StoreError::Missing { path });
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                    path: path.clone(),
                    source: sqlx::Error::Io(e),
                })?;
            }
        }
        let base = connect_options(&path, options.busy_timeout);
        let mut conn = base
            .clone()
            .create_if_missing(options.create)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", checkpoint::WAL_BACKSTOP_PAGES.to_string())
            .connect()
            .await
            .map_err(|e| StoreError::opening(path.clone(), e))?;
        MIGRATOR.run(&mut conn).await.map_err(|source| match source {
            sqlx::migrate::MigrateError::Execute(e) if StoreError::is_busy(&e) => {
                StoreError::Locked { path: path.clone() }
            }
            source => StoreError::Migrate {
                path: path.clone(),
                source,
            },
        })?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .connect_with(base.clone().pragma("query_only", "ON"))
            .await
            .map_err(|e| StoreError::opening(path.clone(), e))?;
        let batch_writer = batch::BatchWriter::new(conn)
            .await
            .map_err(|e| StoreError::opening(path.clone(), e))?;
        let checkpointer = base
            .clone()
            .connect()
            .await
            .map_err(|e| StoreError::opening(path.clone(), e))?;
        let (writer, task) = writer::spawn(batch_writer, options.batch);
        tokio::spawn(checkpoint::run(checkpointer, writer.status()));
        Ok(Store {
            path,
            readers,
            writer,
            task,
        })
    }

    /// A handle to the writer (clone it for each producer).
    pub fn writer(&self) -> Writer {
        self.writer.clone()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Compacts the file (`VACUUM`), returning the bytes freed.
    pub async fn vacuum(&self) -> Result<u64, StoreError> {
        self.writer.flush().await?;
        let before = self.stats().await?.bytes;
        let mut conn = connect_options(&self.path, BUSY_TIMEOUT)
            .connect()
            .await
            .map_err(|e| StoreError::opening(self.path.clone(), e))?;
        sqlx::query("VACUUM").execute(&mut conn).await.map_err(|e| {
            if StoreError::is_busy(&e) {
                StoreError::Locked {
                    path: self.path.clone(),
                }
            } else {
                e.into()
            }
        })?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(before.saturating_sub(self.stats().await?.bytes))
    }

    /// Commits everything queued, stops the writer and closes the readers.
    pub async fn close(self) {
        self.writer.close().await;
        let _ = self.task.await;
        self.readers.close().await;
    }
}

fn connect_options(path: &Path, busy_timeout: Duration) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(busy_timeout)
        .pragma("cache_size", "-65536")
        .pragma("temp_store", "memory")
        .log_statements(log::LevelFilter::Trace)
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(2))
}
