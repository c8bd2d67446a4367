//! Test tooling (never shipped): a loopback TCP proxy that sits between one of OnAir's clients and a scripted
//! server and makes the network misbehave, per connection and switchable while a test runs.
//!
//! It owns:
//! - **the faults** ([`Conditions`], applied to one [`Connection`] or to the whole [`FaultProxy`]): latency
//!   with jitter (order kept), a bandwidth cap, a half-open stall (nothing forwarded in one or both
//!   directions while both sockets stay open), writes split into tiny pieces; and the one-off actions: a cut
//!   with a TCP reset (`SO_LINGER` 0) in the middle of a WebSocket frame ([`Connection::cut`]), and new
//!   connections refused for a while (the listener closed: `ECONNREFUSED`, [`FaultProxy::refuse`]);
//! - **the chaos schedule** ([`Schedule`]: `(at, fault, for how long)` steps, written by hand or drawn from a
//!   seed), played against the proxy in real time ([`FaultProxy::play`]), each step reported as it begins
//!   and ends;
//! - **the tap**: what it forwarded, per connection and direction (bytes; and, from server to client, every
//!   complete WebSocket frame after a `101` upgrade, with its payload), so a test can tell which messages
//!   the server *delivered while the connection was up*, and wait for them without sleeping
//!   ([`Connection::wait_frames`]). What the system still held in the proxy's send buffer when a connection
//!   is reset never reaches the client, so the reset takes it back from the tap (Linux: the socket's
//!   unacknowledged bytes, from `/proc/net/tcp`, once the client's delayed acknowledgements came in).
//!
//! Server-to-client WebSocket frames are unmasked and delimited by their headers (read with tungstenite's
//! [`tungstenite::protocol::frame::FrameHeader`]); anything that is not a WebSocket (an HTTP API) is tapped
//! as bytes only.

mod conditions;
mod error;
mod proxy;
mod pump;
mod schedule;
mod tap;

pub use conditions::{Conditions, Direction, Stall};
pub use error::ProxyError;
pub use proxy::{Connection, End, FaultProxy};
pub use schedule::{Chaos, Fault, FaultKind, Phase, Played, Playing, Schedule, Step};
pub use tap::{Traffic, WsFrame};
