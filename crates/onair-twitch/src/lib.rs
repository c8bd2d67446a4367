//! Twitch for OnAir. [`frame`] owns the EventSub WebSocket wire format, [`router`] turns notifications into
//! unified events, [`subscriptions`] lists what OnAir subscribes to and the scopes that allow it,
//! [`config`] says where Twitch is, [`credentials`] holds the signed-in token, [`helix`] is the REST client,
//! [`login`] the device-code sign-in, [`live`] the EventSub connection that keeps itself up, [`poll`] the
//! polling fallback with [`reconcile`] its comparison, and [`platform`] puts them behind OnAir's three
//! platform faces.

pub mod config;
pub mod credentials;
pub mod frame;
pub mod helix;
pub mod live;
pub mod login;
pub mod platform;
pub mod poll;
pub mod reconcile;
pub mod router;
pub mod subscriptions;
#[cfg(feature = "test-server")]
pub mod testing;

pub use config::TwitchConfig;
pub use credentials::Credentials;
pub use frame::{Frame, FrameError, Notification, Revocation, Session, parse};
pub use helix::{Created, Follower, Helix, Subscriber};
pub use live::{LiveOptions, SessionSetup, TwitchLive};
pub use login::{TwitchLogin, Validated};
pub use router::{RouteError, route};
pub use subscriptions::{SUBSCRIPTIONS, SubscriptionType};
