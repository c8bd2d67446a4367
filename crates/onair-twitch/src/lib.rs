//! Twitch for OnAir. This first part owns the EventSub WebSocket wire format ([`frame`]: the envelope and
//! the five message types, malformed frames refused with a reason) and the router from notifications to
//! unified events ([`router`]: the fourteen subscription types OnAir asks for, each to its event kind with
//! actor, target and data, the message id as the dedup key), and the subscriptions OnAir asks for
//! ([`subscriptions`]: types, versions, scopes, conditions, the Helix request body). The live client,
//! Helix, the device-code sign-in and the polling fallback build on them.

pub mod frame;
pub mod router;
pub mod subscriptions;

pub use frame::{Frame, FrameError, Notification, Revocation, Session, parse};
pub use router::{RouteError, route};
pub use subscriptions::{SUBSCRIPTIONS, SubscriptionType};
