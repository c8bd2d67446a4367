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
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::PusherError;

/// `governor`'s view of tokio's clock, so a paused test clock paces a limiter too (the platform crates'
/// REST limiters use it as well).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> Self::Instant {
        Instant::now().into_std()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// Tells a caller what became of its client event: written to the socket, or not.
#[derive(Debug)]
pub struct Ack(oneshot::Sender<Result<(), PusherError>>);

impl Ack {
    /// An acknowledgement answered on `reply`.
    pub fn new(reply: oneshot::Sender<Result<(), PusherError>>) -> Self {
        Ack(reply)
    }

    /// Answers the caller.
    pub fn send(self, result: Result<(), PusherError>) {
        let _ = self.0.send(result);
    }
}

/// Something to send once the pace allows.
#[derive(Debug)]
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
    /// A client event, already encoded, and who to tell once it is written.
    ClientEvent(String, Ack),
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

    /// Whether a caller's frame would be refused now.
    pub fn check_room(&self) -> Result<(), PusherError> {
        if self.callers >= self.capacity {
            Err(PusherError::QueueFull {
                capacity: self.capacity,
            })
        } else {
            Ok(())
        }
    }

    /// Queues a caller's frame, or refuses it when callers already have `capacity` frames waiting.
    pub fn push_for_caller(&mut self, frame: Outgoing) -> Result<(), PusherError> {
        self.check_room()?;
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

    /// Drops everything queued for the old socket: a new connection re-derives its subscribes from the
    /// channel list; the callers of dropped client events are told they were not sent (as pusher-js, the
    /// client does not carry them over to a socket whose channels are not subscribed yet).
    pub fn forget(&mut self) {
        for (frame, _) in self.queue.drain(..) {
            if let Outgoing::ClientEvent(_, ack) = frame {
                ack.send(Err(PusherError::NotConnected));
            }
        }
        self.callers = 0;
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

    fn unsubscribe(channel: &str) -> Outgoing {
        Outgoing::Unsubscribe(channel.to_owned())
    }

    #[tokio::test(start_paused = true)]
    async fn frames_leave_evenly_at_the_configured_pace() {
        let mut outbox = Outbox::new(5, 100);
        for n in 0..11 {
            outbox.push(unsubscribe(&n.to_string()));
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
        assert!(matches!(&sent[3].0, Outgoing::Unsubscribe(c) if c == "3"));
    }

    #[tokio::test]
    async fn callers_are_bounded_the_clients_own_frames_are_not_and_forgotten_events_are_answered() {
        let mut outbox = Outbox::new(5, 2);
        let (reply, answer) = oneshot::channel();
        outbox.push_for_caller(unsubscribe("a")).unwrap();
        outbox
            .push_for_caller(Outgoing::ClientEvent("{}".into(), Ack::new(reply)))
            .unwrap();
        assert!(matches!(
            outbox.push_for_caller(unsubscribe("c")),
            Err(PusherError::QueueFull { capacity: 2 })
        ));
        assert!(outbox.check_room().is_err());
        for n in 0..10 {
            outbox.push(Outgoing::Subscribe {
                channel: n.to_string(),
                auth: None,
            });
        }
        outbox.push_front(Outgoing::Pong);
        assert!(matches!(outbox.pop_if_due(), Some(Outgoing::Pong)));
        // A new socket: everything queued is dropped, the client event's caller hears it was not sent.
        outbox.forget();
        assert!(outbox.is_empty());
        assert_eq!(answer.await.unwrap(), Err(PusherError::NotConnected));
        outbox.push_for_caller(unsubscribe("c")).unwrap();
        outbox.push_for_caller(unsubscribe("d")).unwrap();
        assert!(outbox.push_for_caller(unsubscribe("e")).is_err());
    }
}
