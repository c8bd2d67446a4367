//! The relay's messages on the wire: what clients send (`subscribe`, `resume`), what the relay answers and
//! emits (acks, `status`, `replay:done`, `position:reset`, `rate:limit`, `error`, `server:shutdown`), and what
//! the hub reports of each client. A position a client gives (`after`) is checked as it is read: a negative
//! one is refused with the request's other shape errors. Their TypeScript declarations (feature `ts`) are generated from these types into
//! `docs/relay.d.ts`, so the documentation cannot drift from the server.

use chrono::{DateTime, Utc};
use onair_core::{ConnectionId, ConnectionState, Event, EventKind, Platform};
use serde::{Deserialize, Deserializer, Serialize};

/// What a client asks to receive (`subscribe`); an empty or absent list means any.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// Only these platforms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
    /// Only these kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<EventKind>,
    /// Only these channels, by slug (any case) or platform id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

impl Filter {
    /// Whether `event` is one the client asked for.
    pub fn matches(&self, event: &Event) -> bool {
        (self.platforms.is_empty() || self.platforms.contains(&event.platform))
            && (self.kinds.is_empty() || self.kinds.contains(&event.kind()))
            && (self.channels.is_empty()
                || self
                    .channels
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&event.channel.slug) || *c == event.channel.platform_id))
    }
}

/// `subscribe`: the filter, and optionally where to resume from (in the same step, so nothing is sent live
/// before the replay).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubscribeRequest {
    /// What to receive.
    #[serde(flatten)]
    pub filter: Filter,
    /// Replay every matching stored event after this offset first, then go live. Never negative; past the
    /// end of the event log, the position is reset to the head (`reset` in the answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub after: Option<i64>,
}

/// `resume`: replay every matching stored event after `after`, then continue live.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResumeRequest {
    /// The last offset the client has (0 for everything stored); never negative. Past the end of the event
    /// log, the position is reset to the head (`reset` in the answer).
    pub after: i64,
}

/// A position as a client gives it (`after`): an offset, 0 or more. Read through this type, a negative one
/// is refused with the request's other shape errors.
struct Position(i64);

impl<'de> Deserialize<'de> for Position {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Position, D::Error> {
        let after = i64::deserialize(d)?;
        if after < 0 {
            return Err(serde::de::Error::custom(format_args!(
                "`after` is a position in the event log: 0 for everything stored, or the offset of the last \
                 event you have; never negative (got {after})"
            )));
        }
        Ok(Position(after))
    }
}

impl<'de> Deserialize<'de> for SubscribeRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SubscribeRequest, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(flatten)]
            filter: Filter,
            #[serde(default)]
            after: Option<Position>,
        }
        let Wire { filter, after } = Wire::deserialize(d)?;
        Ok(SubscribeRequest {
            filter,
            after: after.map(|Position(after)| after),
        })
    }
}

impl<'de> Deserialize<'de> for ResumeRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ResumeRequest, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            after: Position,
        }
        let Wire {
            after: Position(after),
        } = Wire::deserialize(d)?;
        Ok(ResumeRequest { after })
    }
}

/// The answer (ack) to every request: `ok`, the filter in force after a `subscribe`, or what went wrong.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestAnswer {
    /// Whether the request was carried out.
    pub ok: bool,
    /// After a `subscribe`: the filter now in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub filter: Option<Filter>,
    /// When refused: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub error: Option<RelayFailure>,
    /// After a `subscribe`: the offset of the last event committed before the filter took effect, when the
    /// relay knows it. Keep it as the client's position: a later `resume { after: head }` then misses
    /// nothing from the moment of subscribing, even if no event came before the client was cut off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub head: Option<i64>,
    /// After a `subscribe` with `after` or a `resume`: the position asked for was past the end of the event
    /// log, and the client continues from the head instead (also sent as `position:reset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub reset: Option<PositionReset>,
}

impl RequestAnswer {
    /// Carried out.
    pub fn ok() -> RequestAnswer {
        RequestAnswer {
            ok: true,
            filter: None,
            error: None,
            head: None,
            reset: None,
        }
    }

    /// Refused, with `failure`.
    pub fn refused(failure: RelayFailure) -> RequestAnswer {
        RequestAnswer {
            ok: false,
            error: Some(failure),
            ..RequestAnswer::ok()
        }
    }
}

/// `position:reset` (and `reset` in the request's answer): the client asked to resume after an offset past
/// the end of the event log (its position came from another database, or the database was replaced or
/// restored from a backup). Nothing is replayed; the client continues from `head` as if it had subscribed
/// there: every event after `head` comes, once, in order. Keep `head` as the new position.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionReset {
    /// The offset the client asked to resume after.
    pub requested: i64,
    /// The offset of the last event committed when the position was reset: the client's position now.
    pub head: i64,
}

/// Why a request failed (`error`, and the refused request's ack).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayFailure {
    /// What kind of failure, for programs.
    pub code: FailureCode,
    /// What happened and what to do, for people.
    pub message: String,
}

/// The failures a request can meet.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// The request's data has the wrong shape.
    BadRequest,
    /// `resume` before `subscribe`.
    NotSubscribed,
    /// This relay keeps no stored events to replay.
    Unavailable,
    /// A replay is already under way.
    Busy,
    /// Over the request limits (a `rate:limit` notice says when to try again).
    RateLimited,
    /// The stored events could not be read; resume again.
    ReplayFailed,
    /// The position asked for is past the end of the stored events, and the relay does not know yet where
    /// the event log ends (it has just started): ask again in a moment.
    NotReady,
}

/// `rate:limit`: a request was refused for going over the limits.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimited {
    /// The refused request: `subscribe`, `unsubscribe` or `resume`.
    pub event: String,
    /// When it may be tried again.
    pub retry_after_ms: u64,
}

/// `replay:done`: a resume's replay is over; live events follow.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayDone {
    /// The last offset sent (or passed over by the filter); resume after it next time.
    pub last_offset: i64,
}

/// `server:shutdown`: the relay is stopping; acknowledge it, then reconnect after `retry_after_ms`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownNotice {
    /// How long to wait before reconnecting.
    pub retry_after_ms: u64,
}

/// `status`: the state of every connection the hub watches, sent on connect and at every change.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayStatus {
    /// One entry per connection, in a stable order.
    pub connections: Vec<ConnectionStatus>,
}

/// One watched connection and where it is in its life.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    /// The connection (platform and channel).
    pub id: ConnectionId,
    /// Its state.
    pub state: ConnectionState,
}

/// A connected relay client, as the hub shows it (`onair relay clients`, `GET /clients`, the app).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayClient {
    /// The Socket.IO id of its connection.
    pub id: String,
    /// Where it connects from (`ip:port`), when known.
    pub address: Option<String>,
    /// What it says it is (its `User-Agent`), when it says.
    pub user_agent: Option<String>,
    /// What it subscribed to; `None` until it subscribes.
    pub filter: Option<Filter>,
    /// When it connected.
    pub connected_at: DateTime<Utc>,
    /// Events sent to it so far (live and replayed).
    pub events_sent: u64,
}

/// The answer of `GET /clients`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayClients {
    /// Every connected client, oldest connection first.
    pub clients: Vec<RelayClient>,
}

/// The relay's TypeScript declarations (`docs/relay.d.ts`): the event shapes of onair-core, the messages
/// above, and the two maps socket.io-client types a socket with.
#[cfg(feature = "ts")]
pub fn typescript() -> String {
    use ts_rs::TS;
    let cfg = onair_core::ts::config();
    let mut decls = onair_core::ts::declarations(&cfg);
    decls.extend([
        Filter::decl(&cfg),
        SubscribeRequest::decl(&cfg),
        ResumeRequest::decl(&cfg),
        FailureCode::decl(&cfg),
        RelayFailure::decl(&cfg),
        RequestAnswer::decl(&cfg),
        RateLimited::decl(&cfg),
        ReplayDone::decl(&cfg),
        PositionReset::decl(&cfg),
        ShutdownNotice::decl(&cfg),
        ConnectionStatus::decl(&cfg),
        RelayStatus::decl(&cfg),
        RelayClient::decl(&cfg),
        RelayClients::decl(&cfg),
    ]);
    let mut out = onair_core::ts::module(
        "// The OnAir relay's messages (docs/relay.md), generated from the Rust types \
         (onair_relay::protocol::typescript); do not edit.\n\
         // crates/onair/tests/bindings.rs fails when it is stale; ONAIR_BLESS=1 cargo test -p onair --test bindings rewrites it.\n\
         // Use: `const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { auth: { token } })`.\n",
        decls,
    );
    out.push_str(
        "\n/** What the relay emits to a client. */\n\
         export interface ServerToClientEvents {\n  \
           /** A committed event that matches the client's filter, once, in offset order. */\n  \
           event: (event: Event) => void;\n  \
           /** The watched connections' states: on connect and at every change. */\n  \
           status: (status: RelayStatus) => void;\n  \
           /** A resume's replay is over; live events follow. */\n  \
           \"replay:done\": (done: ReplayDone) => void;\n  \
           /** The position asked for was past the end of the event log; the client continues from `head`. */\n  \
           \"position:reset\": (reset: PositionReset) => void;\n  \
           /** A request was refused for going over the limits. */\n  \
           \"rate:limit\": (notice: RateLimited) => void;\n  \
           /** A request failed. */\n  \
           error: (failure: RelayFailure) => void;\n  \
           /** The relay is stopping: call `ack` (everything sent before it has arrived), reconnect later. */\n  \
           \"server:shutdown\": (notice: ShutdownNotice, ack: (received: boolean) => void) => void;\n\
         }\n\
         \n/** What a client sends to the relay; each request is answered through its ack. */\n\
         export interface ClientToServerEvents {\n  \
           /** Receive the events that match the filter from now on; with `after`, replay the stored ones after it first. */\n  \
           subscribe: (request: SubscribeRequest, ack: (answer: RequestAnswer) => void) => void;\n  \
           /** Receive nothing more. */\n  \
           unsubscribe: (ack: (answer: RequestAnswer) => void) => void;\n  \
           /** Replay the matching stored events after an offset, then continue live. */\n  \
           resume: (request: ResumeRequest, ack: (answer: RequestAnswer) => void) => void;\n\
         }\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_is_never_negative() {
        let subscribe = |json: &str| serde_json::from_str::<SubscribeRequest>(json);
        let resume = |json: &str| serde_json::from_str::<ResumeRequest>(json);
        assert_eq!(subscribe(r#"{"after": 0}"#).unwrap().after, Some(0));
        assert_eq!(
            subscribe(r#"{"kinds": ["follow"], "after": 7}"#).unwrap().after,
            Some(7)
        );
        assert_eq!(subscribe(r#"{"after": null}"#).unwrap().after, None);
        assert_eq!(subscribe("{}").unwrap().after, None);
        assert_eq!(resume(r#"{"after": 12}"#).unwrap().after, 12);
        for error in [
            subscribe(r#"{"after": -1}"#).unwrap_err(),
            resume(r#"{"after": -9223372036854775808}"#).unwrap_err(),
        ] {
            let message = error.to_string();
            assert!(message.contains("never negative"), "{message}");
        }
        assert!(subscribe(r#"{"after": 1.5}"#).is_err());
        assert!(resume(r#"{"after": "3"}"#).is_err());
        assert!(resume("{}").is_err());
    }
}
