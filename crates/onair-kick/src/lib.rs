//! Kick for OnAir: the event map (a Pusher frame's event and payload -> unified events), naming a channel to
//! watch (`kick:SLUG[@CHANNEL_ID/CHATROOM_ID]`), looking it up over Kick's REST API, watching channels live
//! over `onair-pusher`, signing in (OAuth 2.1 + PKCE), and [`KickPlatform`], which puts them behind the
//! core's three faces. Knows nothing of SQLite, Tauri or Socket.IO.

mod events;
mod live;
mod login;
mod platform;
mod rest;
#[cfg(feature = "simulator")]
pub mod simulator;
mod spec;

pub use events::{EVENT_PREFIX, EventMap, Mapped, bare, emotes};
pub use live::{KickLive, PUSHER_APP_KEY, PUSHER_URL_ENV, endpoint, feeds, ids_of};
pub use login::{
    AUTH_URL_ENV, DEFAULT_AUTH_URL, DEFAULT_PUBLIC_API_URL, KickLogin, OAuthConfig, OwnChannel,
    PUBLIC_API_URL_ENV, SCOPES,
};
pub use platform::KickPlatform;
pub use rest::{API_URL_ENV, BrowserFetch, DEFAULT_API_URL, KickChannel, KickRest, Livestream, RestConfig};
pub use spec::{KickIds, SpecError, WatchSpec};
