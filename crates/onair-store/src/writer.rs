//! The single writer task: it owns the only writing connection, gathers what callers append into
//! batches (flushed when full or after a short linger), commits each batch in one transaction, and never
//! drops an event. When SQLite is busy or the disk fails it retries with backoff and says so in its
//! [`WriterStatus`]; an event SQLite refuses for good is answered with [`StoreError::Rejected`] and logged.
//! A program that must end while writes keep failing tells it to stop retrying ([`Writer::stop_retrying`]):
//! what could not be written is then answered with [`StoreError::NotRecorded`] and counted, never dropped
//! unsaid.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::Utc;
use onair_core::{ChannelRef, ConnectionId, ConnectionState, Event, EventKind, Platform};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{error, warn};

use crate::StoreError;
use crate::batch::{Appended, BatchWriter, StateChange};

/// How the writer batches.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Commit once this many events are gathered.
    pub max_events: usize,
    /// Commit at most this long after the first event of a batch arrived.
    pub linger: Duration,
    /// How many appends may wait for the writer before `append` itself waits (back-pressure).
    pub queue: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            max_events: 2048,
            linger: Duration::from_millis(2),
            queue: 16 * 1024,
        }
    }
}

/// The writer's health, published after every batch and every failed try.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WriterStatus {
    /// Events committed since the store was opened (duplicates not counted).
    pub committed: u64,
    /// Duplicates recognised and skipped.
    pub duplicates: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Events refused for good (each answered with an error and logged).
    pub rejected: u64,
    /// Events not recorded because writes still failed after [`Writer::stop_retrying`] (each answered
    /// with [`StoreError::NotRecorded`]).
    pub unrecorded: u64,
    /// While a batch keeps failing: what SQLite said and how many tries so far. `None` when healthy.
    pub failing: Option<WriteFailure>,
}

/// A batch that has not committed yet and is being retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteFailure {
    /// SQLite's error, for people.
    pub error: String,
    /// What kind of trouble it is.
    pub cause: FailureCause,
    /// Tries so far.
    pub attempts: u32,
    /// Events waiting in the failing batch.
    pub waiting: usize,
}

/// Why writes fail, in the terms a user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCause {
    /// Another program holds the write lock longer than the busy timeout.
    Locked,
    /// The disk (or the file's size limit) is full.
    DiskFull,
    /// The database file (or its folder) cannot be written, on a disk that can.
    ReadOnly,
    /// The disk (file system) that holds the database refuses every write: the system made it read-only,
    /// as it does after a disk error.
    DiskReadOnly,
    /// The disk reported an error.
    Disk,
    /// SQLite found the file damaged.
    Damaged,
    /// Anything else.
    Other,
}

impl FailureCause {
    /// What is wrong, in a few words for people (the start of [`WriteFailure::advice`], and what `onair run`
    /// says of the events it stopped without).
    pub fn what(self) -> &'static str {
        match self {
            FailureCause::Locked => "another program holds the database's write lock",
            FailureCause::DiskFull => "the disk that holds the database is full",
            FailureCause::ReadOnly => "the database file cannot be written",
            FailureCause::DiskReadOnly => "the disk that holds the database became read-only",
            FailureCause::Disk => "the disk reported an error while writing the database",
            FailureCause::Damaged => "SQLite found the database damaged while writing",
            FailureCause::Other => "writing to the database fails",
        }
    }

    /// Classifies an error of a failed commit to the database at `path`.
    ///
    /// SQLite cannot tell a disk that turned read-only: a connection that was writing gets an I/O error
    /// (`SQLITE_IOERR`, the `write` failed with `EROFS`) and a new one opens the file read-only
    /// (`SQLITE_READONLY`). So for those two the disk itself is asked ([`disk_refuses_writes`]).
    pub(crate) fn of(e: &sqlx::Error, path: &Path) -> FailureCause {
        let cause = match crate::error::primary_code(e) {
            Some(5 | 6) => FailureCause::Locked,
            Some(13) => FailureCause::DiskFull,
            Some(8) => FailureCause::ReadOnly,
            Some(10 | 14 | 15) => FailureCause::Disk,
            Some(11 | 26) => FailureCause::Damaged,
            _ if matches!(e, sqlx::Error::Io(_)) => FailureCause::Disk,
            _ => FailureCause::Other,
        };
        match cause {
            FailureCause::ReadOnly | FailureCause::Disk if disk_refuses_writes(path) => {
                FailureCause::DiskReadOnly
            }
            cause => cause,
        }
    }
}

/// Whether the file system holding the database at `path` refuses every write (`EROFS`): mounted
/// read-only, or made read-only by the system after an error. The mount's flags cannot tell the latter
/// (Linux's ext4 with `errors=remount-ro` keeps the mount `rw` and marks it `emergency_ro`; `statvfs`
/// says writable), so a write is tried: an unnamed temporary file in the database's folder (`O_TMPFILE`
/// on Linux), which leaves nothing behind. The database and its `-wal` and `-shm` are never opened here:
/// closing another descriptor of a file drops every lock SQLite holds on it in this process.
pub(crate) fn disk_refuses_writes(path: &Path) -> bool {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    matches!(tempfile::tempfile_in(folder), Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem)
}

impl WriteFailure {
    /// What is wrong and what to do, in a sentence for people (the app's banner, `onair`'s output).
    pub fn advice(&self) -> String {
        let what = self.cause.what();
        let todo = match self.cause {
            FailureCause::Locked => " (a long query or a backup in another tool?): close it",
            FailureCause::DiskFull => ": free some space on it",
            FailureCause::ReadOnly => " (its permissions, or its folder's, changed?): make it writable again",
            FailureCause::DiskReadOnly => {
                // Repairing such a disk means unmounting it, which OnAir's open files prevent: say that
                // quitting is likely, and what it costs.
                return format!(
                    "{what}, as the system does after a disk error: check and repair that disk (this usually \
                     means quitting OnAir first), then start OnAir again. Events received meanwhile wait in \
                     memory: they are recorded if the disk becomes writable while OnAir runs, and lost when it \
                     quits (SQLite says: {})",
                    self.error
                );
            }
            FailureCause::Disk => ": check the disk",
            FailureCause::Damaged => {
                ": quit OnAir, then move the file aside (`onair db move-aside`) to start a new one"
            }
            FailureCause::Other => "",
        };
        // Only what stays true while the failure lasts (a banner shows it until the cause changes).
        format!(
            "{what}{todo}. Events wait in memory and recording resumes by itself once writes succeed (SQLite \
             says: {})",
            self.error
        )
    }
}

/// The names of the metrics the writer records (through the `metrics` facade).
pub mod metric {
    /// Histogram: seconds each transaction took to commit.
    pub const COMMIT_SECONDS: &str = "onair_store_commit_seconds";
    /// Histogram: events per transaction.
    pub const BATCH_EVENTS: &str = "onair_store_batch_events";
    /// Counter: events committed.
    pub const COMMITTED: &str = "onair_store_events_committed_total";
    /// Counter: duplicates recognised and skipped.
    pub const DUPLICATES: &str = "onair_store_duplicates_total";
    /// Counter: events refused for good.
    pub const REJECTED: &str = "onair_store_events_rejected_total";
    /// Counter: events not recorded because writes still failed after the writer was told to stop
    /// retrying (`onair run` stopped while the database could not be written).
    pub const UNRECORDED: &str = "onair_store_events_unrecorded_total";
    /// Counter: failed tries of a transaction that was then retried.
    pub const RETRIES: &str = "onair_store_write_retries_total";
    /// Counter: events newly recorded (not duplicates), by `platform` and `kind`.
    pub const INGESTED: &str = "onair_events_ingested_total";
    /// Gauge: commands waiting for the writer after its last commit (how far behind it is).
    pub const QUEUED: &str = "onair_store_writer_queued";
    /// Histogram: seconds from an event's arrival to its commit, for the oldest event of each batch.
    pub const LAG_SECONDS: &str = "onair_store_writer_lag_seconds";
}

type Reply = oneshot::Sender<Result<Appended, StoreError>>;

// Appends are nearly every command: boxing the event would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Command {
    Append(Event, Option<Reply>),
    Channel(Platform, ChannelRef),
    State(Box<StateChange>),
    Flush(oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

/// A handle to the writer; cheap to clone, one per producer.
#[derive(Clone)]
pub struct Writer {
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<WriterStatus>,
    /// Set by [`Writer::stop_retrying`]; the task watches it.
    give_up: Arc<watch::Sender<bool>>,
}

/// The promise of a commit, returned by [`Writer::append`].
#[derive(Debug)]
pub struct Receipt(oneshot::Receiver<Result<Appended, StoreError>>);

impl Receipt {
    /// Waits until the event is committed (or found to be a duplicate).
    pub async fn committed(self) -> Result<Appended, StoreError> {
        self.0.await.map_err(|_| StoreError::WriterStopped)?
    }
}

impl Writer {
    /// Queues `event`, waiting only while the queue is full; the receipt resolves at commit.
    pub async fn append(&self, event: Event) -> Result<Receipt, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Append(event, Some(tx))).await?;
        Ok(Receipt(rx))
    }

    /// Queues `event` and waits for its commit.
    pub async fn append_and_wait(&self, event: Event) -> Result<Appended, StoreError> {
        self.append(event).await?.committed().await
    }

    /// Queues `event` without a receipt: failures still reach the log and the status.
    pub async fn append_detached(&self, event: Event) -> Result<(), StoreError> {
        self.send(Command::Append(event, None)).await
    }

    /// Records a connection's state change in `connection_log`, in order with the events around it.
    pub async fn record_state(&self, id: &ConnectionId, state: &ConnectionState) -> Result<(), StoreError> {
        let change = StateChange {
            id: id.clone(),
            state: state.clone(),
            at: Utc::now(),
        };
        self.send(Command::State(Box::new(change))).await
    }

    /// Records a channel and its ids (a look-up's result) before any of its events arrive, so the next
    /// start finds them in the store.
    pub async fn remember_channel(&self, platform: Platform, channel: ChannelRef) -> Result<(), StoreError> {
        self.send(Command::Channel(platform, channel)).await
    }

    /// Waits until everything queued before this call is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Flush(tx)).await?;
        rx.await.map_err(|_| StoreError::WriterStopped)
    }

    /// The writer's health, updated after every batch.
    pub fn status(&self) -> watch::Receiver<WriterStatus> {
        self.status.clone()
    }

    /// Stops retrying writes that fail, for a program that has to end while the database cannot be
    /// written (`onair run` stopped while the disk is read-only). A healthy writer goes on committing; from
    /// its next failed try on (at once if it is failing now) nothing more is written: the failing batch
    /// and everything appended after it are answered with [`StoreError::NotRecorded`] and counted in
    /// [`WriterStatus::unrecorded`], and flushes and the store's close return instead of waiting. Cannot be
    /// undone.
    pub fn stop_retrying(&self) {
        self.give_up.send_replace(true);
    }

    pub(crate) async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.send(Command::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    async fn send(&self, command: Command) -> Result<(), StoreError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| StoreError::WriterStopped)
    }
}

/// Starts the writer task on `conn`.
pub(crate) fn spawn(writer: BatchWriter, options: BatchOptions) -> (Writer, tokio::task::JoinHandle<()>) {
    let (commands, rx) = mpsc::channel(options.queue.max(1));
    let (status_tx, status) = watch::channel(WriterStatus::default());
    let (give_up, given_up) = watch::channel(false);
    let task = tokio::spawn(
        WriterTask {
            writer,
            options,
            status: status_tx,
            give_up: given_up,
            stopped: None,
        }
        .run(rx),
    );
    let give_up = Arc::new(give_up);
    (
        Writer {
            commands,
            status,
            give_up,
        },
        task,
    )
}

#[derive(Default)]
struct Batch {
    channels: Vec<(Platform, ChannelRef)>,
    events: Vec<Event>,
    replies: Vec<Option<Reply>>,
    states: Vec<StateChange>,
    flushed: Vec<oneshot::Sender<()>>,
    close: Option<oneshot::Sender<()>>,
}

impl Batch {
    /// Adds a command; returns true when the batch must be committed now.
    fn add(&mut self, command: Command) -> bool {
        match command {
            Command::Append(event, reply) => {
                self.events.push(event);
                self.replies.push(reply);
                false
            }
            Command::State(change) => {
                self.states.push(*change);
                false
            }
            Command::Channel(platform, channel) => {
                self.channels.push((platform, channel));
                false
            }
            Command::Flush(done) => {
                self.flushed.push(done);
                true
            }
            Command::Close(done) => {
                self.close = Some(done);
                true
            }
        }
    }
}

struct WriterTask {
    writer: BatchWriter,
    options: BatchOptions,
    status: watch::Sender<WriterStatus>,
    /// Whether to stop retrying ([`Writer::stop_retrying`]).
    give_up: watch::Receiver<bool>,
    /// Once writes failed after being told to stop retrying: the last error. Nothing is tried any more.
    stopped: Option<String>,
}

/// Why a batch did not commit.
enum Unwritten {
    /// SQLite refuses it for good (see [`is_permanent`]).
    Refused(sqlx::Error),
    /// Writes fail and the writer was told to stop retrying (the error is kept in `WriterTask::stopped`).
    GaveUp,
}

impl WriterTask {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        loop {
            let mut batch = Batch::default();
            let Some(first) = rx.recv().await else { break };
            let mut now = batch.add(first);
            let deadline = Instant::now() + self.options.linger;
            while !now && batch.events.len() < self.options.max_events {
                let next = match rx.try_recv() {
                    Ok(command) => Some(command),
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        tokio::time::timeout_at(deadline, rx.recv()).await.ok().flatten()
                    }
                };
                match next {
                    Some(command) => now = batch.add(command),
                    None => break,
                }
            }
            let close = batch.close.take();
            self.commit(batch).await;
            metrics::gauge!(metric::QUEUED).set(rx.len() as f64);
            if let Some(done) = close {
                let _ = done.send(());
                break;
            }
        }
        // Closed: nothing more arrives. Give the WAL back to the main file while we own the only writer.
        let checkpoint = match self.writer.connection().await {
            Ok(conn) => sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(conn)
                .await
                .map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = checkpoint {
            warn!(error = %e, "could not checkpoint the database at close");
        }
    }

    /// Commits a batch, retrying transient failures until they pass (or until told to stop retrying);
    /// never returns with an event unanswered.
    async fn commit(&mut self, batch: Batch) {
        if !batch.events.is_empty() || !batch.states.is_empty() || !batch.channels.is_empty() {
            let events: Vec<&Event> = batch.events.iter().collect();
            match self
                .commit_retrying(&batch.channels, &events, &batch.states)
                .await
            {
                Ok(outcome) => {
                    count_ingested(&events, &outcome);
                    answer(
                        &self.status,
                        batch.replies.into_iter().zip(outcome.into_iter().map(Ok)),
                    );
                }
                Err(Unwritten::GaveUp) => {
                    self.not_recorded(&events, batch.replies, batch.states.len() + batch.channels.len());
                }
                Err(Unwritten::Refused(first_error)) => {
                    // Something in the batch can never commit: commit the rest one by one, so only the
                    // events at fault are refused (answered with the error, and logged in full).
                    warn!(error = %first_error, events = events.len(), "batch refused; committing its parts one by one");
                    if !batch.states.is_empty() || !batch.channels.is_empty() {
                        match self.commit_retrying(&batch.channels, &[], &batch.states).await {
                            Ok(_) => {}
                            Err(Unwritten::Refused(e)) => {
                                error!(error = %e, "connection states or channels refused by the store; they are not logged");
                            }
                            Err(Unwritten::GaveUp) => {
                                self.not_recorded(&[], Vec::new(), batch.states.len() + batch.channels.len());
                            }
                        }
                    }
                    // Once writes fail after being told to stop retrying, the rest are not tried.
                    let (mut unwritten, mut unanswered) = (Vec::new(), Vec::new());
                    for (event, reply) in events.into_iter().zip(batch.replies) {
                        let result = match self.commit_retrying(&[], &[event], &[]).await {
                            Ok(mut one) => {
                                count_ingested(&[event], &one);
                                Ok(one.remove(0))
                            }
                            Err(Unwritten::Refused(e)) => Err(reject(event, e)),
                            Err(Unwritten::GaveUp) => {
                                unwritten.push(event);
                                unanswered.push(reply);
                                continue;
                            }
                        };
                        answer(&self.status, std::iter::once((reply, result)));
                    }
                    if !unwritten.is_empty() {
                        self.not_recorded(&unwritten, unanswered, 0);
                    }
                }
            }
        }
        for done in batch.flushed {
            let _ = done.send(());
        }
    }

    /// Answers `events` (and their `replies`) with [`StoreError::NotRecorded`] once writes failed after
    /// [`Writer::stop_retrying`], counts them, and logs them with the `others` (connection states and
    /// channels) that were not written either.
    fn not_recorded(&self, events: &[&Event], replies: Vec<Option<Reply>>, others: usize) {
        let detail = self.stopped.clone().unwrap_or_default();
        if !events.is_empty() || others > 0 {
            warn!(events = events.len(), others, error = %detail, "not recorded: writes fail and the writer stopped retrying");
        }
        let n = events.len() as u64;
        for reply in replies.into_iter().flatten() {
            let _ = reply.send(Err(StoreError::NotRecorded {
                detail: detail.clone(),
            }));
        }
        metrics::counter!(metric::UNRECORDED).increment(n);
        self.status.send_modify(|s| s.unrecorded += n);
    }

    /// Tries until the batch commits, fails for a reason retrying cannot fix, or fails after the writer
    /// was told to stop retrying (then nothing more is tried: every later batch gives up at once).
    async fn commit_retrying(
        &mut self,
        channels: &[(Platform, ChannelRef)],
        events: &[&Event],
        states: &[StateChange],
    ) -> Result<Vec<Appended>, Unwritten> {
        if self.stopped.is_some() {
            return Err(Unwritten::GaveUp);
        }
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(10))
            .with_max_delay(Duration::from_secs(5))
            .with_jitter()
            .without_max_times()
            .build();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let started = std::time::Instant::now();
            match self.writer.commit(channels, events, states).await {
                Ok(outcome) => {
                    metrics::histogram!(metric::COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
                    metrics::histogram!(metric::BATCH_EVENTS).record(events.len() as f64);
                    self.status.send_modify(|s| {
                        s.failing = None;
                        s.batches += 1;
                    });
                    return Ok(outcome);
                }
                Err(e) if is_permanent(&e) => return Err(Unwritten::Refused(e)),
                Err(e) => {
                    let failure = WriteFailure {
                        error: e.to_string(),
                        cause: FailureCause::of(&e, self.writer.path()),
                        attempts,
                        waiting: events.len(),
                    };
                    self.status.send_modify(|s| s.failing = Some(failure));
                    if *self.give_up.borrow() {
                        warn!(error = %e, attempts, "store write failed; not retrying, as asked");
                        self.stopped = Some(e.to_string());
                        return Err(Unwritten::GaveUp);
                    }
                    metrics::counter!(metric::RETRIES).increment(1);
                    let delay = delays.next().unwrap_or(Duration::from_secs(5));
                    warn!(error = %e, attempts, retry_in_ms = delay.as_millis(), "store write failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = told_to_give_up(&mut self.give_up) => {
                            warn!(error = %e, attempts, "store write failed; not retrying, as asked");
                            self.stopped = Some(e.to_string());
                            return Err(Unwritten::GaveUp);
                        }
                    }
                }
            }
        }
    }
}

/// Completes once the writer is told to stop retrying; never if every handle is gone without telling it.
async fn told_to_give_up(give_up: &mut watch::Receiver<bool>) {
    if give_up.wait_for(|given_up| *given_up).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Counts the newly recorded events of a commit by platform and kind, and the arrival-to-commit lag of the
/// oldest.
fn count_ingested(events: &[&Event], outcome: &[Appended]) {
    let mut counts: Vec<((Platform, EventKind), u64)> = Vec::new();
    for (event, appended) in events.iter().zip(outcome) {
        if appended.duplicate {
            continue;
        }
        let key = (event.platform, event.kind());
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    for ((platform, kind), n) in counts {
        metrics::counter!(metric::INGESTED, "platform" => platform.as_str(), "kind" => kind.as_str())
            .increment(n);
    }
    if let Some(oldest) = events.iter().map(|e| e.received_at).min() {
        let lag = (Utc::now() - oldest).to_std().unwrap_or_default();
        metrics::histogram!(metric::LAG_SECONDS).record(lag.as_secs_f64());
    }
}

fn answer(
    status: &watch::Sender<WriterStatus>,
    results: impl Iterator<Item = (Option<Reply>, Result<Appended, StoreError>)>,
) {
    let (mut committed, mut duplicates, mut rejected) = (0, 0, 0);
    for (reply, result) in results {
        match &result {
            Ok(a) if a.duplicate => duplicates += 1,
            Ok(_) => committed += 1,
            Err(_) => rejected += 1,
        }
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }
    metrics::counter!(metric::COMMITTED).increment(committed);
    metrics::counter!(metric::DUPLICATES).increment(duplicates);
    metrics::counter!(metric::REJECTED).increment(rejected);
    status.send_modify(|s| {
        s.committed += committed;
        s.duplicates += duplicates;
        s.rejected += rejected;
    });
}

fn reject(event: &Event, e: sqlx::Error) -> StoreError {
    error!(error = %e, event = %event.to_json_line(), "the store refused an event for good");
    StoreError::Rejected {
        id: event.id,
        kind: event.kind(),
        detail: e.to_string(),
    }
}

/// Errors that no retry can fix: the data itself is refused (constraints, types, sizes).
fn is_permanent(e: &sqlx::Error) -> bool {
    match e {
        // SQLITE_TOOBIG 18, SQLITE_CONSTRAINT 19, SQLITE_MISMATCH 20, SQLITE_RANGE 25.
        sqlx::Error::Database(_) => matches!(crate::error::primary_code(e), Some(18 | 19 | 20 | 25)),
        sqlx::Error::Encode(_) | sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(cause: FailureCause) -> WriteFailure {
        WriteFailure {
            error: "disk I/O error".to_owned(),
            cause,
            attempts: 1,
            waiting: 3,
        }
    }

    #[test]
    fn an_io_error_on_a_writable_disk_is_a_disk_error_not_a_read_only_disk() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("onair.db");
        assert!(!disk_refuses_writes(&db));
        assert!(
            !disk_refuses_writes(Path::new("onair.db")),
            "a bare name is in the current folder"
        );
        let e = sqlx::Error::Io(std::io::Error::other("boom"));
        assert_eq!(FailureCause::of(&e, &db), FailureCause::Disk);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the probe leaves nothing behind"
        );
    }

    #[test]
    fn each_cause_says_what_is_wrong_and_what_to_do() {
        let read_only = failure(FailureCause::DiskReadOnly).advice();
        assert!(
            read_only.starts_with(
                "the disk that holds the database became read-only, as the system does after a disk error: \
                 check and repair that disk"
            ) && read_only.contains("lost when it quits")
                && read_only.ends_with("(SQLite says: disk I/O error)"),
            "{read_only}"
        );
        let file = failure(FailureCause::ReadOnly).advice();
        assert!(
            file.starts_with("the database file cannot be written")
                && file.contains("make it writable again"),
            "{file}"
        );
        for cause in [
            FailureCause::Locked,
            FailureCause::DiskFull,
            FailureCause::ReadOnly,
            FailureCause::DiskReadOnly,
            FailureCause::Disk,
            FailureCause::Damaged,
            FailureCause::Other,
        ] {
            assert!(failure(cause).advice().starts_with(cause.what()), "{cause:?}");
        }
    }
}
