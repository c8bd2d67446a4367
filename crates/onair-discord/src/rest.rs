//! Discord's REST API as OnAir uses it, with the bot token: `GET /gateway/bot` (where to connect, the
//! recommended shard count, the session start limit and the identify concurrency), the bot's own user,
//! and a guild with its text channels (to name what is watched and check the chosen channels). Each
//! failure becomes a [`PlatformError`] that says what to do; a 429 is waited out once, as Discord's
//! `retry_after` says.
//!
//! The token never leaves the `Authorization` header: it is in no log line, error message or `Debug`.

use std::time::Duration;

use onair_core::{Platform, PlatformError};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::{DiscordConfig, http_client};

/// The longest a 429 is waited out before the request fails.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);

/// What `GET /gateway/bot` says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GatewayBot {
    /// Where new sessions connect.
    pub url: String,
    /// The shard count Discord recommends.
    pub shards: u32,
    /// How many sessions the bot may still start.
    pub session_start_limit: SessionStartLimit,
}

/// The bot's allowance of new sessions (Identify), per day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SessionStartLimit {
    /// Sessions allowed per period.
    pub total: u32,
    /// Sessions still allowed.
    pub remaining: u32,
    /// Milliseconds until `remaining` is back to `total`.
    pub reset_after: u64,
    /// Identifies allowed per 5 s (each in its own bucket `shard % max_concurrency`).
    pub max_concurrency: u32,
}

/// A user (the bot itself).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// Its id (for a bot, also its application's id).
    pub id: String,
    /// Its user name.
    pub username: String,
}

/// A guild.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Guild {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A channel of a guild.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GuildChannel {
    /// Its id.
    pub id: String,
    /// Its name, without `#`.
    #[serde(default)]
    pub name: Option<String>,
    /// Its type: 0 text, 2 voice, 4 category, 5 announcement, 15 forum...
    #[serde(rename = "type")]
    pub kind: u8,
}

impl GuildChannel {
    /// Whether messages are posted in it (text, announcement, voice chat).
    pub fn has_messages(&self) -> bool {
        matches!(self.kind, 0 | 2 | 5)
    }
}

/// Discord's REST API with the bot token. Cheap to clone.
#[derive(Clone)]
pub struct DiscordRest {
    http: reqwest::Client,
    api_url: String,
    authorization: HeaderValue,
}

impl std::fmt::Debug for DiscordRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordRest")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl DiscordRest {
    /// A client for `config`'s API with the bot `token`.
    pub fn new(config: &DiscordConfig, token: &SecretString) -> Result<DiscordRest, PlatformError> {
        let mut authorization = HeaderValue::from_str(&format!("Bot {}", token.expose_secret().trim()))
            .map_err(|_| PlatformError::Unauthorized {
                platform: Platform::Discord,
                detail: "the bot token has characters no token has".to_owned(),
            })?;
        authorization.set_sensitive(true);
        Ok(DiscordRest {
            http: http_client(config.http_timeout)?,
            api_url: config.api_url.trim_end_matches('/').to_owned(),
            authorization,
        })
    }

    /// Where to connect, how many shards, and how many sessions may still start.
    pub async fn gateway_bot(&self) -> Result<GatewayBot, PlatformError> {
        self.get("/gateway/bot", "the Gateway").await
    }

    /// The bot's own user (checks the token).
    pub async fn current_user(&self) -> Result<User, PlatformError> {
        self.get("/users/@me", "bot user").await
    }

    /// The guilds the bot is in (the first 200).
    pub async fn current_user_guilds(&self) -> Result<Vec<Guild>, PlatformError> {
        self.get("/users/@me/guilds", "server list").await
    }

    /// The guild `id` (the bot must be in it).
    pub async fn guild(&self, id: &str) -> Result<Guild, PlatformError> {
        self.get(&format!("/guilds/{id}"), &format!("server {id} the bot is in"))
            .await
    }

    /// The guild's channels.
    pub async fn guild_channels(&self, id: &str) -> Result<Vec<GuildChannel>, PlatformError> {
        self.get(
            &format!("/guilds/{id}/channels"),
            &format!("server {id} the bot is in"),
        )
        .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T, PlatformError> {
        let url = format!("{}{path}", self.api_url);
        let mut waited = false;
        loop {
            let response = self
                .http
                .get(&url)
                .header(AUTHORIZATION, self.authorization.clone())
                .send()
                .await
                .map_err(|e| PlatformError::Unreachable {
                    platform: Platform::Discord,
                    detail: onair_core::causes(&e.without_url()),
                })?;
            let status = response.status();
            if status.is_success() {
                // An answer that breaks off is the network's failure, not Discord's: Unreachable (tried
                // again later), never Protocol (it was, when the body was read and decoded in one go).
                let body = response.bytes().await.map_err(|e| PlatformError::Unreachable {
                    platform: Platform::Discord,
                    detail: format!(
                        "{path}: the answer broke off: {}",
                        onair_core::causes(&e.without_url())
                    ),
                })?;
                return serde_json::from_slice(&body).map_err(|e| PlatformError::Protocol {
                    platform: Platform::Discord,
                    detail: format!("{path}: {e}"),
                });
            }
            let body: ErrorBody = response.json().await.unwrap_or_default();
            match status {
                StatusCode::UNAUTHORIZED => {
                    return Err(PlatformError::Unauthorized {
                        platform: Platform::Discord,
                        detail: "Discord refused the bot token: paste it again from the Developer Portal \
                                 (Bot > Reset Token)"
                            .to_owned(),
                    });
                }
                StatusCode::NOT_FOUND => {
                    return Err(PlatformError::NotFound {
                        platform: Platform::Discord,
                        what: format!("{what} ({}; add the bot to the server first)", body.said(status)),
                    });
                }
                StatusCode::FORBIDDEN => {
                    return Err(PlatformError::Refused {
                        platform: Platform::Discord,
                        detail: format!(
                            "the bot may not read the {what} ({}): give it the View Channels permission there, or \
                             add it to the server again with `onair login discord`'s page",
                            body.said(status)
                        ),
                    });
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = Duration::from_secs_f64(body.retry_after.unwrap_or(1.0).clamp(0.0, 3600.0));
                    if waited || wait > MAX_RATE_LIMIT_WAIT {
                        return Err(PlatformError::RateLimited {
                            platform: Platform::Discord,
                            retry_after: wait,
                        });
                    }
                    tracing::warn!(
                        wait_ms = wait.as_millis() as u64,
                        path,
                        "Discord is rate-limiting; waiting"
                    );
                    tokio::time::sleep(wait).await;
                    waited = true;
                }
                _ => {
                    return Err(if status.is_server_error() {
                        PlatformError::Unreachable {
                            platform: Platform::Discord,
                            detail: format!("{path}: {}", body.said(status)),
                        }
                    } else {
                        PlatformError::Protocol {
                            platform: Platform::Discord,
                            detail: format!("{path}: {}", body.said(status)),
                        }
                    });
                }
            }
        }
    }
}

/// Discord's error body.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<u64>,
    #[serde(default)]
    retry_after: Option<f64>,
}

impl ErrorBody {
    fn said(&self, status: StatusCode) -> String {
        match (&self.message, self.code) {
            (Some(message), Some(code)) if code != 0 => format!("HTTP {status}: {message} ({code})"),
            (Some(message), _) => format!("HTTP {status}: {message}"),
            _ => format!("HTTP {status}"),
        }
    }
}

/// The page that adds the bot (application `application_id`) to a server, asking the one permission OnAir
/// needs: View Channels (to receive the chosen channels' messages).
pub fn authorize_url(application_id: &str) -> String {
    const PERMISSIONS: u64 = 1 << 10;
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot&permissions={PERMISSIONS}"
    )
}
