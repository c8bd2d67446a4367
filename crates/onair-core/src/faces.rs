//! The three faces every platform crate implements, so the hub drives Kick, Twitch and Discord alike:
//! [`Login`] (OAuth sign-in and token upkeep), [`Realtime`] (the live connection that yields events) and
//! [`Lookup`] (REST look-ups of channels and users).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use tokio::sync::{broadcast, mpsc, watch};

use crate::{Actor, ChannelRef, ConnectionState, Event, Platform, StreamInfo};

/// Where a realtime connection sends its events. Bounded: when the hub is behind, `send` waits
/// (back-pressure) instead of dropping.
pub type EventSink = mpsc::Sender<Event>;

/// What a platform call can fail with; each variant is something a caller can act on, and each message
/// says what happened and what to do.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The token is missing, expired or revoked.
    #[error("{platform} rejected the sign-in ({detail}); sign in to {platform} again")]
    Unauthorized {
        /// The platform that refused.
        platform: Platform,
        /// What it said, with no token in it.
        detail: String,
    },
    /// Too many requests; retry after the given delay.
    #[error("{platform} is rate-limiting OnAir; retrying in {} s", retry_after.as_secs())]
    RateLimited {
        /// The platform that refused.
        platform: Platform,
        /// How long to wait.
        retry_after: Duration,
    },
    /// The channel or user does not exist.
    #[error("{platform} has no {what}; check the spelling")]
    NotFound {
        /// The platform asked.
        platform: Platform,
        /// What was looked for, e.g. `channel "xqc"`.
        what: String,
    },
    /// The network failed or the platform is down; retrying later may work.
    #[error("could not reach {platform}: {detail}; check the internet connection and try again")]
    Unreachable {
        /// The platform that could not be reached.
        platform: Platform,
        /// The underlying error.
        detail: String,
    },
    /// The platform answered something OnAir does not understand; retrying will not help.
    #[error("{platform} sent something OnAir does not understand ({detail}); please report it")]
    Protocol {
        /// The platform at fault.
        platform: Platform,
        /// What was wrong.
        detail: String,
    },
    /// A sign-in did not finish: declined in the browser, abandoned, or its answer does not belong to the
    /// sign-in OnAir started.
    #[error("the {platform} sign-in did not finish ({detail}); start it again")]
    SignInAborted {
        /// The platform signed in to.
        platform: Platform,
        /// What happened.
        detail: String,
    },
    /// The platform refused for good (banned app key, revoked permission).
    #[error("{platform} refused the connection: {detail}")]
    Refused {
        /// The platform that refused.
        platform: Platform,
        /// Its reason and what to do.
        detail: String,
    },
}

/// A signed-in account. The tokens are secret: never logged, never stored outside the OS keychain.
#[derive(Debug, Clone)]
pub struct Session {
    /// The platform of the account.
    pub platform: Platform,
    /// The account signed in.
    pub account: Actor,
    /// The OAuth scopes granted.
    pub scopes: Vec<String>,
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, where the flow gives one.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires, if known.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What the user must do to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginChallenge {
    /// Open `authorize_url` in a browser window; the platform redirects back with a code
    /// (authorization code + PKCE).
    Browser {
        /// The URL to open.
        authorize_url: String,
        /// The `state` the redirect must carry back.
        state: String,
    },
    /// Go to `verification_uri` and type `user_code` (device code flow).
    DeviceCode {
        /// Where to go.
        verification_uri: String,
        /// What to type there.
        user_code: String,
        /// When the code stops working.
        expires_in: Duration,
        /// How often to poll for the result.
        interval: Duration,
    },
}

/// What came back from the user's side of a [`LoginChallenge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginGrant {
    /// The redirect of a browser login: its `code` and `state`.
    Redirect {
        /// The authorization code.
        code: String,
        /// The state, checked against the challenge's.
        state: String,
    },
    /// Poll the device code flow until the user approves.
    DeviceApproval,
}

/// Signs a user in to a platform and keeps the session's tokens fresh.
#[async_trait]
pub trait Login: Send + Sync {
    /// The platform this signs in to.
    fn platform(&self) -> Platform;
    /// Starts a sign-in: what the user must open or type.
    async fn begin(&self) -> Result<LoginChallenge, PlatformError>;
    /// Finishes the sign-in started by `challenge`.
    async fn complete(&self, challenge: &LoginChallenge, grant: LoginGrant)
    -> Result<Session, PlatformError>;
    /// Exchanges the refresh token for a new access token.
    async fn refresh(&self, session: &Session) -> Result<Session, PlatformError>;
    /// Revokes the session's tokens at the platform (sign out).
    async fn revoke(&self, session: &Session) -> Result<(), PlatformError>;
}

/// A live connection of one platform, serving one or more channels: one Pusher socket for every watched
/// Kick channel, one EventSub socket for every Twitch subscription, one gateway session per Discord shard.
/// It reconnects by the platform's rules on its own; the hub watches its state, asks for a reconnect
/// after it gave up, and shuts it down.
#[async_trait]
pub trait LiveConnection: Send {
    /// The latest state, for displays.
    fn state(&self) -> watch::Receiver<ConnectionState>;
    /// Every state change in order, for the connection log (the first call also gets those so far).
    fn state_changes(&mut self) -> broadcast::Receiver<ConnectionState>;
    /// Problems that do not stop the connection but cost some events (a permission missing for one
    /// subscription, a subscription the platform ended), each a sentence for people; empty when none.
    fn warnings(&self) -> watch::Receiver<Vec<String>> {
        watch::channel(Vec::new()).1
    }
    /// Reconnects now with a fresh retry count (the user's Reconnect button, the hub's slow retry).
    fn reconnect_now(&self);
    /// Closes the connection; every event received before is sent to the sink first.
    async fn shutdown(self: Box<Self>);
}

/// Opens live connections on a platform.
#[async_trait]
pub trait Realtime: Send + Sync {
    /// The platform this connects to.
    fn platform(&self) -> Platform;
    /// The connection's name for people and for the connection log: the channels' names by default
    /// (a Discord shard adds its number).
    fn connection_name(&self, channels: &[ChannelRef]) -> String {
        channels
            .iter()
            .map(|c| c.slug.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
    /// Connects to `channels` (each as the platform's look-up resolved it), sending every event to
    /// `events` (waiting when it is full: back-pressure, never a drop). Returns at once; the connection
    /// publishes its progress through [`LiveConnection::state`].
    async fn connect(
        &self,
        channels: &[ChannelRef],
        events: EventSink,
    ) -> Result<Box<dyn LiveConnection>, PlatformError>;
}

/// What a look-up of a channel returns.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelInfo {
    /// The channel's identity.
    pub channel: ChannelRef,
    /// Its name for people.
    pub display_name: String,
    /// The live stream, if the channel is live now.
    pub live: Option<StreamInfo>,
    /// The follower count, where the platform tells it.
    pub followers: Option<u64>,
}

/// REST look-ups on a platform.
#[async_trait]
pub trait Lookup: Send + Sync {
    /// The platform asked.
    fn platform(&self) -> Platform;
    /// Resolves a channel by its slug / login.
    async fn channel(&self, slug: &str) -> Result<ChannelInfo, PlatformError>;
    /// Resolves a user by login.
    async fn user(&self, login: &str) -> Result<Actor, PlatformError>;
}
