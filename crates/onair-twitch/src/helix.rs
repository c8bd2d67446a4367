//! Helix, Twitch's REST API, as OnAir uses it. This module owns every Helix request: the headers (client id
//! and the signed-in user's bearer token), Twitch's rate-limit bucket as its `Ratelimit-*` headers describe it
//! (shared by every clone of the client), the retry rules (a refused token is renewed once; 429 waits for the
//! bucket's reset; 5xx and network failures back off briefly), cursor pagination, and the few endpoints OnAir
//! reads or writes: EventSub subscriptions, users, streams, and the lists the polling fallback reads
//! (followers, moderators, VIPs, subscribers). [`Helix`] also answers the platform-neutral [`Lookup`].
//!
//! The token never leaves the `Authorization` header: it is in no log line, error message or `Debug` output.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use onair_core::{Actor, ChannelInfo, ChannelRef, Lookup, Platform, PlatformError, StreamInfo, causes};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::{TwitchConfig, http_client};
use crate::credentials::Credentials;

/// The longest OnAir waits for Twitch's rate-limit bucket to refill (a reset further away is a clock
/// disagreement, not a reason to stall).
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// The wait after a 429 that does not say when the bucket refills.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);
/// Retries after a 429.
const MAX_RATE_LIMITED_RETRIES: u32 = 3;
/// The waits before the retries after a 5xx or a network failure (one retry per entry).
const SERVER_ERROR_BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];
/// Items per page asked of paginated endpoints (Helix's maximum).
const PAGE_SIZE: &str = "100";

/// A Helix client for the signed-in user. Cheap to clone: clones share one HTTP client and one view of
/// Twitch's rate-limit bucket.
#[derive(Clone)]
pub struct Helix {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    client_id: HeaderValue,
    credentials: Arc<Credentials>,
    /// When the bucket is known to be empty: the moment it refills (on tokio's clock).
    empty_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Helix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Helix")
            .field("base_url", &self.inner.base_url)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

/// What creating an EventSub subscription came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Twitch accepted it (202).
    New {
        /// The subscription's id (for deleting it).
        id: String,
        /// What it costs against the limit.
        cost: u64,
        /// What every subscription of this token costs together now.
        total_cost: u64,
        /// The limit of `total_cost`.
        max_total_cost: u64,
    },
    /// The same type and condition is already subscribed on this transport (409); nothing to do.
    AlreadyExists,
}

/// Someone following the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follower {
    /// The follower.
    pub user: Actor,
    /// When they followed.
    pub followed_at: DateTime<Utc>,
}

/// Someone subscribed to the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// The subscriber.
    pub user: Actor,
    /// The tier as Twitch spells it: `"1000"`, `"2000"` or `"3000"`.
    pub tier: String,
    /// Whether the subscription was a gift.
    pub is_gift: bool,
    /// Who gave it, for a gift (Twitch leaves the gifter blank for anonymous gifts).
    pub gifter: Option<Actor>,
}

impl Helix {
    /// A client against `config`'s Helix URL that signs its requests with `credentials`.
    pub fn new(config: &TwitchConfig, credentials: Arc<Credentials>) -> Result<Helix, PlatformError> {
        let http = http_client(config.http_timeout)?;
        let client_id =
            HeaderValue::from_str(credentials.client_id()).map_err(|_| PlatformError::Protocol {
                platform: Platform::Twitch,
                detail: "the Twitch client id has characters an HTTP header cannot carry".to_owned(),
            })?;
        Ok(Helix {
            inner: Arc::new(Inner {
                http,
                base_url: config.helix_url.trim_end_matches('/').to_owned(),
                client_id,
                credentials,
                empty_until: Mutex::new(None),
            }),
        })
    }

    /// The credentials requests are signed with.
    pub fn credentials(&self) -> &Arc<Credentials> {
        &self.inner.credentials
    }

    /// Creates an EventSub subscription (`POST /eventsub/subscriptions`) from `body`, as
    /// [`crate::subscriptions::request_body`] builds it.
    pub async fn create_subscription(&self, body: &Value) -> Result<Created, PlatformError> {
        let kind = body.get("type").and_then(Value::as_str).unwrap_or("(no type)");
        let what = format!("the {kind} subscription");
        let answer = self
            .send(Method::POST, "/eventsub/subscriptions", &[], Some(body), &what)
            .await?;
        match answer.status {
            StatusCode::ACCEPTED | StatusCode::OK => {
                let created: wire::Created = answer.json(&what)?;
                let Some(first) = created.data.into_iter().next() else {
                    return Err(protocol(format!(
                        "{what}: Twitch accepted it but named no subscription"
                    )));
                };
                Ok(Created::New {
                    id: first.id,
                    cost: first.cost,
                    total_cost: created.total_cost,
                    max_total_cost: created.max_total_cost,
                })
            }
            StatusCode::CONFLICT => Ok(Created::AlreadyExists),
            StatusCode::FORBIDDEN => Err(PlatformError::Refused {
                platform: Platform::Twitch,
                detail: format!(
                    "{}; the Twitch sign-in lacks the permission for {kind} events (sign in to Twitch again and \
                     grant it)",
                    answer.message()
                ),
            }),
            StatusCode::BAD_REQUEST => Err(protocol(format!("{what} was rejected: {}", answer.message()))),
            _ => Err(answer.unexpected(&what)),
        }
    }

    /// Deletes the EventSub subscription `id`; one that no longer exists counts as deleted.
    pub async fn delete_subscription(&self, id: &str) -> Result<(), PlatformError> {
        let what = format!("deleting subscription {id}");
        let answer = self
            .send(
                Method::DELETE,
                "/eventsub/subscriptions",
                &[("id", id.to_owned())],
                None,
                &what,
            )
            .await?;
        match answer.status {
            status if status.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            _ => Err(answer.unexpected(&what)),
        }
    }

    /// The user whose login is `login`, if there is one.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<Actor>, PlatformError> {
        self.user("login", login).await
    }

    /// The user whose id is `id`, if there is one.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<Actor>, PlatformError> {
        self.user("id", id).await
    }

    async fn user(&self, key: &'static str, value: &str) -> Result<Option<Actor>, PlatformError> {
        let what = format!("the user with {key} {value:?}");
        let users: wire::Data<wire::User> = self.get("/users", &[(key, value.to_owned())], &what).await?;
        Ok(users.data.into_iter().next().map(|user| Actor {
            display_name: name_or_login(user.display_name, &user.login),
            id: user.id,
            login: user.login,
        }))
    }

    /// The broadcaster's live stream, if they are live now.
    pub async fn stream(&self, broadcaster_id: &str) -> Result<Option<StreamInfo>, PlatformError> {
        let what = format!("the stream of broadcaster {broadcaster_id}");
        let streams: wire::Data<wire::Stream> = self
            .get("/streams", &[("user_id", broadcaster_id.to_owned())], &what)
            .await?;
        Ok(streams
            .data
            .into_iter()
            .find(|stream| stream.kind.as_deref().is_none_or(|kind| kind == "live"))
            .map(|stream| StreamInfo {
                stream_id: Some(stream.id),
                title: stream.title.filter(|t| !t.is_empty()),
                category: stream.game_name.filter(|g| !g.is_empty()),
            }))
    }

    /// The broadcaster's followers, newest first: every page, or with `since` the pages down to the first
    /// follower older than it (the rest are older still). Only the broadcaster or one of their moderators
    /// may read it, with the `moderator:read:followers` scope.
    pub async fn followers(
        &self,
        broadcaster_id: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Follower>, PlatformError> {
        let rows: Vec<wire::Follower> = self
            .paginate_until(
                "/channels/followers",
                &[("broadcaster_id", broadcaster_id.to_owned())],
                "the channel's followers",
                |page: &[wire::Follower]| {
                    since.is_some_and(|since| page.last().is_some_and(|row| row.followed_at < since))
                },
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Follower {
                user: row.user.into_actor(),
                followed_at: row.followed_at,
            })
            .collect())
    }

    /// The broadcaster's moderators (every page); the broadcaster must be the signed-in user.
    pub async fn moderators(&self, broadcaster_id: &str) -> Result<Vec<Actor>, PlatformError> {
        let rows: Vec<wire::UserRow> = self
            .paginate(
                "/moderation/moderators",
                &[("broadcaster_id", broadcaster_id.to_owned())],
                "the channel's moderators",
            )
            .await?;
        Ok(rows.into_iter().map(wire::UserRow::into_actor).collect())
    }

    /// The broadcaster's VIPs (every page); the broadcaster must be the signed-in user.
    pub async fn vips(&self, broadcaster_id: &str) -> Result<Vec<Actor>, PlatformError> {
        let rows: Vec<wire::UserRow> = self
            .paginate(
                "/channels/vips",
                &[("broadcaster_id", broadcaster_id.to_owned())],
                "the channel's VIPs",
            )
            .await?;
        Ok(rows.into_iter().map(wire::UserRow::into_actor).collect())
    }

    /// The broadcaster's subscribers (every page; Twitch lists the broadcaster too); the broadcaster must be
    /// the signed-in user.
    pub async fn subscribers(&self, broadcaster_id: &str) -> Result<Vec<Subscriber>, PlatformError> {
        let rows: Vec<wire::Subscriber> = self
            .paginate(
                "/subscriptions",
                &[("broadcaster_id", broadcaster_id.to_owned())],
                "the channel's subscribers",
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let gifter = match (row.gifter_id, row.gifter_login) {
                    (Some(id), Some(login)) if !id.is_empty() && !login.is_empty() => Some(Actor {
                        display_name: name_or_login(row.gifter_name, &login),
                        id,
                        login,
                    }),
                    _ => None,
                };
                Subscriber {
                    user: row.user.into_actor(),
                    tier: row.tier,
                    is_gift: row.is_gift,
                    gifter,
                }
            })
            .collect())
    }

    /// Every item of a paginated GET: asks for the largest pages and follows `pagination.cursor` until
    /// Twitch gives none.
    pub async fn paginate<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
        what: &str,
    ) -> Result<Vec<T>, PlatformError> {
        self.paginate_until(path, query, what, |_| false).await
    }

    /// Like [`Helix::paginate`], but stops after the first page for which `enough` says so.
    pub async fn paginate_until<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
        what: &str,
        enough: impl Fn(&[T]) -> bool,
    ) -> Result<Vec<T>, PlatformError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut page_query = query.to_vec();
            page_query.push(("first", PAGE_SIZE.to_owned()));
            if let Some(cursor) = &cursor {
                page_query.push(("after", cursor.clone()));
            }
            let page: wire::Page<T> = self.get(path, &page_query, what).await?;
            if enough(&page.data) {
                items.extend(page.data);
                return Ok(items);
            }
            items.extend(page.data);
            let next = page.pagination.and_then(|p| p.cursor).filter(|c| !c.is_empty());
            match next {
                // The same cursor twice would never end.
                Some(next) if cursor.as_ref() != Some(&next) => cursor = Some(next),
                _ => return Ok(items),
            }
        }
    }

    /// GETs `path` and reads a 200 answer as `T`.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
        what: &str,
    ) -> Result<T, PlatformError> {
        let answer = self.send(Method::GET, path, query, None, what).await?;
        if answer.status.is_success() {
            answer.json(what)
        } else {
            Err(answer.unexpected(what))
        }
    }

    /// Sends one request with the retry rules; any answer other than 401, 429 and 5xx is returned for the
    /// caller to read.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<&Value>,
        what: &str,
    ) -> Result<Answer, PlatformError> {
        let url = format!("{}{path}", self.inner.base_url);
        let mut token = self.inner.credentials.access_token();
        let mut renewed = false;
        let mut rate_limited = 0;
        let mut server_errors = 0;
        loop {
            self.wait_for_bucket().await;
            let mut request = self
                .inner
                .http
                .request(method.clone(), &url)
                .header("Client-Id", self.inner.client_id.clone())
                .header(AUTHORIZATION, bearer(&token)?);
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let failure = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    self.note_bucket(response.headers(), status);
                    let text = match response.text().await {
                        Ok(text) => Some(text),
                        Err(e) => {
                            tracing::info!(%url, "a Helix answer broke off: {}", causes(&e));
                            None
                        }
                    };
                    match (status, text) {
                        (StatusCode::UNAUTHORIZED, text) => {
                            let message = text.as_deref().map(twitch_message).unwrap_or_default();
                            if renewed {
                                return Err(PlatformError::Unauthorized {
                                    platform: Platform::Twitch,
                                    detail: format!(
                                        "Twitch refused the access token for {what} even after renewing it{}",
                                        suffix(&message)
                                    ),
                                });
                            }
                            renewed = true;
                            tracing::info!(%url, "Helix refused the access token: renewing it");
                            token = self.renew(&token).await?;
                            continue;
                        }
                        (StatusCode::TOO_MANY_REQUESTS, _) => Failure::RateLimited,
                        (status, _) if status.is_server_error() => {
                            Failure::Server(format!("{what}: HTTP {status}"))
                        }
                        (status, Some(body)) => return Ok(Answer { status, body }),
                        (status, None) => {
                            Failure::Server(format!("{what}: HTTP {status}, the answer broke off"))
                        }
                    }
                }
                Err(e) => Failure::Server(format!("{what}: {}", causes(&e))),
            };
            let wait = match failure {
                Failure::RateLimited => {
                    let wait = self.rate_limited_wait();
                    if rate_limited >= MAX_RATE_LIMITED_RETRIES {
                        return Err(PlatformError::RateLimited {
                            platform: Platform::Twitch,
                            retry_after: wait,
                        });
                    }
                    rate_limited += 1;
                    // The bucket's refill already holds back every request, this one included.
                    Duration::ZERO
                }
                Failure::Server(detail) => {
                    let Some(wait) = SERVER_ERROR_BACKOFF.get(server_errors).copied() else {
                        return Err(PlatformError::Unreachable {
                            platform: Platform::Twitch,
                            detail,
                        });
                    };
                    server_errors += 1;
                    wait
                }
            };
            tracing::info!(
                %url,
                rate_limited,
                server_errors,
                wait_ms = wait.as_millis() as u64,
                "retrying a Helix request"
            );
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// The token to retry with after Twitch refused `refused`.
    async fn renew(&self, refused: &SecretString) -> Result<SecretString, PlatformError> {
        match self.inner.credentials.renew_after_refusal(refused).await {
            Ok(token) => Ok(token),
            // Renewing may work once Twitch is reachable again: not a reason to sign in again.
            Err(error @ (PlatformError::Unauthorized { .. } | PlatformError::Unreachable { .. })) => {
                Err(error)
            }
            Err(error) => Err(PlatformError::Unauthorized {
                platform: Platform::Twitch,
                detail: format!("the access token was refused and renewing it failed: {error}"),
            }),
        }
    }

    /// Waits while the rate-limit bucket is known to be empty.
    async fn wait_for_bucket(&self) {
        let until = *lock(&self.inner.empty_until);
        if let Some(until) = until
            && until > Instant::now()
        {
            tracing::info!(
                wait_ms = (until - Instant::now()).as_millis() as u64,
                "the Helix rate limit is used up: waiting for it to refill"
            );
            tokio::time::sleep_until(until).await;
        }
    }

    /// Reads the bucket from an answer's `Ratelimit-*` headers. A 429 empties it: until its reset, else for
    /// a second.
    fn note_bucket(&self, headers: &HeaderMap, status: StatusCode) {
        let remaining = header_number(headers, "ratelimit-remaining");
        let reset = header_number(headers, "ratelimit-reset").map(reset_deadline);
        let limit = header_number(headers, "ratelimit-limit");
        let mut empty_until = lock(&self.inner.empty_until);
        if status == StatusCode::TOO_MANY_REQUESTS {
            let until = reset
                .filter(|until| *until > Instant::now())
                .unwrap_or_else(|| Instant::now() + DEFAULT_RATE_LIMIT_WAIT);
            tracing::info!(?limit, "Helix is rate-limiting OnAir");
            *empty_until = Some(until);
        } else if remaining == Some(0) {
            *empty_until = reset;
        } else if remaining.is_some() {
            *empty_until = None;
        }
    }

    /// How long until the bucket refills, after a 429.
    fn rate_limited_wait(&self) -> Duration {
        lock(&self.inner.empty_until)
            .map(|until| until.saturating_duration_since(Instant::now()))
            .filter(|wait| !wait.is_zero())
            .unwrap_or(DEFAULT_RATE_LIMIT_WAIT)
    }
}

#[async_trait]
impl Lookup for Helix {
    fn platform(&self) -> Platform {
        Platform::Twitch
    }

    async fn channel(&self, slug: &str) -> Result<ChannelInfo, PlatformError> {
        let what = format!("channel {slug:?}");
        let login = normal_login(slug).ok_or_else(|| not_found(&what))?;
        let user = self
            .user_by_login(&login)
            .await?
            .ok_or_else(|| not_found(&what))?;
        let live = self.stream(&user.id).await?;
        Ok(ChannelInfo {
            channel: ChannelRef::new(&user.id, &user.login),
            display_name: user.display_name,
            live,
            followers: None,
        })
    }

    async fn user(&self, login: &str) -> Result<Actor, PlatformError> {
        let what = format!("user {login:?}");
        let normal = normal_login(login).ok_or_else(|| not_found(&what))?;
        self.user_by_login(&normal).await?.ok_or_else(|| not_found(&what))
    }
}

/// Why an attempt failed in a way a retry may fix.
enum Failure {
    RateLimited,
    Server(String),
}

/// An answer the retry rules leave to the caller.
struct Answer {
    status: StatusCode,
    body: String,
}

impl Answer {
    fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, PlatformError> {
        serde_json::from_str(&self.body)
            .map_err(|e| protocol(format!("the answer for {what} did not read as Helix's: {e}")))
    }

    /// Twitch's `message`, else the status.
    fn message(&self) -> String {
        let message = twitch_message(&self.body);
        if message.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            message
        }
    }

    fn unexpected(&self, what: &str) -> PlatformError {
        let message = self.message();
        if self.status == StatusCode::FORBIDDEN {
            PlatformError::Refused {
                platform: Platform::Twitch,
                detail: format!("{what}: {message}; the Twitch sign-in lacks the permission for it"),
            }
        } else {
            protocol(format!("{what}: HTTP {}: {message}", self.status.as_u16()))
        }
    }
}

/// `message` from Twitch's error body (`{"error","status","message"}`), empty when there is none.
fn twitch_message(body: &str) -> String {
    serde_json::from_str::<wire::Error>(body)
        .ok()
        .and_then(|e| e.message)
        .unwrap_or_default()
}

fn suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    }
}

fn bearer(token: &SecretString) -> Result<HeaderValue, PlatformError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).map_err(|_| {
        PlatformError::Unauthorized {
            platform: Platform::Twitch,
            detail: "the stored access token has characters an HTTP header cannot carry".to_owned(),
        }
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The tokio deadline of the wall-clock reset `unix_seconds` (a response header: any number), at most
/// [`MAX_RATE_LIMIT_WAIT`] away.
fn reset_deadline(unix_seconds: u64) -> Instant {
    let wait = UNIX_EPOCH
        .checked_add(Duration::from_secs(unix_seconds))
        .map_or(MAX_RATE_LIMIT_WAIT, |reset| {
            reset.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)
        })
        .min(MAX_RATE_LIMIT_WAIT);
    Instant::now() + wait
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn protocol(detail: String) -> PlatformError {
    PlatformError::Protocol {
        platform: Platform::Twitch,
        detail,
    }
}

fn not_found(what: &str) -> PlatformError {
    PlatformError::NotFound {
        platform: Platform::Twitch,
        what: what.to_owned(),
    }
}

/// A login as Twitch stores it (lowercase), or `None` when it cannot be one (1 to 25 letters, digits and
/// underscores).
fn normal_login(text: &str) -> Option<String> {
    let login = text.trim().trim_start_matches('@').to_ascii_lowercase();
    let valid =
        (1..=25).contains(&login.len()) && login.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then_some(login)
}

fn name_or_login(name: Option<String>, login: &str) -> String {
    name.filter(|n| !n.is_empty()).unwrap_or_else(|| login.to_owned())
}

mod wire {
    //! Helix's answers as Twitch sends them (only what OnAir reads).
    use chrono::{DateTime, Utc};
    use onair_core::Actor;
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Error {
        #[serde(default)]
        pub message: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Data<T> {
        pub data: Vec<T>,
    }

    #[derive(Deserialize)]
    pub struct Page<T> {
        pub data: Vec<T>,
        #[serde(default)]
        pub pagination: Option<Pagination>,
    }

    #[derive(Deserialize)]
    pub struct Pagination {
        #[serde(default)]
        pub cursor: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Created {
        pub data: Vec<Subscription>,
        #[serde(default)]
        pub total_cost: u64,
        #[serde(default)]
        pub max_total_cost: u64,
    }

    #[derive(Deserialize)]
    pub struct Subscription {
        pub id: String,
        #[serde(default)]
        pub cost: u64,
    }

    #[derive(Deserialize)]
    pub struct User {
        pub id: String,
        pub login: String,
        #[serde(default)]
        pub display_name: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Stream {
        pub id: String,
        #[serde(default, rename = "type")]
        pub kind: Option<String>,
        #[serde(default)]
        pub title: Option<String>,
        #[serde(default)]
        pub game_name: Option<String>,
    }

    /// `user_id`, `user_login`, `user_name` (the display name).
    #[derive(Deserialize)]
    pub struct UserRow {
        pub user_id: String,
        pub user_login: String,
        #[serde(default)]
        pub user_name: Option<String>,
    }

    impl UserRow {
        pub fn into_actor(self) -> Actor {
            Actor {
                display_name: super::name_or_login(self.user_name, &self.user_login),
                id: self.user_id,
                login: self.user_login,
            }
        }
    }

    #[derive(Deserialize)]
    pub struct Follower {
        #[serde(flatten)]
        pub user: UserRow,
        pub followed_at: DateTime<Utc>,
    }

    #[derive(Deserialize)]
    pub struct Subscriber {
        #[serde(flatten)]
        pub user: UserRow,
        pub tier: String,
        #[serde(default)]
        pub is_gift: bool,
        #[serde(default)]
        pub gifter_id: Option<String>,
        #[serde(default)]
        pub gifter_login: Option<String>,
        #[serde(default)]
        pub gifter_name: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_reset_of_any_number_is_a_bounded_wait() {
        let now = Instant::now();
        // Past the clock's end: this overflowed (a panic) before.
        assert_eq!(reset_deadline(u64::MAX), now + MAX_RATE_LIMIT_WAIT);
        assert_eq!(reset_deadline(0), now);
        let soon = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 3600;
        assert_eq!(reset_deadline(soon), now + MAX_RATE_LIMIT_WAIT);
    }

    #[test]
    fn logins_are_lowercased_and_impossible_ones_refused() {
        assert_eq!(normal_login(" @NebulaCast ").as_deref(), Some("nebulacast"));
        assert_eq!(normal_login("a_1").as_deref(), Some("a_1"));
        assert_eq!(normal_login(""), None);
        assert_eq!(normal_login("two words"), None);
        assert_eq!(normal_login("x/../users"), None);
        assert_eq!(normal_login(&"a".repeat(26)), None);
    }

    #[test]
    fn twitchs_error_message_is_read_and_anything_else_is_empty() {
        assert_eq!(
            twitch_message(
                r#"{"error":"Forbidden","status":403,"message":"subscription missing proper authorization"}"#
            ),
            "subscription missing proper authorization"
        );
        assert_eq!(twitch_message("<html>"), "");
    }
}
