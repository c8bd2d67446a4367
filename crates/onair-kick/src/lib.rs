//! Kick for OnAir. So far: naming a channel to watch (`kick:SLUG[@CHANNEL_ID/CHATROOM_ID]`) and looking it
//! up over Kick's REST API. The event map (Pusher frame -> unified event), login and the platform that ties
//! them to `onair-pusher` follow. Knows nothing of SQLite, Tauri or Socket.IO.

mod rest;
mod spec;

pub use rest::{API_URL_ENV, DEFAULT_API_URL, KickChannel, KickRest, Livestream, RestConfig};
pub use spec::{KickIds, SpecError, WatchSpec};
