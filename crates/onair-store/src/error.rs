//! The store's errors: each variant is a situation a caller can act on, and its message says what
//! happened and what to do.

use std::path::PathBuf;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Asked to open a database that does not exist (and not to create it).
    #[error(
        "no OnAir database at {path}: it is created the first time OnAir records events \
         (the desktop app, `onair import`); pass --db PATH or set ONAIR_DB to use another file"
    )]
    Missing {
        /// The path looked at.
        path: PathBuf,
    },
    /// Another process holds a lock SQLite could not wait out.
    #[error(
        "the OnAir database at {path} is locked by another program; close the other OnAir \
         (or whatever holds the file) and try again"
    )]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// The file is not a database at all, or holds another program's database.
    #[error(
        "{path} is not an OnAir database ({detail}); OnAir changed nothing in it. Pass --db PATH (or set \
         ONAIR_DB) to use another file, or move this one aside (`onair db move-aside`, or the app offers to) \
         and OnAir starts a new database there"
    )]
    NotOnAir {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// SQLite found the file damaged.
    #[error(
        "the OnAir database at {path} is damaged ({source}); OnAir changed nothing in it. Move it aside \
         (`onair db move-aside`, or the app offers to) and OnAir starts a new database there; the old file \
         is kept, and `sqlite3 OLD .recover | sqlite3 NEW` saves what is still readable in it"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// SQLite's reason.
        #[source]
        source: sqlx::Error,
    },
    /// The file (or its folder, or disk) cannot be written.
    #[error(
        "the OnAir database at {path} cannot be written (the file, its folder or its disk is read-only): \
         make them writable (check their owner and permissions) and try again"
    )]
    ReadOnly {
        /// The file.
        path: PathBuf,
    },
    /// An unusable file could not be moved aside.
    #[error("could not move {path} aside: {source}; move or rename it yourself, then start OnAir again")]
    MoveAside {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The file cannot be opened at all (permissions, a missing folder, ...).
    #[error(
        "could not open the OnAir database at {path}: {source}; check that the path is an OnAir database and readable"
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        #[source]
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date.
    #[error(
        "could not upgrade the OnAir database at {path}: {source}; it may come from a newer OnAir — \
         update OnAir or use another --db"
    )]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The migrator's reason.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored row does not decode (a damaged or hand-edited database).
    #[error(
        "event at offset {offset} is damaged in the database ({detail}); run `onair db stats` to check the file"
    )]
    Corrupt {
        /// The offset of the bad row.
        offset: i64,
        /// What is wrong with it.
        detail: String,
    },
    /// A search text that full-text search cannot use.
    #[error(
        "cannot search for {text:?}: {detail}; search for words, e.g. --search \"gg wp\" or a prefix \"clut*\""
    )]
    BadSearch {
        /// The text given.
        text: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The writer refused an event for good (it would never commit); the event is returned in the log.
    #[error("the store refused event {id} ({kind}): {detail}")]
    Rejected {
        /// The event's id.
        id: uuid::Uuid,
        /// Its kind.
        kind: onair_core::EventKind,
        /// SQLite's reason.
        detail: String,
    },
    /// Writes kept failing after the writer was told to stop retrying ([`crate::Writer::stop_retrying`]):
    /// the event was not recorded.
    #[error(
        "the event was not recorded: the database could not be written ({detail}) and OnAir was stopping"
    )]
    NotRecorded {
        /// SQLite's last error.
        detail: String,
    },
    /// The writer has shut down; nothing more can be written.
    #[error("the store's writer has stopped; restart OnAir")]
    WriterStopped,
}

impl StoreError {
    /// Whether SQLite said the database is busy or locked (worth waiting and retrying).
    pub(crate) fn is_busy(err: &sqlx::Error) -> bool {
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with or without extended codes.
        matches!(primary_code(err), Some(5 | 6))
    }

    /// Maps an error met while opening `path` to the variant that tells the user what to do.
    pub(crate) fn opening(path: PathBuf, source: sqlx::Error) -> StoreError {
        match primary_code(&source) {
            Some(5 | 6) => StoreError::Locked { path },
            // SQLITE_NOTADB
            Some(26) => StoreError::NotOnAir {
                path,
                detail: "SQLite says it is not a database".to_owned(),
            },
            // SQLITE_CORRUPT
            Some(11) => StoreError::Damaged { path, source },
            // SQLITE_READONLY
            Some(8) => StoreError::ReadOnly { path },
            _ => StoreError::Open { path, source },
        }
    }

    /// Whether the file itself is the problem (not an OnAir database, or damaged): what the user can fix
    /// by moving it aside.
    pub fn is_unusable_file(&self) -> bool {
        matches!(self, StoreError::NotOnAir { .. } | StoreError::Damaged { .. })
    }
}

/// SQLite's primary result code of a database error (the extended code's low byte).
pub(crate) fn primary_code(err: &sqlx::Error) -> Option<i32> {
    match err {
        sqlx::Error::Database(db) => db.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff),
        _ => None,
    }
}
