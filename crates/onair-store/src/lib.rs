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
mod commits;
mod community;
mod error;
mod query;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::migrate::MigrateError;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use batch::{Appended, dedup_key};
pub use community::CommunityReader;
pub use error::StoreError;
pub use query::{EventQuery, MinuteCount, StoreStats, TableRows, fts_query};
pub use writer::{BatchOptions, FailureCause, Receipt, WriteFailure, Writer, WriterStatus, metric};

/// The schema, applied in order at every open.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The table in which sqlx records OnAir's applied migrations.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

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
    /// How often to look for commits by other processes writing the same file (see [`Store::commits`]).
    pub foreign_poll: Duration,
}

impl StoreOptions {
    /// Options for `path`, creating it if missing, with default batching.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StoreOptions {
            path: path.into(),
            create: true,
            batch: BatchOptions::default(),
            busy_timeout: BUSY_TIMEOUT,
            foreign_poll: commits::FOREIGN_POLL,
        }
    }
}

/// An open store: the writer task and a pool of readers.
pub struct Store {
    path: PathBuf,
    readers: SqlitePool,
    writer: Writer,
    commits: watch::Receiver<u64>,
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
        let mut conn = writer_options(&base)
            .create_if_missing(options.create)
            .connect()
            .await
            .map_err(|e| StoreError::opening(path.clone(), e))?;
        conn = refuse_foreign(conn, path.clone()).await?;
        // Only now, the file being OnAir's (or new), may its journal mode change.
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&mut conn)
            .await
            .map_err(|e| StoreError::opening(path.clone(), e))?;
        let conn = migrate(conn, path.clone()).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .connect_with(base.clone().pragma("query_only", "ON"))
            .await
            .map_err(|e| StoreError::opening(path.clone(), e))?;
        let batch_writer = batch::BatchWriter::new(conn, writer_options(&base));
        let checkpointer = base
            .clone()
            .connect()
            .await
            .map_err(|e| StoreError::opening(path.clone(), e))?;
        let watcher = base
            .clone()
            .pragma("query_only", "ON")
            .connect()
            .await
            .map_err(|e| StoreError::opening(path.clone(), e))?;
        let (writer, task) = writer::spawn(batch_writer, options.batch);
        tokio::spawn(checkpoint::run(checkpointer, writer.status()));
        let commits = commits::spawn(watcher, writer.status(), options.foreign_poll);
        Ok(Store {
            path,
            readers,
            writer,
            commits,
            task,
        })
    }

    /// A handle to the writer (clone it for each producer).
    pub fn writer(&self) -> Writer {
        self.writer.clone()
    }

    /// A signal that changes after every commit to the database: at once for this store's writer, and
    /// within [`StoreOptions::foreign_poll`] for other processes writing the same file. Read what is new
    /// by offset when it changes (offsets increase in commit order, whoever commits).
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.commits.clone()
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

/// Moves the database file at `path` aside with its `-wal` and `-shm` companions, to
/// `<name>.unusable-<UTC time>` in the same folder, so that a new database can start at `path` (meant for
/// a file [`StoreError::is_unusable_file`] refused). Nothing is deleted; returns where the file went.
pub fn move_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let failed = |source| StoreError::MoveAside {
        path: path.to_owned(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| failed(std::io::Error::other("the path names no file")))?
        .to_string_lossy()
        .into_owned();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let (aside, mut n) = (path.with_file_name(format!("{name}.unusable-{stamp}")), 1);
    let mut target = aside.clone();
    while target.exists() {
        n += 1;
        target = aside.with_file_name(format!("{name}.unusable-{stamp}-{n}"));
    }
    std::fs::rename(path, &target).map_err(failed)?;
    for companion in ["-wal", "-shm"] {
        let from = path.with_file_name(format!("{name}{companion}"));
        if from.exists() {
            let to = target.with_file_name(format!(
                "{}{companion}",
                target.file_name().unwrap_or_default().to_string_lossy()
            ));
            std::fs::rename(&from, &to).map_err(failed)?;
        }
    }
    Ok(target)
}

/// Refuses a file that holds a database of another program: OnAir's schema would be added to it. A new
/// (empty) file, or one with OnAir's migrations table, is OnAir's.
async fn refuse_foreign(mut conn: SqliteConnection, path: PathBuf) -> Result<SqliteConnection, StoreError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| StoreError::opening(path.clone(), e))?;
    if tables.is_empty() || tables.iter().any(|t| t == MIGRATIONS_TABLE) {
        return Ok(conn);
    }
    let mut shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
    if tables.len() > shown.len() {
        shown.push("...");
    }
    Err(StoreError::NotOnAir {
        path,
        detail: format!("it holds other tables: {}", shown.join(", ")),
    })
}

/// Brings the schema up to date. Another process opening the same new (or older) file at the same moment
/// may apply a migration first, and ours then fails on a table that now exists; each migration is
/// recorded in the same transaction as its schema, so running the migrator again finds it done.
async fn migrate(mut conn: SqliteConnection, path: PathBuf) -> Result<SqliteConnection, StoreError> {
    let mut retries = MIGRATOR.migrations.len();
    loop {
        // run_direct, not run: run's Acquire bound makes the future Send only for one lifetime, and a
        // caller could then not spawn `Store::open` or await it in a Tauri command.
        match MIGRATOR.run_direct(None, &mut conn, false).await {
            Ok(()) => return Ok(conn),
            Err(MigrateError::Execute(_) | MigrateError::ExecuteMigration(..)) if retries > 0 => {
                retries -= 1;
            }
            Err(MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _))
                if StoreError::is_busy(&e) =>
            {
                return Err(StoreError::Locked { path });
            }
            Err(source) => {
                return Err(StoreError::Migrate { path, source });
            }
        }
    }
}

/// The writing connection's options: the common ones, and the WAL size at which it checkpoints by itself.
fn writer_options(base: &SqliteConnectOptions) -> SqliteConnectOptions {
    base.clone()
        .pragma("wal_autocheckpoint", checkpoint::WAL_BACKSTOP_PAGES.to_string())
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
