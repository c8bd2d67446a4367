//! Where OnAir reaches Twitch and how its Twitch connection behaves: the three endpoints (EventSub
//! WebSocket, Helix, the OAuth server), each replaceable through an environment variable so everything can
//! run against local servers; the app's client id; the keepalive asked for; the retry schedule; the
//! polling cadence of the fallback. Also the one HTTP client setup Helix and the sign-in share.

use std::time::Duration;

use onair_core::{Platform, PlatformError};
use onair_pusher::BackoffPolicy;

/// Twitch's EventSub WebSocket.
pub const DEFAULT_EVENTSUB_URL: &str = "wss://eventsub.wss.twitch.tv/ws";
/// Twitch's Helix API.
pub const DEFAULT_HELIX_URL: &str = "https://api.twitch.tv/helix";
/// Twitch's OAuth server (device codes, tokens, validation, revocation).
pub const DEFAULT_AUTH_URL: &str = "https://id.twitch.tv/oauth2";

/// Replaces the EventSub WebSocket URL (a local server in tests).
pub const EVENTSUB_URL_ENV: &str = "ONAIR_TWITCH_EVENTSUB_URL";
/// Replaces the Helix base URL.
pub const HELIX_URL_ENV: &str = "ONAIR_TWITCH_HELIX_URL";
/// Replaces the OAuth server's base URL.
pub const AUTH_URL_ENV: &str = "ONAIR_TWITCH_AUTH_URL";
/// The client id of the Twitch app OnAir signs in with.
pub const CLIENT_ID_ENV: &str = "ONAIR_TWITCH_CLIENT_ID";
/// A user access token obtained elsewhere, for headless servers and tests (read once, never logged).
pub const ACCESS_TOKEN_ENV: &str = "ONAIR_TWITCH_ACCESS_TOKEN";

/// Everything OnAir's Twitch connection needs besides the sign-in.
#[derive(Debug, Clone)]
pub struct TwitchConfig {
    /// The client id of the user's (or OnAir's) Twitch app, registered as a public client.
    pub client_id: Option<String>,
    /// The EventSub WebSocket URL.
    pub eventsub_url: String,
    /// The Helix base URL (no trailing slash).
    pub helix_url: String,
    /// The OAuth server's base URL (no trailing slash).
    pub auth_url: String,
    /// The keepalive asked of EventSub (10 to 600 s); silence longer than this plus
    /// [`TwitchConfig::keepalive_leeway`] means the socket is dead.
    pub keepalive: Duration,
    /// Slack on top of the keepalive before the watchdog reconnects.
    pub keepalive_leeway: Duration,
    /// How long opening a socket and receiving its welcome may take, each.
    pub connect_timeout: Duration,
    /// Retries of one outage.
    pub backoff: BackoffPolicy,
    /// How often the polling fallback reads Helix while the socket is down.
    pub poll_while_down: Duration,
    /// How often it reads Helix while the socket is up (a safety net for anything the socket missed).
    pub poll_while_up: Duration,
    /// How long one HTTP request may take (`None` in tests on tokio's paused clock, where a request's
    /// timer would fire at once while a local server on its own threads answers).
    pub http_timeout: Option<Duration>,
}

impl Default for TwitchConfig {
    fn default() -> Self {
        TwitchConfig {
            client_id: None,
            eventsub_url: DEFAULT_EVENTSUB_URL.to_owned(),
            helix_url: DEFAULT_HELIX_URL.to_owned(),
            auth_url: DEFAULT_AUTH_URL.to_owned(),
            keepalive: Duration::from_secs(30),
            keepalive_leeway: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            backoff: BackoffPolicy::default(),
            poll_while_down: Duration::from_secs(60),
            poll_while_up: Duration::from_secs(3 * 60 * 60),
            http_timeout: Some(Duration::from_secs(10)),
        }
    }
}

impl TwitchConfig {
    /// The defaults with each endpoint and the client id from its environment variable when set, else
    /// from `configured` (a settings file's), else Twitch's own.
    pub fn from_env(configured: &TwitchConfig) -> TwitchConfig {
        let pick = |env: &str, configured: &str| {
            std::env::var(env)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| configured.to_owned())
                .trim_end_matches('/')
                .to_owned()
        };
        TwitchConfig {
            client_id: std::env::var(CLIENT_ID_ENV)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .or_else(|| configured.client_id.clone()),
            eventsub_url: pick(EVENTSUB_URL_ENV, &configured.eventsub_url),
            helix_url: pick(HELIX_URL_ENV, &configured.helix_url),
            auth_url: pick(AUTH_URL_ENV, &configured.auth_url),
            ..configured.clone()
        }
    }

    /// The client id, or an error that says how to get one.
    pub fn require_client_id(&self) -> Result<&str, PlatformError> {
        self.client_id.as_deref().ok_or_else(|| PlatformError::SignInAborted {
            platform: Platform::Twitch,
            detail: format!(
                "OnAir needs the client id of a Twitch app: register one at https://dev.twitch.tv/console/apps \
                 (client type Public, OAuth redirect http://localhost) and set {CLIENT_ID_ENV} or `client_id` \
                 under [twitch] in the settings file"
            ),
        })
    }

    /// The EventSub URL with the keepalive asked for (10 to 600 whole seconds).
    pub fn eventsub_url_with_keepalive(&self) -> String {
        let seconds = self.keepalive.as_secs().clamp(10, 600);
        let separator = if self.eventsub_url.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}keepalive_timeout_seconds={seconds}",
            self.eventsub_url
        )
    }
}

/// The HTTP client Helix and the sign-in use: rustls with the ring provider, no redirects (a token must
/// never be sent on somewhere else), OnAir's user agent, `timeout` per request when given.
pub(crate) fn http_client(timeout: Option<Duration>) -> Result<reqwest::Client, PlatformError> {
    let tls = onair_pusher::tls_config().map_err(|e| PlatformError::Protocol {
        platform: Platform::Twitch,
        detail: format!("TLS could not start: {e}"),
    })?;
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .redirect(reqwest::redirect::Policy::none());
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder
        .user_agent(concat!("OnAir/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| PlatformError::Protocol {
            platform: Platform::Twitch,
            detail: format!("the HTTP client could not start: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keepalive_is_clamped_into_twitchs_range_and_appended() {
        let mut config = TwitchConfig::default();
        assert_eq!(
            config.eventsub_url_with_keepalive(),
            "wss://eventsub.wss.twitch.tv/ws?keepalive_timeout_seconds=30"
        );
        config.keepalive = Duration::from_secs(3);
        config.eventsub_url = "ws://127.0.0.1:1/ws?x=1".into();
        assert_eq!(
            config.eventsub_url_with_keepalive(),
            "ws://127.0.0.1:1/ws?x=1&keepalive_timeout_seconds=10"
        );
    }

    #[test]
    fn a_missing_client_id_says_where_to_get_one() {
        let error = TwitchConfig::default().require_client_id().unwrap_err();
        assert!(error.to_string().contains("dev.twitch.tv/console"), "{error}");
    }
}
