//! Signing in to Twitch with the OAuth device code grant, as a public client (no client secret). This
//! module owns the whole token life: asking for a device code with the scopes OnAir's subscriptions need,
//! polling until the user approves it on Twitch's activation page (at Twitch's pace, slowing down when
//! asked, giving up when the code expires), validating a token to learn whose it is (Twitch wants every
//! token validated at start and hourly: the caller runs that loop with [`TwitchLogin::validate`]),
//! refreshing it (public clients' refresh tokens work once and rotate) and revoking it. The device codes
//! of the sign-ins under way stay in here; no token or device code ever reaches a log line, an error
//! message or a `Debug` print.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use onair_core::{Actor, Login, LoginChallenge, LoginGrant, Platform, PlatformError, Session, causes};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::config::{TwitchConfig, http_client};
use crate::subscriptions;

/// The grant type of a device code token request (RFC 8628).
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// What a `slow_down` answer adds to the polling interval (RFC 8628, section 3.5).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// How long to wait after a 429 that says nothing of when to come back.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The longest message of an error answer quoted in an error.
const MAX_QUOTED: usize = 200;

/// What Twitch says about a token it accepts ([`TwitchLogin::validate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The client id of the app the token was issued to.
    pub client_id: String,
    /// The login of the user the token belongs to.
    pub login: String,
    /// The id of the user the token belongs to.
    pub user_id: String,
    /// The scopes granted to the token.
    pub scopes: Vec<String>,
    /// How long the token has left; `None` when Twitch does not say (or says 0, its word for a token
    /// that does not expire).
    pub expires_in: Option<Duration>,
}

/// Signs in to Twitch with the device code grant and keeps the tokens fresh. One value serves any number
/// of sign-ins; each challenge's device code is kept here until its sign-in finishes.
pub struct TwitchLogin {
    client_id: String,
    auth_url: String,
    scopes: Vec<String>,
    http: reqwest::Client,
    /// The device codes of the sign-ins under way, by user code.
    pending: Mutex<HashMap<String, DeviceCode>>,
}

impl std::fmt::Debug for TwitchLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let under_way = self.pending.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("TwitchLogin")
            .field("client_id", &self.client_id)
            .field("auth_url", &self.auth_url)
            .field("scopes", &self.scopes)
            .field("sign_ins_under_way", &under_way)
            .finish_non_exhaustive()
    }
}

/// A device code Twitch handed out, with its polling pace and its end.
struct DeviceCode {
    code: SecretString,
    interval: Duration,
    expires_at: Instant,
}

/// How polling for one device code ended without tokens.
enum Poll {
    /// The user said no.
    Declined,
    /// The code expired (Twitch said so, or its time ran out).
    Expired,
}

impl TwitchLogin {
    /// A sign-in for the Twitch app in `config` (its client id, OAuth server and request timeout); fails
    /// with [`TwitchConfig::require_client_id`]'s error when there is no client id.
    pub fn new(config: &TwitchConfig) -> Result<TwitchLogin, PlatformError> {
        let client_id = config.require_client_id()?.trim().to_owned();
        Ok(TwitchLogin {
            client_id,
            auth_url: config.auth_url.trim_end_matches('/').to_owned(),
            scopes: subscriptions::scopes().into_iter().map(str::to_owned).collect(),
            http: http_client(config.http_timeout)?,
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Asks Twitch about `token` (`GET /validate`): whose it is, for which app, with which scopes, for
    /// how long. A token Twitch no longer accepts is [`PlatformError::Unauthorized`].
    pub async fn validate(&self, token: &SecretString) -> Result<Validated, PlatformError> {
        const WHAT: &str = "the token validation";
        let mut authorization =
            HeaderValue::from_str(&format!("OAuth {}", token.expose_secret())).map_err(|_| {
                PlatformError::Unauthorized {
                    platform: Platform::Twitch,
                    detail: "the access token holds characters no token can hold".to_owned(),
                }
            })?;
        authorization.set_sensitive(true);
        let request = self
            .http
            .get(format!("{}/validate", self.auth_url))
            .header(AUTHORIZATION, authorization);
        let answer = send(WHAT, request).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            return Err(PlatformError::Unauthorized {
                platform: Platform::Twitch,
                detail: format!("the access token is no longer valid{}", answer.quoted()),
            });
        }
        if !answer.status.is_success() {
            return Err(answer.failure(WHAT));
        }
        let validation: wire::Validation = read(WHAT, &answer.body)?;
        let (Some(login), Some(user_id)) = (validation.login, validation.user_id) else {
            return Err(PlatformError::Protocol {
                platform: Platform::Twitch,
                detail: "the validated token belongs to no user (an app token?)".to_owned(),
            });
        };
        Ok(Validated {
            client_id: validation.client_id,
            login,
            user_id,
            scopes: validation.scopes.unwrap_or_default(),
            expires_in: validation
                .expires_in
                .filter(|seconds| *seconds > 0)
                .map(Duration::from_secs),
        })
    }

    /// Polls the token endpoint for `device` every interval until the user approves, declines, or the
    /// code expires. Never polls at or after the code's end.
    async fn poll(&self, device: &DeviceCode) -> Result<Result<wire::Tokens, Poll>, PlatformError> {
        const WHAT: &str = "the sign-in's token request";
        let scopes = self.scopes.join(" ");
        let mut interval = device.interval;
        loop {
            let next = Instant::now() + interval;
            if next >= device.expires_at {
                // No poll can happen before the end: wait it out (the code stays usable until then), then
                // give up.
                tokio::time::sleep_until(device.expires_at).await;
                return Ok(Err(Poll::Expired));
            }
            tokio::time::sleep_until(next).await;
            let request = self.http.post(format!("{}/token", self.auth_url)).form(&[
                ("client_id", self.client_id.as_str()),
                ("device_code", device.code.expose_secret()),
                ("grant_type", DEVICE_CODE_GRANT),
                ("scopes", scopes.as_str()),
            ]);
            let answer = send(WHAT, request).await?;
            if answer.status.is_success() {
                return read("the sign-in's token answer", &answer.body).map(Ok);
            }
            if !answer.status.is_client_error() || answer.status == StatusCode::TOO_MANY_REQUESTS {
                return Err(answer.failure(WHAT));
            }
            // Twitch says `{"status":400,"message":"authorization_pending"}`; RFC 8628 servers say
            // `{"error":"authorization_pending"}`.
            let said = wire::ErrorAnswer::parse(&answer.body);
            match said.code().map(str::to_ascii_lowercase).as_deref() {
                Some("authorization_pending") => {
                    tracing::trace!("Twitch is still waiting for the user to approve the sign-in");
                }
                Some("slow_down") => {
                    interval += SLOW_DOWN_STEP;
                    tracing::debug!(
                        interval_s = interval.as_secs(),
                        "Twitch asked OnAir to poll more slowly"
                    );
                }
                Some("access_denied" | "authorization_declined") => return Ok(Err(Poll::Declined)),
                Some("expired_token" | "invalid device code") => return Ok(Err(Poll::Expired)),
                _ => return Err(answer.failure(WHAT)),
            }
        }
    }

    /// A session from a token answer for `account` (validated first when not given).
    async fn session_from(
        &self,
        tokens: wire::Tokens,
        account: Option<&Actor>,
        fallback_scopes: &[String],
    ) -> Result<Session, PlatformError> {
        let access_token = SecretString::from(tokens.access_token);
        let refresh_token = tokens.refresh_token.map(SecretString::from);
        let (account, validated_scopes) = match account {
            Some(account) => (account.clone(), None),
            None => {
                let validated = self.validate(&access_token).await?;
                (
                    Actor::new(validated.user_id, validated.login),
                    Some(validated.scopes),
                )
            }
        };
        let scopes = tokens
            .scope
            .map(wire::Scopes::into_vec)
            .or(validated_scopes)
            .unwrap_or_else(|| fallback_scopes.to_vec());
        Ok(Session {
            platform: Platform::Twitch,
            account,
            scopes,
            access_token,
            refresh_token,
            expires_at: tokens.expires_in.and_then(expiry),
        })
    }

    fn take_pending(&self, user_code: &str) -> Option<DeviceCode> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(user_code)
    }
}

#[async_trait]
impl Login for TwitchLogin {
    fn platform(&self) -> Platform {
        Platform::Twitch
    }

    /// `POST /device` with the client id and the scopes: the code the user types on Twitch.
    async fn begin(&self) -> Result<LoginChallenge, PlatformError> {
        const WHAT: &str = "the device code request";
        let scopes = self.scopes.join(" ");
        tracing::debug!(%scopes, "asking Twitch for a device code");
        let request = self.http.post(format!("{}/device", self.auth_url)).form(&[
            ("client_id", self.client_id.as_str()),
            ("scopes", scopes.as_str()),
        ]);
        let answer = send(WHAT, request).await?;
        if !answer.status.is_success() {
            return Err(answer.failure(WHAT));
        }
        let device: wire::DeviceAnswer = read("the device code answer", &answer.body)?;
        let expires_in = Duration::from_secs(device.expires_in);
        // A zero interval would poll without pause.
        let interval = Duration::from_secs(device.interval.max(1));
        let now = Instant::now();
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.retain(|_, code| code.expires_at > now);
            pending.insert(
                device.user_code.clone(),
                DeviceCode {
                    code: SecretString::from(device.device_code),
                    interval,
                    expires_at: now + expires_in,
                },
            );
        }
        tracing::info!(
            expires_in_s = expires_in.as_secs(),
            "the Twitch sign-in waits for the user to enter the code"
        );
        Ok(LoginChallenge::DeviceCode {
            verification_uri: device.verification_uri,
            user_code: device.user_code,
            expires_in,
            interval,
        })
    }

    /// Polls until the user approves the challenge's code, then validates the token to learn who signed
    /// in. When Twitch cannot be reached or rate-limits, the sign-in stays resumable: calling this again
    /// with the same challenge goes on polling (until the code expires). Dropping the future abandons the
    /// sign-in.
    async fn complete(
        &self,
        challenge: &LoginChallenge,
        grant: LoginGrant,
    ) -> Result<Session, PlatformError> {
        let aborted = |detail: &str| PlatformError::SignInAborted {
            platform: Platform::Twitch,
            detail: detail.to_owned(),
        };
        let (LoginChallenge::DeviceCode { user_code, .. }, LoginGrant::DeviceApproval) = (challenge, grant)
        else {
            return Err(aborted(
                "Twitch signs in with a device code, not through a browser redirect",
            ));
        };
        // One poller per code: taken out while polling, put back only if the sign-in can go on.
        let device = self.take_pending(user_code).ok_or_else(|| {
            aborted("this sign-in was never started here, has already finished, or its code expired")
        })?;
        let tokens = match self.poll(&device).await {
            Ok(Ok(tokens)) => tokens,
            Ok(Err(Poll::Declined)) => {
                tracing::info!("the user declined the Twitch sign-in");
                return Err(aborted("you declined it on Twitch"));
            }
            Ok(Err(Poll::Expired)) => {
                tracing::info!("the Twitch sign-in's code expired before it was approved");
                return Err(aborted("the code expired before it was approved"));
            }
            Err(error) => {
                let resumable = matches!(
                    error,
                    PlatformError::Unreachable { .. } | PlatformError::RateLimited { .. }
                );
                if resumable && device.expires_at > Instant::now() {
                    self.pending
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(user_code.clone(), device);
                }
                return Err(error);
            }
        };
        let session = self.session_from(tokens, None, &self.scopes).await?;
        tracing::info!(login = %session.account.login, "signed in to Twitch");
        Ok(session)
    }

    /// `POST /token` with `grant_type=refresh_token` and the client id (a public client sends no secret).
    /// The answer's refresh token replaces the old one, which no longer works.
    async fn refresh(&self, session: &Session) -> Result<Session, PlatformError> {
        const WHAT: &str = "the token refresh";
        let refresh = session
            .refresh_token
            .as_ref()
            .ok_or_else(|| PlatformError::Unauthorized {
                platform: Platform::Twitch,
                detail: "the session has no refresh token".to_owned(),
            })?;
        let request = self.http.post(format!("{}/token", self.auth_url)).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
            ("client_id", self.client_id.as_str()),
        ]);
        let answer = send(WHAT, request).await?;
        if answer.status == StatusCode::BAD_REQUEST || answer.status == StatusCode::UNAUTHORIZED {
            return Err(PlatformError::Unauthorized {
                platform: Platform::Twitch,
                detail: format!(
                    "Twitch refused the refresh token{} (it works once and expires after 30 days)",
                    answer.quoted()
                ),
            });
        }
        if !answer.status.is_success() {
            return Err(answer.failure(WHAT));
        }
        let tokens: wire::Tokens = read("the token refresh answer", &answer.body)?;
        let renewed = self
            .session_from(tokens, Some(&session.account), &session.scopes)
            .await?;
        tracing::debug!(login = %renewed.account.login, "the Twitch token was refreshed");
        Ok(renewed)
    }

    /// `POST /revoke` with the client id and the access token; a token Twitch no longer knows counts as
    /// revoked.
    async fn revoke(&self, session: &Session) -> Result<(), PlatformError> {
        const WHAT: &str = "the token revocation";
        let request = self.http.post(format!("{}/revoke", self.auth_url)).form(&[
            ("client_id", self.client_id.as_str()),
            ("token", session.access_token.expose_secret()),
        ]);
        let answer = send(WHAT, request).await?;
        if answer.status.is_success() {
            tracing::info!(login = %session.account.login, "signed out of Twitch");
            return Ok(());
        }
        if answer.status == StatusCode::BAD_REQUEST {
            let said = wire::ErrorAnswer::parse(&answer.body);
            if said
                .code()
                .is_some_and(|code| code.eq_ignore_ascii_case("invalid token"))
            {
                tracing::debug!("Twitch did not know the token any more");
                return Ok(());
            }
        }
        Err(answer.failure(WHAT))
    }
}

/// An answer read whole: its status, when to retry (for a 429) and its body.
struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl Answer {
    /// The error answer's own message, as `: message` (empty when it has none). Only ever called for an
    /// error answer, whose body holds no token.
    fn quoted(&self) -> String {
        match wire::ErrorAnswer::parse(&self.body).describe() {
            Some(message) => format!(": {message}"),
            None => String::new(),
        }
    }

    /// A failed answer to `what` as the error a caller can act on.
    fn failure(&self, what: &str) -> PlatformError {
        let status = self.status;
        if status == StatusCode::TOO_MANY_REQUESTS {
            return PlatformError::RateLimited {
                platform: Platform::Twitch,
                retry_after: self.retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            };
        }
        if status == StatusCode::UNAUTHORIZED {
            return PlatformError::Unauthorized {
                platform: Platform::Twitch,
                detail: format!("{what} answered HTTP 401{}", self.quoted()),
            };
        }
        if status.is_server_error() {
            return PlatformError::Unreachable {
                platform: Platform::Twitch,
                detail: format!("{what} answered HTTP {status}"),
            };
        }
        let said = wire::ErrorAnswer::parse(&self.body);
        if said.code().is_some_and(|code| {
            matches!(
                code.to_ascii_lowercase().as_str(),
                "invalid client" | "invalid_client"
            )
        }) {
            return PlatformError::Refused {
                platform: Platform::Twitch,
                detail: "Twitch does not know OnAir's client id; check the client id of your Twitch app \
                         (client type Public) at https://dev.twitch.tv/console/apps"
                    .to_owned(),
            };
        }
        PlatformError::Protocol {
            platform: Platform::Twitch,
            detail: format!("{what} answered HTTP {status}{}", self.quoted()),
        }
    }
}

/// Sends `request` and reads its answer whole. The request's form may hold a token: errors leave the URL
/// and the request out.
async fn send(what: &str, request: reqwest::RequestBuilder) -> Result<Answer, PlatformError> {
    let unreachable = |error: reqwest::Error| PlatformError::Unreachable {
        platform: Platform::Twitch,
        detail: format!("{what} failed: {}", causes(&error.without_url())),
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.bytes().await.map_err(unreachable)?.to_vec();
    tracing::trace!(%status, "{what} answered");
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// Reads a JSON answer. The error says where and how it was unreadable but never quotes it: serde's
/// messages can repeat a value, and a token answer's values are tokens.
fn read<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, PlatformError> {
    serde_json::from_slice(body).map_err(|error| {
        let kind = match error.classify() {
            serde_json::error::Category::Io => "could not be read",
            serde_json::error::Category::Syntax => "is not JSON",
            serde_json::error::Category::Data => "lacks a field or has one of the wrong type",
            serde_json::error::Category::Eof => "is cut off",
        };
        PlatformError::Protocol {
            platform: Platform::Twitch,
            detail: format!("{what} {kind} (line {}, column {})", error.line(), error.column()),
        }
    })
}

/// `seconds` from now, as a time.
fn expiry(seconds: u64) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(seconds).ok()?;
    Utc::now().checked_add_signed(chrono::TimeDelta::try_seconds(seconds)?)
}

mod wire {
    //! Twitch's OAuth answers (only what OnAir reads). The token answers derive no `Debug`: they hold
    //! tokens as plain strings until they become secrets.
    use serde::Deserialize;

    /// `POST /device`.
    #[derive(Deserialize)]
    pub(super) struct DeviceAnswer {
        pub(super) device_code: String,
        pub(super) expires_in: u64,
        pub(super) interval: u64,
        pub(super) user_code: String,
        pub(super) verification_uri: String,
    }

    /// `POST /token`, for a device code or a refresh token.
    #[derive(Deserialize)]
    pub(super) struct Tokens {
        pub(super) access_token: String,
        pub(super) refresh_token: Option<String>,
        pub(super) expires_in: Option<u64>,
        pub(super) scope: Option<Scopes>,
    }

    /// Twitch lists the granted scopes; RFC 6749 servers give them space-separated.
    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum Scopes {
        List(Vec<String>),
        Text(String),
    }

    impl Scopes {
        pub(super) fn into_vec(self) -> Vec<String> {
            match self {
                Scopes::List(scopes) => scopes,
                Scopes::Text(scopes) => scopes.split_whitespace().map(str::to_owned).collect(),
            }
        }
    }

    /// `GET /validate`.
    #[derive(Deserialize)]
    pub(super) struct Validation {
        pub(super) client_id: String,
        pub(super) login: Option<String>,
        pub(super) user_id: Option<String>,
        pub(super) scopes: Option<Vec<String>>,
        pub(super) expires_in: Option<u64>,
    }

    /// An error answer: Twitch's `{"status":400,"message":"…"}` or RFC 6749's
    /// `{"error":"…","error_description":"…"}`.
    #[derive(Deserialize, Default)]
    pub(super) struct ErrorAnswer {
        message: Option<String>,
        error: Option<String>,
        error_description: Option<String>,
    }

    impl ErrorAnswer {
        /// The answer of a failed request; empty when it is not JSON.
        pub(super) fn parse(body: &[u8]) -> ErrorAnswer {
            serde_json::from_slice(body).unwrap_or_default()
        }

        /// The machine-readable part: RFC 6749's `error`, else Twitch's `message`.
        pub(super) fn code(&self) -> Option<&str> {
            self.error.as_deref().or(self.message.as_deref()).map(str::trim)
        }

        /// The message for people, shortened and on one line.
        pub(super) fn describe(&self) -> Option<String> {
            let text = match (&self.error, &self.error_description, &self.message) {
                (Some(error), Some(description), _) => format!("{error}: {description}"),
                (Some(error), None, _) => error.clone(),
                (None, _, Some(message)) => message.clone(),
                (None, Some(description), None) => description.clone(),
                (None, None, None) => return None,
            };
            let text: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(super::MAX_QUOTED)
                .collect();
            let text = text.trim().to_owned();
            (!text.is_empty()).then_some(text)
        }
    }
}
