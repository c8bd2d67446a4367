//! The life cycle every platform connection publishes, so the hub, the store and the UI agree on it, and
//! the channels it is published on ([`state_channel`]).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::Platform;

/// Names one connection: a platform and what it is connected to (a channel slug, a guild, a shard).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnectionId {
    /// The platform the connection talks to.
    pub platform: Platform,
    /// What it is connected to, for people: `xqc`, `guild 1234 shard 0/2`.
    pub name: String,
}

impl ConnectionId {
    /// A connection to `name` on `platform`.
    pub fn new(platform: Platform, name: impl Into<String>) -> Self {
        ConnectionId {
            platform,
            name: name.into(),
        }
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.platform, self.name)
    }
}

/// Where a connection is in its life. Published on a watch channel at every change.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    /// Opening the socket or waiting for the platform's hello.
    Connecting,
    /// Connected and receiving events.
    Connected {
        /// The platform's id for this session when it gives one (Pusher socket id, EventSub session id,
        /// Discord session id).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    /// Lost; the next try (`attempt`, 1-based) starts in `next_in`.
    Reconnecting {
        /// Which retry of this outage comes next, from 1.
        attempt: u32,
        /// How long until that retry, in whole milliseconds on the wire.
        #[serde(rename = "next_in_ms", with = "duration_ms")]
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        next_in: Duration,
    },
    /// Gave up; `reason` says what happened and what the user can do.
    Failed {
        /// A sentence for people: what happened and what to do.
        reason: String,
    },
    /// Closed on purpose (by the user or at shutdown).
    Disconnected,
}

impl ConnectionState {
    /// The state's name as stored in `connection_log.state`.
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected { .. } => "connected",
            ConnectionState::Reconnecting { .. } => "reconnecting",
            ConnectionState::Failed { .. } => "failed",
            ConnectionState::Disconnected => "disconnected",
        }
    }
}

/// State changes a reader that has fallen behind can catch up on.
const STATE_CHANGES_BUFFER: usize = 256;

/// A connection's state channels, starting at `Connecting`: the connection's task publishes on the
/// [`StatePublisher`]; its handle gives out readers from the [`StateReader`].
pub fn state_channel() -> (StatePublisher, StateReader) {
    let (latest_tx, latest) = watch::channel(ConnectionState::Connecting);
    let (changes, first) = broadcast::channel(STATE_CHANGES_BUFFER);
    let publisher = StatePublisher {
        latest: latest_tx,
        changes: changes.clone(),
    };
    let reader = StateReader {
        latest,
        first: Some(first),
        changes,
    };
    (publisher, reader)
}

/// Publishes a connection's state: the latest on a watch (for displays), each change on a broadcast (for
/// the connection log).
#[derive(Debug)]
pub struct StatePublisher {
    latest: watch::Sender<ConnectionState>,
    changes: broadcast::Sender<ConnectionState>,
}

impl StatePublisher {
    /// Publishes `state` if it differs from the current one.
    pub fn publish(&self, state: ConnectionState) {
        let changed = self.latest.send_if_modified(|current| {
            let changed = *current != state;
            *current = state.clone();
            changed
        });
        if changed {
            // Nobody listening is fine.
            let _ = self.changes.send(state);
        }
    }
}

/// Hands out readers of a connection's state ([`crate::LiveConnection::state`] and `state_changes`).
#[derive(Debug)]
pub struct StateReader {
    latest: watch::Receiver<ConnectionState>,
    first: Option<broadcast::Receiver<ConnectionState>>,
    changes: broadcast::Sender<ConnectionState>,
}

impl StateReader {
    /// The latest state.
    pub fn latest(&self) -> watch::Receiver<ConnectionState> {
        self.latest.clone()
    }

    /// Every change in order; the first call also gets those since the start.
    pub fn changes(&mut self) -> broadcast::Receiver<ConnectionState> {
        self.first.take().unwrap_or_else(|| self.changes.subscribe())
    }
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_serialise_with_a_tag_and_milliseconds() {
        let s = ConnectionState::Reconnecting {
            attempt: 2,
            next_in: Duration::from_millis(1500),
        };
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"state": "reconnecting", "attempt": 2, "next_in_ms": 1500})
        );
        assert_eq!(serde_json::from_value::<ConnectionState>(json).unwrap(), s);
        assert_eq!(s.name(), "reconnecting");
        assert_eq!(
            serde_json::to_value(ConnectionState::Connected { session: None }).unwrap()["state"],
            "connected"
        );
    }
}
