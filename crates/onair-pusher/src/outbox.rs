//! The frames waiting to be sent and the pace they leave at: one queue, a `governor` limiter on tokio's clock
//! (so tests can pause time), callers' frames bounded, the client's own (resubscribes, pings, pongs) never
//! dropped.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

use crate::PusherError;

/// `governor`'s view of tokio's clock, so a paused test clock paces the limiter too.
#[derive(Debug, Clone, Copy, Default)]
struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> Self::Instant {
        Instant::now().into_std()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// Something to send once the pace allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// `pusher:subscribe`; for a private channel, the auth obtained for this socket.
    Subscribe {
        /// The channel.
        channel: String,
        /// The authorisation string and presence data, for private and presence channels.
        auth: Option<(String, Option<String>)>,
    },
    /// `pusher:unsubscribe`.
    Unsubscribe(String),
    /// Our liveness check.
    Ping,
    /// The answer to the server's ping.
    Pong,
    /// A client event, already encoded.
    Raw(String),
}

impl Outgoing {
    /// The channel a subscribe or unsubscribe is about.
    fn channel(&self) -> Option<&str> {
        match self {
            Outgoing::Subscribe { channel, .. } | Outgoing::Unsubscribe(channel) => Some(channel),
            Outgoing::Ping | Outgoing::Pong | Outgoing::Raw(_) => None,
        }
    }
}

/// The queue and its pace.
pub struct Outbox {
    queue: VecDeque<(Outgoing, bool)>,
    callers: usize,
    capacity: usize,
    limiter: Limiter,
    wake_at: Instant,
}

impl Outbox {
    /// An empty outbox sending at most `per_second` frames a second (evenly spaced, no burst), holding at most
    /// `capacity` frames from callers.
    pub fn new(per_second: u32, capacity: usize) -> Self {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_secs(1) / per_second.get();
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(per_second))
            .allow_burst(NonZeroU32::MIN);
        Outbox {
            queue: VecDeque::new(),
            callers: 0,
            capacity,
            limiter: RateLimiter::direct_with_clock(quota, TokioClock),
            wake_at: Instant::now(),
        }
    }

    /// Queues a caller's frame, or refuses it when callers already have `capacity` frames waiting.
    pub fn push_for_caller(&mut self, frame: Outgoing) -> Result<(), PusherError> {
        if self.callers >= self.capacity {
            return Err(PusherError::QueueFull {
                capacity: self.capacity,
            });
        }
        self.callers += 1;
        self.queue.push_back((frame, true));
        Ok(())
    }

    /// Queues one of the client's own frames (never refused).
    pub fn push(&mut self, frame: Outgoing) {
        self.queue.push_back((frame, false));
    }

    /// Queues one of the client's own frames ahead of everything else (pings and pongs).
    pub fn push_front(&mut self, frame: Outgoing) {
        self.queue.push_front((frame, false));
    }

    /// Drops what belonged to the old socket (queued subscribes, unsubscribes, pings, pongs): a new
    /// connection re-derives its subscribes from the channel list. Client events stay queued.
    pub fn forget_channel_frames(&mut self) {
        let callers = &mut self.callers;
        self.queue.retain(|(frame, from_caller)| {
            let keep = frame.channel().is_none() && !matches!(frame, Outgoing::Ping | Outgoing::Pong);
            if !keep && *from_caller {
                *callers -= 1;
            }
            keep
        });
    }

    /// Whether anything waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// When [`Outbox::pop_if_due`] may next have something: now, or when the pace allows.
    pub fn wake_at(&self) -> Instant {
        self.wake_at
    }

    /// The next frame if the pace allows it now; otherwise `None`, and [`Outbox::wake_at`] tells when.
    pub fn pop_if_due(&mut self) -> Option<Outgoing> {
        if self.queue.is_empty() {
            return None;
        }
        match self.limiter.check() {
            Ok(()) => {
                let (frame, from_caller) = self.queue.pop_front()?;
                if from_caller {
                    self.callers -= 1;
                }
                Some(frame)
            }
            Err(not_until) => {
                let wait = not_until.earliest_possible().duration_since(TokioClock.now());
                self.wake_at = Instant::now() + wait;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn frames_leave_evenly_at_the_configured_pace() {
        let mut outbox = Outbox::new(5, 100);
        for n in 0..11 {
            outbox.push(Outgoing::Raw(n.to_string()));
        }
        let start = Instant::now();
        let mut sent = Vec::new();
        while !outbox.is_empty() {
            match outbox.pop_if_due() {
                Some(frame) => sent.push((frame, start.elapsed())),
                None => tokio::time::sleep_until(outbox.wake_at()).await,
            }
        }
        let times: Vec<_> = sent.iter().map(|(_, t)| t.as_millis()).collect();
        assert_eq!(times, (0..11).map(|n| n * 200).collect::<Vec<_>>());
        assert_eq!(sent[3].0, Outgoing::Raw("3".into()));
    }

    #[test]
    fn callers_are_bounded_and_the_clients_own_frames_are_not() {
        let mut outbox = Outbox::new(5, 2);
        outbox.push_for_caller(Outgoing::Unsubscribe("a".into())).unwrap();
        outbox.push_for_caller(Outgoing::Raw("b".into())).unwrap();
        assert!(matches!(
            outbox.push_for_caller(Outgoing::Raw("c".into())),
            Err(PusherError::QueueFull { capacity: 2 })
        ));
        for n in 0..10 {
            outbox.push(Outgoing::Subscribe {
                channel: n.to_string(),
                auth: None,
            });
        }
        outbox.push_front(Outgoing::Pong);
        assert_eq!(outbox.pop_if_due(), Some(Outgoing::Pong));
        // The caller's unsubscribe is forgotten with the client's subscribes: its slot is free again.
        outbox.forget_channel_frames();
        outbox.push_for_caller(Outgoing::Raw("c".into())).unwrap();
        assert!(outbox.push_for_caller(Outgoing::Raw("d".into())).is_err());
    }
}
