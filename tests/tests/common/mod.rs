//! Shared by the fault tests (`faults_*.rs`): a real store in a temporary folder fed by a connection's
//! event sink, the connection's state changes with the moment of each, and the checks every platform gets
//! (the backoff bounds, the connection back after a fault, nothing lost or doubled).
#![allow(dead_code)] // Each test file uses its part.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onair_core::{ConnectionState, Event};
use onair_pusher::BackoffPolicy;
use onair_store::{EventQuery, Store};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::{Instant, timeout};

/// Logs for a failing test: `RUST_LOG=onair_pusher=debug cargo test ...`.
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A real store (an SQLite file in a temporary folder) and the pump that appends what a connection sends.
pub struct Recorder {
    pub store: Store,
    /// The source ids the connection handed over so far (before the store committed them).
    received: watch::Receiver<BTreeSet<String>>,
    _dir: tempfile::TempDir,
}

impl Recorder {
    /// Opens the store; events sent on the returned sink are appended, in order, with back-pressure.
    pub async fn open() -> (Recorder, mpsc::Sender<Event>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("onair.db")).await.unwrap();
        let (sink, mut events) = mpsc::channel::<Event>(256);
        let (seen, received) = watch::channel(BTreeSet::new());
        let writer = store.writer();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let source = event.source_id.clone().unwrap_or_default();
                writer.append(event).await.unwrap();
                seen.send_modify(|s| {
                    s.insert(source);
                });
            }
        });
        (
            Recorder {
                store,
                received,
                _dir: dir,
            },
            sink,
        )
    }

    /// Waits until the connection has handed over the event with `source_id`, then until the store has
    /// committed everything appended before it.
    pub async fn wait_stored(&mut self, source_id: &str) {
        self.received
            .wait_for(|seen| seen.contains(source_id))
            .await
            .unwrap();
        self.store.writer().flush().await.unwrap();
    }

    /// Every stored event's source id, with how many rows carry it.
    pub async fn stored(&self) -> BTreeMap<String, usize> {
        let mut stored = BTreeMap::new();
        for event in self.store.events(&EventQuery::all()).await.unwrap() {
            *stored.entry(event.source_id.unwrap_or_default()).or_insert(0) += 1;
        }
        stored
    }
}

/// Asserts that exactly the `delivered` source ids are stored, each once.
pub fn assert_stored_once(stored: &BTreeMap<String, usize>, delivered: &BTreeSet<String>) {
    let doubled: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "stored more than once: {doubled:?}");
    let stored: BTreeSet<String> = stored.keys().cloned().collect();
    let lost: Vec<_> = delivered.difference(&stored).collect();
    let extra: Vec<_> = stored.difference(delivered).collect();
    assert!(
        lost.is_empty(),
        "{} delivered events were not stored (of {}): {:?}",
        lost.len(),
        delivered.len(),
        lost.iter().take(10).collect::<Vec<_>>()
    );
    assert!(
        extra.is_empty(),
        "{} stored events were never delivered: {:?}",
        extra.len(),
        extra.iter().take(10).collect::<Vec<_>>()
    );
}

/// A connection's state changes, each with the moment it was seen.
#[derive(Clone)]
pub struct States {
    log: Arc<Mutex<Vec<(Instant, ConnectionState)>>>,
    count: watch::Receiver<usize>,
}

impl States {
    /// Follows `changes` (every change, in order) from now on.
    pub fn follow(mut changes: broadcast::Receiver<ConnectionState>) -> States {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (count_tx, count) = watch::channel(0);
        let kept = Arc::clone(&log);
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(state) => {
                        let n = {
                            let mut log = kept.lock().unwrap();
                            log.push((Instant::now(), state));
                            log.len()
                        };
                        count_tx.send_replace(n);
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => panic!("{n} state changes were missed"),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        States { log, count }
    }

    /// Every change so far.
    pub fn all(&self) -> Vec<(Instant, ConnectionState)> {
        self.log.lock().unwrap().clone()
    }

    /// The changes seen at or after `since`.
    pub fn since(&self, since: Instant) -> Vec<(Instant, ConnectionState)> {
        self.all().into_iter().filter(|(at, _)| *at >= since).collect()
    }

    /// Waits (at most `limit`) for a change at or after `since` that `what` accepts; returns its moment.
    pub async fn wait(
        &mut self,
        since: Instant,
        limit: Duration,
        what: impl Fn(&ConnectionState) -> bool,
    ) -> Instant {
        let found = timeout(limit, async {
            loop {
                if let Some((at, _)) = self.since(since).into_iter().find(|(_, s)| what(s)) {
                    return at;
                }
                self.count.changed().await.unwrap();
            }
        })
        .await;
        match found {
            Ok(at) => at,
            Err(_) => panic!(
                "no such state within {limit:?}; since then: {:?}",
                self.since(since).iter().map(|(_, s)| s).collect::<Vec<_>>()
            ),
        }
    }

    /// Waits for `connected` at or after `since`.
    pub async fn connected_after(&mut self, since: Instant, limit: Duration) -> Instant {
        self.wait(since, limit, |s| matches!(s, ConnectionState::Connected { .. }))
            .await
    }
}

/// The largest delay `policy` allows for retry `attempt` (from 1): the exponential delay (doubling from
/// `initial`), plus jitter of up to the delay itself, the cap holding after jitter.
pub fn upper_bound(policy: &BackoffPolicy, attempt: u32) -> Duration {
    let exponential = policy
        .initial
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(policy.max);
    let jittered = if policy.jitter {
        exponential.saturating_mul(2)
    } else {
        exponential
    };
    jittered.min(policy.max)
}

/// Checks every change in `log` against `policy`: no `failed`; each `reconnecting` announces a delay
/// within the bounds of its attempt (0 only for an immediate first retry, else at least `initial`), and the
/// next attempt starts when announced (within `slack`); each attempt that connects does so within
/// `connect_limit`.
pub fn assert_backoff(policy: &BackoffPolicy, log: &[(Instant, ConnectionState)], connect_limit: Duration) {
    let slack = Duration::from_millis(150);
    for (i, (at, state)) in log.iter().enumerate() {
        match state {
            ConnectionState::Failed { reason } => panic!("the connection failed: {reason}; {log:?}"),
            ConnectionState::Reconnecting { attempt, next_in } => {
                let upper = upper_bound(policy, *attempt);
                assert!(
                    *next_in <= upper,
                    "attempt {attempt} waits {next_in:?}, more than {upper:?}"
                );
                assert!(
                    next_in.is_zero() && *attempt == 1 || *next_in >= policy.initial,
                    "attempt {attempt} waits {next_in:?}, less than {:?}",
                    policy.initial
                );
                if let Some((next_at, next)) = log.get(i + 1) {
                    assert!(
                        matches!(next, ConnectionState::Connecting),
                        "{next:?} after {state:?}"
                    );
                    let waited = *next_at - *at;
                    assert!(
                        waited + Duration::from_millis(5) >= *next_in && waited <= *next_in + slack,
                        "attempt {attempt} announced {next_in:?} and started after {waited:?}"
                    );
                }
            }
            ConnectionState::Connecting => {
                if let Some((next_at, ConnectionState::Connected { .. })) = log.get(i + 1) {
                    let took = *next_at - *at;
                    assert!(took <= connect_limit, "connecting took {took:?}");
                }
            }
            _ => {}
        }
    }
}

/// The retry rule of the tests: the clients' documented shape (doubling, jitter up to the delay, a cap,
/// a retry count), scaled down so a test's many outages take seconds.
pub fn quick_backoff() -> BackoffPolicy {
    BackoffPolicy {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(1600),
        max_retries: 5,
        jitter: true,
    }
}
