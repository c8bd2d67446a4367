//! Kick's REST look-ups (the website's unofficial `api/v2`): a channel's ids and live status by slug, a
//! user by name. Every request shares one limiter (1 per second); 429 waits (Retry-After, else 5 s), 5xx and
//! network failures back off, at most 3 retries. Cloudflare's browser check is handed to a [`BrowserFetch`]
//! when the client has one (the desktop loads the page in a real browser engine of its own, which runs
//! the check); without one it becomes an error that says how to give the ids by hand.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use onair_core::{Actor, ChannelInfo, ChannelRef, Lookup, Platform, PlatformError, StreamInfo, causes};
use onair_pusher::TokioClock;
use reqwest::StatusCode;

/// Kick's website, where the look-up API lives.
pub const DEFAULT_API_URL: &str = "https://kick.com";

/// The environment variable that replaces [`DEFAULT_API_URL`] (a local server in tests).
pub const API_URL_ENV: &str = "ONAIR_KICK_API_URL";

/// How the REST client behaves.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// The base URL, without a trailing slash.
    pub base_url: String,
    /// Requests per second, across every caller of the client.
    pub per_second: u32,
    /// Retries after a 429, a 5xx or a network failure.
    pub max_retries: u32,
    /// The wait after a 429 without `Retry-After`.
    pub rate_limited_wait: Duration,
    /// The first wait after a 5xx or a network failure (doubling).
    pub backoff: Duration,
    /// The limit for one request (`None`: no limit, for tests on tokio's paused clock, where a pending
    /// timer would fire while a local server answers on another thread).
    pub timeout: Option<Duration>,
}

impl RestConfig {
    /// The defaults, with the base URL from [`API_URL_ENV`] when it is set, else `configured` (a settings
    /// file's), else [`DEFAULT_API_URL`].
    pub fn from_env(configured: Option<&str>) -> Self {
        let from_env = std::env::var(API_URL_ENV).ok();
        let base_url = [from_env.as_deref(), configured]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|url| !url.is_empty())
            .unwrap_or(DEFAULT_API_URL);
        Self::with_base_url(base_url)
    }

    /// The defaults against `base_url`.
    pub fn with_base_url(base_url: &str) -> Self {
        RestConfig {
            base_url: base_url.trim_end_matches('/').to_owned(),
            per_second: 1,
            max_retries: 3,
            rate_limited_wait: Duration::from_secs(5),
            backoff: Duration::from_secs(1),
            timeout: Some(Duration::from_secs(10)),
        }
    }
}

/// A Kick channel as the look-up returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KickChannel {
    /// The channel id (`channel.{id}`).
    pub channel_id: u64,
    /// The chatroom id (`chatrooms.{id}.v2`).
    pub chatroom_id: u64,
    /// The broadcaster's user id.
    pub user_id: u64,
    /// The slug, as in `kick.com/SLUG`.
    pub slug: String,
    /// The broadcaster's name as shown.
    pub username: String,
    /// Followers, when given.
    pub followers: Option<u64>,
    /// The stream, when live.
    pub livestream: Option<Livestream>,
}

/// A live stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Livestream {
    /// Kick's id of the stream.
    pub id: u64,
    /// Its title.
    pub title: Option<String>,
    /// When it started (UTC).
    pub started_at: Option<DateTime<Utc>>,
    /// Viewers now.
    pub viewers: Option<u64>,
    /// The first category's name.
    pub category: Option<String>,
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// Loads a page the way a browser does, running whatever check the site asks for (Cloudflare's "Just a
/// moment"), and answers with the text of the page it ends on. The desktop app implements it with a hidden
/// webview of its own.
#[async_trait]
pub trait BrowserFetch: Send + Sync {
    /// The text of `url` once the browser has passed the site's check.
    async fn fetch(&self, url: &str) -> Result<String, PlatformError>;
}

/// The REST client; cheap to clone, clones share the limiter.
#[derive(Clone)]
pub struct KickRest {
    http: reqwest::Client,
    config: Arc<RestConfig>,
    limiter: Arc<Limiter>,
    browser: Option<Arc<dyn BrowserFetch>>,
}

impl KickRest {
    /// A client with `config`.
    pub fn new(config: RestConfig) -> Result<Self, PlatformError> {
        let tls = onair_pusher::tls_config().map_err(|e| PlatformError::Protocol {
            platform: Platform::Kick,
            detail: format!("TLS could not start: {e}"),
        })?;
        let mut http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            // Look-ups are seconds apart: keeping idle connections buys nothing (and their reaper is one
            // more timer).
            .pool_max_idle_per_host(0);
        if let Some(timeout) = config.timeout {
            http = http.timeout(timeout);
        }
        let http = http
            .user_agent(concat!("OnAir/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PlatformError::Protocol {
                platform: Platform::Kick,
                detail: format!("the HTTP client could not start: {e}"),
            })?;
        let per_second = NonZeroU32::new(config.per_second).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::direct_with_clock(
            Quota::per_second(per_second).allow_burst(NonZeroU32::MIN),
            TokioClock,
        );
        Ok(KickRest {
            http,
            config: Arc::new(config),
            limiter: Arc::new(limiter),
            browser: None,
        })
    }

    /// The same client, handing Cloudflare's browser check to `browser`.
    pub fn with_browser(mut self, browser: Arc<dyn BrowserFetch>) -> Self {
        self.browser = Some(browser);
        self
    }

    /// The channel named `slug`: its ids, its broadcaster and whether it is live.
    pub async fn channel(&self, slug: &str) -> Result<KickChannel, PlatformError> {
        let what = format!("channel {slug:?}");
        let body = self.get(&format!("/api/v2/channels/{slug}"), &what).await?;
        let wire: wire::Channel = serde_json::from_str(&body).map_err(|e| PlatformError::Protocol {
            platform: Platform::Kick,
            detail: format!("the {what} answer did not read as a channel: {e}"),
        })?;
        Ok(wire.into())
    }

    /// GETs `path`, paced, with the retry rules; the body on success.
    async fn get(&self, path: &str, what: &str) -> Result<String, PlatformError> {
        let url = format!("{}{path}", self.config.base_url);
        let mut retries = 0;
        let mut backoff = self.config.backoff;
        loop {
            self.paced().await;
            let failure = 'answer: {
                match self.http.get(&url).send().await {
                    Ok(response) => {
                        let status = response.status();
                        let retry_after = retry_after(&response);
                        // An answer that breaks off is a network failure like any other (it was once read
                        // as an empty body, and a 200 then failed as "not a channel", never retried).
                        let body = match response.text().await {
                            Ok(body) => body,
                            Err(e) => {
                                break 'answer Failure::Server(format!(
                                    "{what}: the answer broke off: {}",
                                    causes(&e)
                                ));
                            }
                        };
                        match classify(status, &body, what) {
                            Outcome::Done => return Ok(body),
                            Outcome::Challenged(error) => {
                                let Some(browser) = &self.browser else {
                                    return Err(error);
                                };
                                tracing::info!(%url, "kick.com asked for a browser check: loading it in a browser");
                                return browser.fetch(&url).await;
                            }
                            Outcome::Fail(error) => return Err(error),
                            Outcome::RateLimited => {
                                Failure::RateLimited(retry_after.unwrap_or(self.config.rate_limited_wait))
                            }
                            Outcome::ServerError => Failure::Server(format!("{what}: HTTP {status}")),
                        }
                    }
                    Err(e) => Failure::Server(format!("{what}: {}", causes(&e))),
                }
            };
            if retries >= self.config.max_retries {
                return Err(match failure {
                    Failure::RateLimited(retry_after) => PlatformError::RateLimited {
                        platform: Platform::Kick,
                        retry_after,
                    },
                    Failure::Server(detail) => PlatformError::Unreachable {
                        platform: Platform::Kick,
                        detail,
                    },
                });
            }
            retries += 1;
            let wait = match failure {
                Failure::RateLimited(wait) => wait,
                Failure::Server(_) => {
                    let wait = backoff;
                    backoff *= 2;
                    wait
                }
            };
            tracing::info!(%url, retry = retries, wait_ms = wait.as_millis() as u64, "retrying a Kick request");
            tokio::time::sleep(wait).await;
        }
    }

    /// Waits for the shared limiter.
    async fn paced(&self) {
        while let Err(not_until) = self.limiter.check() {
            let wait = not_until.earliest_possible().duration_since(TokioClock.now());
            tokio::time::sleep(wait).await;
        }
    }
}

/// Why an attempt failed in a way a retry may fix.
enum Failure {
    RateLimited(Duration),
    Server(String),
}

/// What a response means.
enum Outcome {
    Done,
    /// Cloudflare's browser check instead of the answer.
    Challenged(PlatformError),
    Fail(PlatformError),
    RateLimited,
    ServerError,
}

fn classify(status: StatusCode, body: &str, what: &str) -> Outcome {
    if status.is_success() {
        return Outcome::Done;
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Outcome::RateLimited;
    }
    if status.is_server_error() {
        return Outcome::ServerError;
    }
    if status == StatusCode::NOT_FOUND {
        return Outcome::Fail(PlatformError::NotFound {
            platform: Platform::Kick,
            what: what.to_owned(),
        });
    }
    if status == StatusCode::FORBIDDEN && looks_like_html(body) {
        return Outcome::Challenged(PlatformError::Refused {
            platform: Platform::Kick,
            detail: "kick.com asked for a browser check (Cloudflare) instead of answering the look-up. Give the \
                     channel's ids by hand: kick:SLUG@CHANNEL_ID/CHATROOM_ID (the README shows where to find them)"
                .to_owned(),
        });
    }
    Outcome::Fail(PlatformError::Protocol {
        platform: Platform::Kick,
        detail: format!("{what}: HTTP {status}"),
    })
}

fn looks_like_html(body: &str) -> bool {
    let start = body.trim_start();
    start.starts_with('<') || body.contains("Just a moment")
}

/// `Retry-After` in seconds, when given.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    // At most a minute: a look-up is never worth blocking longer.
    value
        .trim()
        .parse::<u64>()
        .ok()
        .map(|secs| Duration::from_secs(secs.min(60)))
}

mod wire {
    //! The look-up's answer as Kick sends it (only what OnAir reads; ids as numbers).
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Channel {
        pub id: u64,
        pub user_id: u64,
        pub slug: String,
        #[serde(default)]
        pub followers_count: Option<u64>,
        pub user: User,
        pub chatroom: Chatroom,
        #[serde(default)]
        pub livestream: Option<Livestream>,
    }

    #[derive(Deserialize)]
    pub struct User {
        pub username: String,
    }

    #[derive(Deserialize)]
    pub struct Chatroom {
        pub id: u64,
    }

    #[derive(Deserialize)]
    pub struct Livestream {
        pub id: u64,
        #[serde(default)]
        pub session_title: Option<String>,
        #[serde(default)]
        pub start_time: Option<String>,
        #[serde(default)]
        pub created_at: Option<String>,
        #[serde(default)]
        pub viewer_count: Option<u64>,
        #[serde(default)]
        pub is_live: Option<bool>,
        #[serde(default)]
        pub categories: Vec<Category>,
    }

    #[derive(Deserialize)]
    pub struct Category {
        pub name: String,
    }
}

impl From<wire::Channel> for KickChannel {
    fn from(channel: wire::Channel) -> Self {
        let livestream = channel
            .livestream
            .filter(|live| live.is_live != Some(false))
            .map(|live| Livestream {
                id: live.id,
                started_at: live
                    .start_time
                    .as_deref()
                    .or(live.created_at.as_deref())
                    .and_then(|text| crate::events::kick_time(Some(text))),
                title: live.session_title,
                viewers: live.viewer_count,
                category: live.categories.into_iter().next().map(|c| c.name),
            });
        KickChannel {
            channel_id: channel.id,
            chatroom_id: channel.chatroom.id,
            user_id: channel.user_id,
            slug: channel.slug,
            username: channel.user.username,
            followers: channel.followers_count,
            livestream,
        }
    }
}

#[async_trait]
impl Lookup for KickRest {
    fn platform(&self) -> Platform {
        Platform::Kick
    }

    async fn channel(&self, slug: &str) -> Result<ChannelInfo, PlatformError> {
        let channel = KickRest::channel(self, slug).await?;
        let mut channel_ref = ChannelRef::new(channel.channel_id.to_string(), &channel.slug);
        channel_ref.chatroom_id = Some(channel.chatroom_id.to_string());
        Ok(ChannelInfo {
            channel: channel_ref,
            display_name: channel.username,
            live: channel.livestream.map(|live| StreamInfo {
                stream_id: Some(live.id.to_string()),
                title: live.title,
                category: live.category,
            }),
            followers: channel.followers,
        })
    }

    /// Kick names a user by their channel: the look-up goes through it.
    async fn user(&self, login: &str) -> Result<Actor, PlatformError> {
        let slug = login.to_ascii_lowercase();
        if !crate::spec::is_slug(&slug) {
            return Err(PlatformError::NotFound {
                platform: Platform::Kick,
                what: format!("user {login:?}"),
            });
        }
        let channel = KickRest::channel(self, &slug).await?;
        let mut actor = Actor::new(channel.user_id.to_string(), &channel.slug);
        actor.display_name = channel.username;
        Ok(actor)
    }
}
