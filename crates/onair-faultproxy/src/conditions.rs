//! The lasting faults of a connection: what every forwarded byte goes through until they change.

use std::time::Duration;

/// Which way bytes flow through a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the server.
    Upstream,
    /// From the server to the client.
    Downstream,
}

/// Which directions of a connection forward nothing (a half-open connection: both sockets stay open, no
/// FIN, no reset, only silence; what is not forwarded waits, and TCP pushes back on the sender).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stall {
    /// Everything flows.
    #[default]
    None,
    /// The client's bytes do not reach the server.
    Upstream,
    /// The server's bytes do not reach the client.
    Downstream,
    /// Nothing flows either way.
    Both,
}

impl Stall {
    /// Whether `direction` is stalled.
    pub fn holds(self, direction: Direction) -> bool {
        matches!(
            (self, direction),
            (Stall::Both, _)
                | (Stall::Upstream, Direction::Upstream)
                | (Stall::Downstream, Direction::Downstream)
        )
    }
}

/// The lasting faults of a connection (or, through [`crate::FaultProxy::set`], of all of them);
/// [`Default`] is a clean network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conditions {
    /// Added to every chunk's trip, each way.
    pub latency: Duration,
    /// A random extra of up to this much per chunk; chunks are never reordered.
    pub jitter: Duration,
    /// At most this many bytes per second, each way.
    pub bandwidth: Option<u64>,
    /// Directions that forward nothing.
    pub stall: Stall,
    /// Each write is a piece of `min..=max` bytes (at least 1), written on its own.
    pub split: Option<(usize, usize)>,
}

impl Conditions {
    /// A clean network.
    pub fn clean() -> Conditions {
        Conditions::default()
    }

    /// These conditions with `latency` plus up to `jitter`.
    pub fn with_latency(self, latency: Duration, jitter: Duration) -> Conditions {
        Conditions {
            latency,
            jitter,
            ..self
        }
    }

    /// These conditions capped at `bytes_per_second` each way.
    pub fn with_bandwidth(self, bytes_per_second: u64) -> Conditions {
        Conditions {
            bandwidth: Some(bytes_per_second.max(1)),
            ..self
        }
    }

    /// These conditions with `stall`.
    pub fn with_stall(self, stall: Stall) -> Conditions {
        Conditions { stall, ..self }
    }

    /// These conditions with writes of `min..=max` bytes.
    pub fn with_split(self, min: usize, max: usize) -> Conditions {
        let min = min.max(1);
        Conditions {
            split: Some((min, max.max(min))),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_holds_only_its_directions() {
        assert!(!Stall::None.holds(Direction::Upstream));
        assert!(Stall::Upstream.holds(Direction::Upstream));
        assert!(!Stall::Upstream.holds(Direction::Downstream));
        assert!(Stall::Downstream.holds(Direction::Downstream));
        assert!(Stall::Both.holds(Direction::Upstream) && Stall::Both.holds(Direction::Downstream));
    }

    #[test]
    fn splits_and_bandwidths_are_never_zero() {
        assert_eq!(Conditions::clean().with_split(0, 0).split, Some((1, 1)));
        assert_eq!(Conditions::clean().with_split(3, 2).split, Some((3, 3)));
        assert_eq!(Conditions::clean().with_bandwidth(0).bandwidth, Some(1));
    }
}
