//! OnAir's Discord platform: a Gateway client with heartbeats, resume, zlib-stream and shards.
//!
//! [`frame`] owns the payloads and the commands OnAir sends, [`inflate`] the zlib-stream transport
//! compression, [`close`] what each close code means for the next connection, [`config`] where Discord is,
//! [`rest`] the few REST calls (`/gateway/bot`, a guild and its channels), [`limits`] the command and
//! Identify limits, [`events`] the mapping from dispatches to unified events, [`shard`] one shard's
//! connection that keeps itself up, and [`platform`] puts them behind OnAir's platform faces. With the
//! `test-server` feature, `testing` is a small stateful fake Discord (REST and Gateway on one loopback
//! port) for the client's tests and the CLI's end-to-end ones.

pub mod close;
pub mod config;
pub mod events;
pub mod frame;
pub mod inflate;
pub mod limits;
pub mod platform;
pub mod rest;
pub mod shard;
#[cfg(feature = "test-server")]
pub mod testing;

pub use config::{DiscordConfig, Shards};
pub use events::Watched;
pub use platform::{DiscordPlatform, ShardConnector, ShardPlan};
pub use rest::{DiscordRest, GatewayBot, SessionStartLimit, authorize_url};
pub use shard::{DiscordShard, ShardId, ShardOptions};

/// The shard that receives a guild's events among `shards`: `(guild_id >> 22) % shards`. `None` when the
/// id is not a snowflake or there are no shards.
pub fn shard_for(guild_id: &str, shards: u32) -> Option<u32> {
    let id: u64 = guild_id.parse().ok()?;
    let shards = u64::from(shards);
    (shards > 0).then(|| ((id >> 22) % shards) as u32)
}
