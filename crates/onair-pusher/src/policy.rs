//! The reconnection policy: what a close code or a `pusher:error` code means for the next attempt, and the
//! retry schedule of one outage (backoff with jitter through `backon`, at most N retries).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::config::BackoffPolicy;
use crate::frame::ErrorData;

/// What to do after a connection ended or an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Do not reconnect on our own: the state becomes `failed` with this sentence.
    GiveUp(String),
    /// Reconnect after the backoff delay.
    Backoff(String),
    /// Reconnect at once (the first retry of an outage; later ones back off).
    Immediately(String),
}

impl Next {
    /// The sentence that explains why the connection ended.
    pub fn reason(&self) -> &str {
        match self {
            Next::GiveUp(reason) | Next::Backoff(reason) | Next::Immediately(reason) => reason,
        }
    }

    /// The `failed` state's sentence once `retries` retries of an outage did not bring the connection
    /// back: a give-up's own reason, else the last error (the app's card and the CLI each say what comes
    /// next: a Reconnect button, a slow retry).
    pub fn failure(&self, retries: u32) -> String {
        match self {
            Next::GiveUp(reason) => reason.clone(),
            other => format!(
                "Could not reconnect after {retries} tries. The last error: {}",
                other.reason()
            ),
        }
    }
}

/// What the Pusher protocol says about a connection-level error `code` (from a close frame or a
/// `pusher:error`): 4000-4099 fatal, 4100-4199 back off, 4200-4299 reconnect now. `None` for codes that do
/// not end the connection by themselves (4300 and up on a `pusher:error`, for example).
pub fn pusher_code(code: u16, message: &str) -> Option<Next> {
    let said = said(code, message);
    match code {
        4000..=4099 => Some(Next::GiveUp(format!(
            "The Pusher server refused the connection: {said}. Check the app key and cluster (or the URL) in \
             the settings; OnAir will not retry on its own."
        ))),
        4100..=4199 => Some(Next::Backoff(format!(
            "The Pusher server is over capacity: {said}."
        ))),
        4200..=4299 => Some(Next::Immediately(format!(
            "The Pusher server asked to reconnect: {said}."
        ))),
        _ => None,
    }
}

/// What a WebSocket close `code` means: the Pusher ranges as [`pusher_code`], anything else backs off.
pub fn close_code(code: u16, reason: &str) -> Next {
    pusher_code(code, reason).unwrap_or_else(|| {
        Next::Backoff(format!(
            "The Pusher server closed the connection: {}.",
            said(code, reason)
        ))
    })
}

/// What a `pusher:error` means for the connection: `Some` when its code ends it.
pub fn pusher_error(error: &ErrorData) -> Option<Next> {
    error
        .code
        .and_then(|code| pusher_code(code, error.message.as_deref().unwrap_or_default()))
}

/// The server's words and its code, for a sentence: `Over capacity (code 4100)`, or `code 4100`.
fn said(code: u16, text: &str) -> String {
    if text.is_empty() {
        format!("code {code}")
    } else {
        format!("{text} (code {code})")
    }
}

/// The retries of one outage: counts them and hands out their delays.
#[derive(Debug)]
pub struct Outage {
    policy: BackoffPolicy,
    delays: ExponentialBackoff,
    retries: u32,
}

impl Outage {
    /// A fresh outage (no retries yet).
    pub fn new(policy: &BackoffPolicy) -> Self {
        Outage {
            policy: policy.clone(),
            delays: delays(policy),
            retries: 0,
        }
    }

    /// Forgets the retries so far: the connection came up.
    pub fn reset(&mut self) {
        *self = Outage::new(&self.policy);
    }

    /// The next retry's number (from 1) and delay, or `None` when the retries are used up. `immediately`
    /// makes the first retry of the outage start at once; later ones back off so a server that keeps
    /// asking for an immediate reconnect cannot cause a tight loop.
    pub fn next_retry(&mut self, immediately: bool) -> Option<(u32, Duration)> {
        if self.retries >= self.policy.max_retries {
            return None;
        }
        self.retries += 1;
        let delay = if immediately && self.retries == 1 {
            Duration::ZERO
        } else {
            self.delays.next().unwrap_or(self.policy.max)
        };
        // The cap holds with jitter too; whole milliseconds, so what the state says on the wire is exactly
        // what the timer waits.
        let delay = delay.min(self.policy.max);
        let delay =
            Duration::from_millis(u64::try_from(delay.as_micros().div_ceil(1000)).unwrap_or(u64::MAX));
        Some((self.retries, delay))
    }
}

/// The exponential schedule of `policy`, without a count limit (the outage counts).
fn delays(policy: &BackoffPolicy) -> ExponentialBackoff {
    let builder = ExponentialBuilder::default()
        .with_min_delay(policy.initial)
        .with_max_delay(policy.max)
        .with_factor(2.0)
        .without_max_times();
    if policy.jitter {
        builder.with_jitter().build()
    } else {
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_retries: u32, jitter: bool) -> BackoffPolicy {
        BackoffPolicy {
            max_retries,
            jitter,
            ..BackoffPolicy::default()
        }
    }

    #[test]
    fn codes_split_into_the_protocols_ranges() {
        assert!(matches!(
            pusher_code(4001, "App key x does not exist."),
            Some(Next::GiveUp(_))
        ));
        assert!(matches!(pusher_code(4099, ""), Some(Next::GiveUp(_))));
        assert!(matches!(
            pusher_code(4100, "Over capacity"),
            Some(Next::Backoff(_))
        ));
        assert!(matches!(pusher_code(4200, ""), Some(Next::Immediately(_))));
        assert!(matches!(
            pusher_code(4201, "Pong reply not received in time"),
            Some(Next::Immediately(_))
        ));
        assert_eq!(pusher_code(4301, "client event rejected"), None);
        assert_eq!(
            pusher_code(4009, "Authentication error").map(|n| matches!(n, Next::GiveUp(_))),
            Some(true)
        );
        assert!(matches!(close_code(1006, ""), Next::Backoff(_)));
        assert!(matches!(close_code(1000, "bye"), Next::Backoff(_)));
        assert!(matches!(close_code(4001, ""), Next::GiveUp(_)));
    }

    #[test]
    fn fatal_reasons_say_what_happened_and_what_to_do() {
        let next = pusher_code(4001, "App key x does not exist.").unwrap();
        assert_eq!(
            next.reason(),
            "The Pusher server refused the connection: App key x does not exist. (code 4001). Check the app \
             key and cluster (or the URL) in the settings; OnAir will not retry on its own."
        );
    }

    #[test]
    fn the_schedule_doubles_to_the_cap_and_stops_after_the_retries() {
        let mut outage = Outage::new(&policy(8, false));
        let delays: Vec<_> = std::iter::from_fn(|| outage.next_retry(false)).collect();
        let secs = |s: &[u64]| s.iter().map(|&s| Duration::from_secs(s)).collect::<Vec<_>>();
        assert_eq!(
            delays.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
            secs(&[1, 2, 4, 8, 16, 30, 30, 30])
        );
        assert_eq!(
            delays.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            (1..=8).collect::<Vec<_>>()
        );
    }

    #[test]
    fn jitter_adds_up_to_the_delay_itself_within_the_cap() {
        let cap = Duration::from_secs(30);
        let mut jittered = false;
        for _ in 0..50 {
            let mut outage = Outage::new(&policy(8, true));
            for base in [1, 2, 4, 8, 16, 30, 30, 30] {
                let (_, delay) = outage.next_retry(false).unwrap();
                let base = Duration::from_secs(base);
                assert!(
                    delay >= base && delay <= (base * 2).min(cap),
                    "{delay:?} for {base:?}"
                );
                jittered |= delay != base;
            }
            assert_eq!(outage.next_retry(false), None);
        }
        assert!(jittered, "no delay was jittered");
    }

    #[test]
    fn only_the_first_retry_of_an_outage_is_immediate_and_reset_starts_over() {
        let mut outage = Outage::new(&policy(5, false));
        assert_eq!(outage.next_retry(true), Some((1, Duration::ZERO)));
        assert_eq!(outage.next_retry(true), Some((2, Duration::from_secs(1))));
        assert_eq!(outage.next_retry(false), Some((3, Duration::from_secs(2))));
        outage.reset();
        assert_eq!(outage.next_retry(true), Some((1, Duration::ZERO)));
    }
}
