//! OnAir's Discord platform. This first part owns the Gateway's wire format, with no I/O: the payloads
//! and the sequence they carry ([`frame`]), the commands OnAir sends (Identify, Resume, Heartbeat), the
//! zlib-stream transport compression ([`inflate`]), what each close code means for the next connection
//! ([`close`]), and which shard serves a guild ([`shard_for`]). The connection, its sessions and limits
//! follow (issue 8). With the `test-server` feature, `testing` is a small stateful fake Discord (REST and
//! Gateway on one loopback port) for the client's tests and the CLI's end-to-end ones.

pub mod close;
pub mod frame;
pub mod inflate;
#[cfg(feature = "test-server")]
pub mod testing;

/// The shard that receives a guild's events among `shards`: `(guild_id >> 22) % shards`. `None` when the
/// id is not a snowflake or there are no shards.
pub fn shard_for(guild_id: &str, shards: u32) -> Option<u32> {
    let id: u64 = guild_id.parse().ok()?;
    let shards = u64::from(shards);
    (shards > 0).then(|| ((id >> 22) % shards) as u32)
}
