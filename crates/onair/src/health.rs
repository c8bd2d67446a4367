//! The store's health for people: turns the writer's status into the few notices a user needs (recording
//! is held up, and why and what to do; recording again), once per change rather than once per retry. The
//! app shows them as a banner and `onair` prints them.

use onair_store::{FailureCause, WriterStatus};
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
            (None, Some(failure)) => {
                shown = Some(failure.cause);
                notice(HealthNotice::HeldUp(failure.advice()));
            }
            (Some(before), Some(failure)) if before != failure.cause => {
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
