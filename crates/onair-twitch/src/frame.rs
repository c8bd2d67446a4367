//! EventSub WebSocket frames: every frame is a text JSON `{metadata, payload}`; `metadata.message_type`
//! says which of the five it is. A frame that is not valid JSON, lacks a field its type needs, or has a
//! type OnAir does not know is an error naming what is wrong (the caller logs it and reads on).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Not the JSON of an EventSub frame.
    #[error("not an EventSub frame: {0}")]
    Json(#[from] serde_json::Error),
    /// A message type Twitch has not documented.
    #[error("unknown EventSub message type {0:?}")]
    UnknownType(String),
    /// A field the message type needs is missing.
    #[error("EventSub {message_type} frame without {field}")]
    Missing {
        /// The message type.
        message_type: &'static str,
        /// The field.
        field: &'static str,
    },
}

/// An EventSub session, as the welcome or the reconnect message describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Session {
    /// The session id, which every subscription's transport names.
    pub id: String,
    /// `connected` or `reconnecting`.
    pub status: String,
    /// Seconds without a frame after which the connection is dead (welcome only).
    pub keepalive_timeout_seconds: Option<u64>,
    /// Where to reconnect to, as given (reconnect only).
    pub reconnect_url: Option<String>,
    /// When the session connected.
    pub connected_at: Option<DateTime<Utc>>,
}

/// A notification: one event of a subscription.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Twitch's id of the message; a resend carries the same one.
    pub message_id: String,
    /// When Twitch sent it.
    pub message_timestamp: DateTime<Utc>,
    /// The subscription type (`channel.follow`).
    pub subscription_type: String,
    /// Its version (`2`).
    pub subscription_version: String,
    /// The `event` object as sent.
    pub event: Box<RawValue>,
}

/// A subscription Twitch ended (the token lost a scope, the user was removed, the version retired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Twitch's id of the message.
    pub message_id: String,
    /// The subscription's id.
    pub subscription_id: String,
    /// Its type.
    pub subscription_type: String,
    /// Why: `authorization_revoked`, `user_removed`, `version_removed`, ...
    pub status: String,
}

/// One EventSub frame.
#[derive(Debug, Clone)]
pub enum Frame {
    /// The first frame: the session to subscribe on.
    Welcome(Session),
    /// Nothing happened for a while; the connection lives.
    Keepalive,
    /// An event.
    Notification(Notification),
    /// Move to `reconnect_url`; the subscriptions come along.
    Reconnect(Session),
    /// A subscription ended.
    Revocation(Revocation),
}

#[derive(Deserialize)]
struct Wire<'a> {
    metadata: Metadata,
    #[serde(borrow)]
    payload: &'a RawValue,
}

#[derive(Deserialize)]
struct Metadata {
    message_id: String,
    message_type: String,
    message_timestamp: DateTime<Utc>,
    subscription_type: Option<String>,
    subscription_version: Option<String>,
}

#[derive(Deserialize)]
struct SessionPayload {
    session: Session,
}

#[derive(Deserialize)]
struct NotificationPayload<'a> {
    #[serde(borrow)]
    event: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RevocationPayload {
    subscription: Subscription,
}

#[derive(Deserialize)]
struct Subscription {
    id: String,
    status: String,
    #[serde(rename = "type")]
    kind: String,
}

/// Reads one frame.
pub fn parse(text: &str) -> Result<Frame, FrameError> {
    let wire: Wire<'_> = serde_json::from_str(text)?;
    let meta = wire.metadata;
    let payload = wire.payload.get();
    Ok(match meta.message_type.as_str() {
        "session_welcome" => Frame::Welcome(serde_json::from_str::<SessionPayload>(payload)?.session),
        "session_keepalive" => Frame::Keepalive,
        "session_reconnect" => {
            let session = serde_json::from_str::<SessionPayload>(payload)?.session;
            if session.reconnect_url.is_none() {
                return Err(FrameError::Missing {
                    message_type: "session_reconnect",
                    field: "reconnect_url",
                });
            }
            Frame::Reconnect(session)
        }
        "notification" => {
            let missing = |field| FrameError::Missing {
                message_type: "notification",
                field,
            };
            let event = serde_json::from_str::<NotificationPayload<'_>>(payload)?
                .event
                .ok_or_else(|| missing("payload.event"))?;
            Frame::Notification(Notification {
                message_id: meta.message_id,
                message_timestamp: meta.message_timestamp,
                subscription_type: meta
                    .subscription_type
                    .ok_or_else(|| missing("metadata.subscription_type"))?,
                subscription_version: meta.subscription_version.unwrap_or_else(|| "1".to_owned()),
                event: event.to_owned(),
            })
        }
        "revocation" => {
            let subscription = serde_json::from_str::<RevocationPayload>(payload)?.subscription;
            Frame::Revocation(Revocation {
                message_id: meta.message_id,
                subscription_id: subscription.id,
                subscription_type: meta.subscription_type.unwrap_or(subscription.kind),
                status: subscription.status,
            })
        }
        other => return Err(FrameError::UnknownType(other.to_owned())),
    })
}
