//! OnAir's domain model, shared by every other crate and free of I/O.
//!
//! It owns the unified [`Event`] every platform event becomes, its public JSON form (version 1), the
//! identities events refer to ([`Platform`], [`Actor`], [`ChannelRef`]), a channel's recorded
//! [`Community`], the [`ConnectionState`] every
//! connection publishes, and the three faces each platform crate implements ([`Login`], [`Realtime`],
//! [`Lookup`]). It must never know about SQLite, Tauri, Socket.IO or any one platform's wire format.

mod actor;
mod causes;
mod channel;
mod community;
mod connection;
mod data;
mod event;
mod faces;
mod kind;
mod platform;

pub use actor::Actor;
pub use causes::causes;
pub use channel::ChannelRef;
pub use community::Community;
pub use connection::{ConnectionId, ConnectionState, StatePublisher, StateReader, state_channel};
pub use data::*;
pub use event::{Event, EventJsonError, Offset};
pub use faces::{
    ChannelInfo, EventSink, LiveConnection, Login, LoginChallenge, LoginGrant, Lookup, PlatformError,
    Realtime, Session,
};
pub use kind::{EventData, EventKind, UnknownKind};
pub use platform::{Platform, UnknownPlatform};

#[cfg(feature = "samples")]
pub mod sample;
#[cfg(feature = "ts")]
pub mod ts;
