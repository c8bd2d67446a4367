//! The seam for private and presence channels: the client asks an authorizer for each channel's auth string
//! for the current socket, and never logs what it gets.

use async_trait::async_trait;
use secrecy::SecretString;

/// Authorises private (`private-`) and presence (`presence-`) channels, usually by asking the app's backend.
#[async_trait]
pub trait ChannelAuthorizer: Send + Sync + 'static {
    /// The auth for `channel` on the socket `socket_id`.
    async fn authorize(&self, socket_id: &str, channel: &str) -> Result<ChannelAuth, AuthError>;
}

/// What the authorizer returns: the `auth` string (`key:signature`) and, for presence channels, the member
/// data. Kept secret: it never reaches a log line.
#[derive(Debug, Clone)]
pub struct ChannelAuth {
    /// The `auth` value of the subscribe frame.
    pub auth: SecretString,
    /// The `channel_data` value (presence channels only).
    pub channel_data: Option<String>,
}

/// An authorizer's refusal, in words for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

/// Whether `channel` needs an authorizer.
pub fn needs_auth(channel: &str) -> bool {
    channel.starts_with("private-") || channel.starts_with("presence-")
}
