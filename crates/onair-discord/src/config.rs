//! Where Discord is and how the connection behaves: the REST API's base URL, the Gateway URL when it is
//! not the one `GET /gateway/bot` gives, the shard count, the timeouts and the retry schedule. Each
//! endpoint can be replaced through an environment variable, so everything runs against local servers.

use std::time::Duration;

use onair_core::{Platform, PlatformError};
use onair_pusher::BackoffPolicy;

/// Discord's REST API, version 10.
pub const DEFAULT_API_URL: &str = "https://discord.com/api/v10";
/// Replaces the REST API's base URL.
pub const API_URL_ENV: &str = "ONAIR_DISCORD_API_URL";
/// Replaces the Gateway URL `GET /gateway/bot` gives (new sessions only: resumes go where Ready said).
pub const GATEWAY_URL_ENV: &str = "ONAIR_DISCORD_GATEWAY_URL";
/// The bot token, for headless use (it is then not kept); never logged.
pub const BOT_TOKEN_ENV: &str = "ONAIR_DISCORD_BOT_TOKEN";

/// How many shards to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shards {
    /// As many as Discord recommends for the bot (`GET /gateway/bot`).
    #[default]
    Auto,
    /// Exactly this many (at least 1).
    Fixed(u32),
}

/// Everything a Discord connection needs but the token.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// The REST API's base URL, without a trailing slash.
    pub api_url: String,
    /// The Gateway URL for new sessions, instead of the one `GET /gateway/bot` gives.
    pub gateway_url: Option<String>,
    /// The shard count.
    pub shards: Shards,
    /// How long opening a socket, and then receiving Hello, may take, each.
    pub connect_timeout: Duration,
    /// How long a new session may take to become Ready (or a resume to finish its replay).
    pub ready_timeout: Duration,
    /// Retries of one outage.
    pub backoff: BackoffPolicy,
    /// Each REST request's time limit.
    pub http_timeout: Duration,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            api_url: DEFAULT_API_URL.to_owned(),
            gateway_url: None,
            shards: Shards::Auto,
            connect_timeout: Duration::from_secs(10),
            ready_timeout: Duration::from_secs(30),
            backoff: BackoffPolicy {
                max_retries: 8,
                ..BackoffPolicy::default()
            },
            http_timeout: Duration::from_secs(15),
        }
    }
}

impl DiscordConfig {
    /// `configured` (a settings file's) with each endpoint from its environment variable when set.
    pub fn from_env(configured: &DiscordConfig) -> DiscordConfig {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().trim_end_matches('/').to_owned())
                .filter(|v| !v.is_empty())
        };
        DiscordConfig {
            api_url: env(API_URL_ENV).unwrap_or_else(|| configured.api_url.trim_end_matches('/').to_owned()),
            gateway_url: env(GATEWAY_URL_ENV).or_else(|| configured.gateway_url.clone()),
            ..configured.clone()
        }
    }
}

/// The HTTP client for Discord's REST API: rustls, no redirects (the token must never be sent on
/// somewhere else), OnAir's user agent in the form Discord asks of bots, `timeout` per request.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, PlatformError> {
    let tls = onair_pusher::tls_config().map_err(|e| PlatformError::Protocol {
        platform: Platform::Discord,
        detail: format!("TLS could not start: {e}"),
    })?;
    reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!(
            "DiscordBot (https://example.invalid/onair, ",
            env!("CARGO_PKG_VERSION"),
            ") OnAir"
        ))
        .build()
        .map_err(|e| PlatformError::Protocol {
            platform: Platform::Discord,
            detail: format!("the HTTP client could not start: {e}"),
        })
}

/// The Gateway URL to connect to: `base` with `/?v=10&encoding=json&compress=zlib-stream`, whatever query
/// `base` already had replaced (a resume URL from Ready has none; the parameters must never be lost).
pub fn gateway_query(base: &str) -> String {
    let base = base.split('?').next().unwrap_or(base).trim_end_matches('/');
    format!("{base}/?v=10&encoding=json&compress=zlib-stream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_added_once_whatever_the_base_url_looks_like() {
        for base in [
            "wss://gateway.discord.gg",
            "wss://gateway.discord.gg/",
            "wss://gateway.discord.gg/?v=9&encoding=etf",
        ] {
            assert_eq!(
                gateway_query(base),
                "wss://gateway.discord.gg/?v=10&encoding=json&compress=zlib-stream"
            );
        }
        assert_eq!(
            gateway_query("ws://127.0.0.1:9/resume"),
            "ws://127.0.0.1:9/resume/?v=10&encoding=json&compress=zlib-stream"
        );
    }
}
