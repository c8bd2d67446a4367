//! The Gateway's limits, kept on tokio's clock (so a paused test clock paces them too): at most 120
//! commands per connection per 60 s ([`CommandLimiter`], with room kept for the heartbeats, Identify and
//! Resume, which never wait), and new sessions ([`IdentifyGate`]): one Identify per `max_concurrency`
//! bucket (`shard % max_concurrency`) per 5 s across every shard, within the bot's daily session start
//! limit.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use onair_pusher::TokioClock;
use tokio::time::{Instant, sleep_until};

use crate::rest::SessionStartLimit;

/// The window of Discord's limit of 120 commands per connection (it closes a connection that sends more).
pub const COMMAND_WINDOW: Duration = Duration::from_secs(60);
/// The commands other than heartbeats, Identify and Resume one connection may send per window: 115, so
/// the heartbeats (two or three a minute) and one Identify or Resume always fit in the 120.
const PACED_PER_WINDOW: u32 = 115;
/// How long each `max_concurrency` bucket waits between two Identify.
pub const IDENTIFY_WINDOW: Duration = Duration::from_secs(5);
/// Kept on top of [`IDENTIFY_WINDOW`] between two Identify *sent* in one bucket: Discord counts them as
/// they arrive, and the network does not deliver two messages with the spacing they left with.
const IDENTIFY_SEND_MARGIN: Duration = Duration::from_millis(100);

type Direct = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;
type Keyed = RateLimiter<u32, HashMapStateStore<u32>, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// The pace of one connection's commands (other than heartbeats, Identify and Resume).
pub struct CommandLimiter {
    limiter: Direct,
}

impl Default for CommandLimiter {
    fn default() -> Self {
        CommandLimiter::new()
    }
}

impl CommandLimiter {
    /// A fresh allowance, for a new connection. Half the window's commands may go at once, the rest one
    /// per second: at most 115 in any 60 s.
    pub fn new() -> CommandLimiter {
        let burst = PACED_PER_WINDOW - COMMAND_WINDOW.as_secs() as u32;
        let quota = Quota::with_period(Duration::from_secs(1))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        CommandLimiter {
            limiter: RateLimiter::direct_with_clock(quota, TokioClock),
        }
    }

    /// Takes one command's permit now, or says when one is free.
    pub fn try_send(&self) -> Result<(), Instant> {
        self.limiter.check().map_err(|not_until| {
            Instant::now() + not_until.earliest_possible().duration_since(TokioClock.now())
        })
    }
}

/// Who may start a new session when: shared by every shard of a bot.
pub struct IdentifyGate {
    buckets: Keyed,
    max_concurrency: u32,
    starts: Mutex<Starts>,
    /// When each bucket last sent an Identify.
    sent: Mutex<std::collections::HashMap<u32, Instant>>,
}

struct Starts {
    total: u32,
    remaining: u32,
    reset_at: Instant,
}

/// The session start allowance as last known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartsLeft {
    /// Sessions still allowed.
    pub remaining: u32,
    /// Sessions allowed per period.
    pub total: u32,
    /// How long until `remaining` is back to `total`.
    pub resets_in: Duration,
}

impl IdentifyGate {
    /// The gate for a bot whose `GET /gateway/bot` said `limit`.
    pub fn new(limit: &SessionStartLimit) -> IdentifyGate {
        let quota = Quota::with_period(IDENTIFY_WINDOW)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        IdentifyGate {
            buckets: RateLimiter::hashmap_with_clock(quota, TokioClock),
            max_concurrency: limit.max_concurrency.max(1),
            starts: Mutex::new(Starts {
                total: limit.total,
                remaining: limit.remaining,
                reset_at: reset_at(limit),
            }),
            sent: Mutex::default(),
        }
    }

    /// Takes up the allowance a later `GET /gateway/bot` gave (the Identify pacing goes on as it was).
    pub fn refresh(&self, limit: &SessionStartLimit) {
        let mut starts = self.lock();
        starts.total = limit.total;
        starts.remaining = limit.remaining;
        starts.reset_at = reset_at(limit);
    }

    /// The allowance now.
    pub fn starts_left(&self) -> StartsLeft {
        let starts = self.lock();
        StartsLeft {
            remaining: starts.remaining,
            total: starts.total,
            resets_in: starts.reset_at.saturating_duration_since(Instant::now()),
        }
    }

    /// Waits until shard `shard` may send Identify, and counts the session it starts. `on_exhausted` is
    /// told how long the wait is when the day's allowance is used up.
    pub async fn wait_turn(&self, shard: u32, on_exhausted: impl FnOnce(Duration)) {
        let reset_at = {
            let mut starts = self.lock();
            if starts.remaining == 0 && Instant::now() >= starts.reset_at {
                starts.remaining = starts.total;
            }
            (starts.remaining == 0).then_some(starts.reset_at)
        };
        if let Some(reset_at) = reset_at {
            on_exhausted(reset_at.saturating_duration_since(Instant::now()));
            sleep_until(reset_at).await;
            let mut starts = self.lock();
            if starts.remaining == 0 {
                starts.remaining = starts.total;
                starts.reset_at = Instant::now() + Duration::from_secs(24 * 60 * 60);
            }
        }
        let bucket = shard % self.max_concurrency;
        while let Err(not_until) = self.buckets.check_key(&bucket) {
            sleep_until(Instant::now() + not_until.earliest_possible().duration_since(TokioClock.now()))
                .await;
        }
        let mut starts = self.lock();
        starts.remaining = starts.remaining.saturating_sub(1);
    }

    /// Waits, if need be, until shard `shard`'s Identify leaves the window (and a margin) after the last
    /// one its bucket sent, then notes it as sent now. The turn ([`IdentifyGate::wait_turn`]) is taken
    /// before the socket opens, so that a long wait never times a socket out; sockets take different times
    /// to open, so two turns 5 s apart could otherwise send their Identify a little less than 5 s apart.
    pub async fn space_send(&self, shard: u32) {
        let bucket = shard % self.max_concurrency;
        loop {
            let not_before = {
                let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                match sent.get(&bucket) {
                    Some(&last) if now < last + IDENTIFY_WINDOW + IDENTIFY_SEND_MARGIN => {
                        last + IDENTIFY_WINDOW + IDENTIFY_SEND_MARGIN
                    }
                    _ => {
                        sent.insert(bucket, now);
                        return;
                    }
                }
            };
            sleep_until(not_before).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Starts> {
        self.starts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// When `limit`'s allowance is back: in about a day, as Discord says; a nonsense value must not overflow
/// the clock.
fn reset_at(limit: &SessionStartLimit) -> Instant {
    Instant::now() + Duration::from_millis(limit.reset_after.min(7 * 24 * 60 * 60 * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_sixty_second_window_holds_more_than_115_paced_commands() {
        let limiter = CommandLimiter::new();
        let start = Instant::now();
        let mut sent = Vec::new();
        while sent.len() < 300 {
            match limiter.try_send() {
                Ok(()) => sent.push(Instant::now() - start),
                Err(at) => sleep_until(at).await,
            }
        }
        for (i, at) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|t| **t < *at + COMMAND_WINDOW)
                .count();
            assert!(in_window <= 115, "{in_window} commands in the 60 s from {at:?}");
        }
        assert_eq!(sent.iter().filter(|t| t.is_zero()).count(), 55, "half at once");
    }

    fn limit(remaining: u32, max_concurrency: u32) -> SessionStartLimit {
        SessionStartLimit {
            total: 1000,
            remaining,
            reset_after: 60_000,
            max_concurrency,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn identifies_are_paced_per_bucket_and_counted() {
        let gate = IdentifyGate::new(&limit(10, 2));
        let start = Instant::now();
        let mut turns = Vec::new();
        for shard in [0, 1, 2, 3] {
            gate.wait_turn(shard, |_| panic!("allowance left")).await;
            turns.push((shard, Instant::now() - start));
        }
        // Buckets 0 and 1 go at once; shards 2 and 3 (buckets 0 and 1 again) 5 s later.
        assert_eq!(
            turns,
            [
                (0, Duration::ZERO),
                (1, Duration::ZERO),
                (2, IDENTIFY_WINDOW),
                (3, IDENTIFY_WINDOW)
            ]
        );
        assert_eq!(gate.starts_left().remaining, 6);
    }

    #[tokio::test(start_paused = true)]
    async fn identifies_sent_late_in_their_turn_still_leave_the_window_between_them() {
        let gate = IdentifyGate::new(&limit(10, 2));
        let start = Instant::now();
        // Shard 0's socket took 300 ms to open after its turn; shard 2's (same bucket) opened at once.
        gate.wait_turn(0, |_| panic!("allowance left")).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        gate.space_send(0).await;
        let first = Instant::now() - start;
        gate.wait_turn(2, |_| panic!("allowance left")).await;
        gate.space_send(2).await;
        let second = Instant::now() - start;
        assert_eq!(second - first, IDENTIFY_WINDOW + IDENTIFY_SEND_MARGIN);
        // Another bucket does not wait for it.
        gate.wait_turn(1, |_| panic!("allowance left")).await;
        let before = Instant::now();
        gate.space_send(1).await;
        assert_eq!(Instant::now(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refreshed_allowance_keeps_the_pacing() {
        let gate = IdentifyGate::new(&limit(10, 1));
        let start = Instant::now();
        gate.wait_turn(0, |_| panic!("allowance left")).await;
        gate.refresh(&limit(500, 1));
        assert_eq!(gate.starts_left().remaining, 500);
        gate.wait_turn(0, |_| panic!("allowance left")).await;
        assert_eq!(
            Instant::now() - start,
            IDENTIFY_WINDOW,
            "the second Identify still waits its turn"
        );
        assert_eq!(gate.starts_left().remaining, 499);
    }

    #[tokio::test(start_paused = true)]
    async fn an_exhausted_allowance_waits_for_its_reset() {
        let gate = IdentifyGate::new(&limit(0, 1));
        let start = Instant::now();
        let mut told = None;
        gate.wait_turn(0, |wait| told = Some(wait)).await;
        assert_eq!(told, Some(Duration::from_secs(60)));
        assert_eq!(Instant::now() - start, Duration::from_secs(60));
        assert_eq!(gate.starts_left().remaining, 999);
    }
}
