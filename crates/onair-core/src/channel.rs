//! The channel (Kick channel, Twitch broadcaster, Discord guild) an event belongs to.

use serde::{Deserialize, Serialize};

/// Identifies a channel on its platform. `platform_id` is the stable key; `slug` is the human name
/// (it can change); `chatroom_id` is Kick's separate chat room id and absent elsewhere.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChannelRef {
    /// The platform's stable id of the channel (Kick channel id, Twitch broadcaster id, Discord guild id).
    pub platform_id: String,
    /// The channel's name in URLs (`xqc`, `nebulacast`); for Discord the guild name.
    pub slug: String,
    /// Kick's chat room id, which differs from the channel id. Omitted from JSON when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chatroom_id: Option<String>,
}

impl ChannelRef {
    /// A channel without a separate chat room.
    pub fn new(platform_id: impl Into<String>, slug: impl Into<String>) -> Self {
        ChannelRef {
            platform_id: platform_id.into(),
            slug: slug.into(),
            chatroom_id: None,
        }
    }
}
