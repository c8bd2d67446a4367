//! A Pusher Channels client (protocol 7) that keeps its connection up on its own: cluster detection,
//! subscribe and resubscribe after every reconnect, pings when quiet, the protocol's close-code rules,
//! backoff with jitter, and outgoing frames paced through one limiter.
//!
//! It knows nothing of Kick (or any app): it hands out `(channel, event, data)` frames with `data`
//! decoded once, and publishes an `onair_core::ConnectionState`. The `server` feature adds a scriptable
//! Pusher-protocol server for tests, simulators and benchmarks.

mod auth;
mod client;
mod config;
mod connect;
mod driver;
mod error;
mod frame;
mod outbox;
mod policy;
#[cfg(feature = "server")]
pub mod server;

/// Whether a log line may be written: never the WebSocket library's `trace` lines, which print whole
/// frames (a private channel's auth is in one). Binaries add it to their log filter (it only removes, so
/// it never makes a quiet filter louder).
pub fn log_line_allowed(target: &str, level: &tracing::Level) -> bool {
    !(*level == tracing::Level::TRACE
        && (target.starts_with("tungstenite") || target.starts_with("tokio_tungstenite")))
}

pub use auth::{AuthError, ChannelAuth, ChannelAuthorizer};
pub use client::{Inbound, Inbox, PusherClient};
pub use config::{
    BackoffPolicy, Cluster, ClusterCache, DEFAULT_CLUSTERS, Endpoint, FALLBACK_CLUSTER, PROTOCOL,
    PusherConfig, app_path,
};
pub use connect::tls_config;
pub use error::PusherError;
pub use frame::{Data, ErrorData, Established, FrameError, PusherFrame, parse};
pub use outbox::TokioClock;
pub use policy::{Next, Outage};
