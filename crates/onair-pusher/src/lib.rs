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

/// Log filter directives every binary using this crate must add (after the user's own filter): the
/// WebSocket library prints whole frames at `trace` level, and a private channel's auth is in a frame.
pub const LOG_DIRECTIVES: &[&str] = &["tungstenite=debug", "tokio_tungstenite=debug"];

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
