//! Signing in to Kick: OAuth 2.1 authorization code with PKCE (S256) through the `oauth2` crate, with the
//! user's own Kick app (client id and secret). It builds the authorize URL, exchanges the redirect's code,
//! refreshes and revokes tokens, and reads who signed in and their channel from Kick's public API. Tokens
//! never reach a log or an error message. Where the redirect is caught (a loopback listener, a login
//! window) is the caller's business.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use onair_core::causes;
use onair_core::{Actor, Login, LoginChallenge, LoginGrant, Platform, PlatformError, Session};
use secrecy::{ExposeSecret, SecretString};

/// Kick's OAuth server.
pub const DEFAULT_AUTH_URL: &str = "https://id.kick.com";
/// The environment variable that replaces [`DEFAULT_AUTH_URL`] (a local server in tests).
pub const AUTH_URL_ENV: &str = "ONAIR_KICK_AUTH_URL";
/// Kick's public API (who signed in, their channel).
pub const DEFAULT_PUBLIC_API_URL: &str = "https://api.kick.com";
/// The environment variable that replaces [`DEFAULT_PUBLIC_API_URL`].
pub const PUBLIC_API_URL_ENV: &str = "ONAIR_KICK_PUBLIC_API_URL";
/// The scopes OnAir asks for: who you are and your channel, nothing it does not use.
pub const SCOPES: [&str; 2] = ["user:read", "channel:read"];

/// The sign-in's settings.
#[derive(Clone)]
pub struct OAuthConfig {
    /// The Kick app's client id.
    pub client_id: String,
    /// The Kick app's client secret.
    pub client_secret: SecretString,
    /// Where the browser returns to, as registered in the Kick app: `http://localhost:PORT/callback`
    /// (localhost, not 127.0.0.1: Kick refuses the latter).
    pub redirect_uri: String,
    /// The OAuth server's base URL.
    pub auth_url: String,
    /// The public API's base URL.
    pub api_url: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// The limit for one request (`None` in tests on tokio's paused clock).
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("auth_url", &self.auth_url)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl OAuthConfig {
    /// The settings for the app `client_id` / `client_secret`, returning to `redirect_uri`, with the base
    /// URLs from [`AUTH_URL_ENV`] and [`PUBLIC_API_URL_ENV`] when set.
    pub fn new(client_id: &str, client_secret: SecretString, redirect_uri: &str) -> OAuthConfig {
        let from_env = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
                .trim_end_matches('/')
                .to_owned()
        };
        OAuthConfig {
            client_id: client_id.trim().to_owned(),
            client_secret,
            redirect_uri: redirect_uri.to_owned(),
            auth_url: from_env(AUTH_URL_ENV, DEFAULT_AUTH_URL),
            api_url: from_env(PUBLIC_API_URL_ENV, DEFAULT_PUBLIC_API_URL),
            scopes: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            timeout: Some(Duration::from_secs(15)),
        }
    }
}

/// The signed-in user's own channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnChannel {
    /// The slug, as in `kick.com/SLUG`.
    pub slug: String,
    /// The broadcaster's user id.
    pub user_id: String,
}

type OAuthClient = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Signs in to Kick. One value serves any number of sign-ins; each challenge's PKCE verifier is kept
/// until its redirect comes back (and used once).
pub struct KickLogin {
    config: OAuthConfig,
    oauth: OAuthClient,
    http: reqwest::Client,
    /// PKCE verifiers of the sign-ins under way, by state.
    pending: Mutex<HashMap<String, PkceCodeVerifier>>,
}

impl std::fmt::Debug for KickLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KickLogin")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl KickLogin {
    /// A sign-in with `config`.
    pub fn new(config: OAuthConfig) -> Result<KickLogin, PlatformError> {
        let bad = |what: &str, e: &dyn std::error::Error| PlatformError::Protocol {
            platform: Platform::Kick,
            detail: format!("the {what} is not a valid URL ({e})"),
        };
        let oauth = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.expose_secret().to_owned()))
            // Kick reads the client's credentials from the form body, not a Basic header.
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(
                AuthUrl::new(format!("{}/oauth/authorize", config.auth_url))
                    .map_err(|e| bad("sign-in URL", &e))?,
            )
            .set_token_uri(
                TokenUrl::new(format!("{}/oauth/token", config.auth_url))
                    .map_err(|e| bad("token URL", &e))?,
            )
            .set_redirect_uri(
                RedirectUrl::new(config.redirect_uri.clone()).map_err(|e| bad("redirect URL", &e))?,
            );
        let tls = onair_pusher::tls_config().map_err(|e| PlatformError::Protocol {
            platform: Platform::Kick,
            detail: format!("TLS could not start: {e}"),
        })?;
        let mut http = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            // A token endpoint must never send the code or a token on to somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("OnAir/", env!("CARGO_PKG_VERSION")));
        if let Some(timeout) = config.timeout {
            http = http.timeout(timeout);
        }
        let http = http.build().map_err(|e| PlatformError::Protocol {
            platform: Platform::Kick,
            detail: format!("the HTTP client could not start: {e}"),
        })?;
        Ok(KickLogin {
            config,
            oauth,
            http,
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// The signed-in user's own channel (`GET /public/v1/channels` with their token).
    pub async fn own_channel(&self, session: &Session) -> Result<OwnChannel, PlatformError> {
        let channels: wire::Envelope<wire::Channel> = self.api_get("/public/v1/channels", session).await?;
        let channel = channels
            .data
            .into_iter()
            .next()
            .ok_or_else(|| PlatformError::NotFound {
                platform: Platform::Kick,
                what: "channel for this account".to_owned(),
            })?;
        Ok(OwnChannel {
            slug: channel.slug,
            user_id: channel.broadcaster_user_id.to_string(),
        })
    }

    /// Who the token belongs to (`GET /public/v1/users` with it).
    async fn account(&self, access_token: &SecretString) -> Result<Actor, PlatformError> {
        let users: wire::Envelope<wire::User> = self.api_get_with("/public/v1/users", access_token).await?;
        let user = users
            .data
            .into_iter()
            .next()
            .ok_or_else(|| PlatformError::Protocol {
                platform: Platform::Kick,
                detail: "the account look-up answered no user".to_owned(),
            })?;
        Ok(Actor {
            id: user.user_id.to_string(),
            login: user.name.to_lowercase(),
            display_name: user.name,
        })
    }

    async fn api_get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        session: &Session,
    ) -> Result<T, PlatformError> {
        self.api_get_with(path, &session.access_token).await
    }

    async fn api_get_with<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        access_token: &SecretString,
    ) -> Result<T, PlatformError> {
        let url = format!("{}{path}", self.config.api_url);
        let response = self
            .http
            .get(&url)
            .bearer_auth(access_token.expose_secret())
            .send()
            .await
            .map_err(unreachable_error)?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(PlatformError::Unauthorized {
                platform: Platform::Kick,
                detail: format!("{path} answered HTTP 401"),
            });
        }
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(PlatformError::RateLimited {
                platform: Platform::Kick,
                retry_after: Duration::from_secs(5),
            });
        }
        if !status.is_success() {
            return Err(PlatformError::Protocol {
                platform: Platform::Kick,
                detail: format!("{path} answered HTTP {status}"),
            });
        }
        let body = response.bytes().await.map_err(unreachable_error)?;
        serde_json::from_slice(&body).map_err(|e| PlatformError::Protocol {
            platform: Platform::Kick,
            detail: format!("{path} answered something unreadable ({e})"),
        })
    }

    /// A session from a token answer; `account` when known (a refresh), else looked up.
    async fn session_from(
        &self,
        tokens: BasicTokenResponse,
        account: Option<Actor>,
        previous_refresh: Option<&SecretString>,
    ) -> Result<Session, PlatformError> {
        let access_token = SecretString::from(tokens.access_token().secret().to_owned());
        let account = match account {
            Some(account) => account,
            None => self.account(&access_token).await?,
        };
        let refresh_token = tokens
            .refresh_token()
            .map(|t| SecretString::from(t.secret().to_owned()))
            .or_else(|| previous_refresh.cloned());
        let scopes = tokens
            .scopes()
            .map(|scopes| scopes.iter().map(|s| s.to_string()).collect())
            .unwrap_or_else(|| self.config.scopes.clone());
        let expires_at = tokens
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| Utc::now() + d);
        Ok(Session {
            platform: Platform::Kick,
            account,
            scopes,
            access_token,
            refresh_token,
            expires_at,
        })
    }

    /// `POST /oauth/revoke?token=…&token_hint_type=…` (Kick takes them in the query).
    async fn revoke_one(&self, token: &SecretString, hint: &str) -> Result<(), PlatformError> {
        let url = format!("{}/oauth/revoke", self.config.auth_url);
        let response = self
            .http
            .post(&url)
            .query(&[("token", token.expose_secret()), ("token_hint_type", hint)])
            .send()
            .await
            .map_err(unreachable_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // A token Kick no longer knows is as good as revoked.
        if status == reqwest::StatusCode::BAD_REQUEST || status == reqwest::StatusCode::UNAUTHORIZED {
            tracing::debug!(hint, %status, "Kick did not know the token any more");
            return Ok(());
        }
        Err(if status.is_server_error() {
            PlatformError::Unreachable {
                platform: Platform::Kick,
                detail: format!("revoking the {hint} answered HTTP {status}"),
            }
        } else {
            PlatformError::Protocol {
                platform: Platform::Kick,
                detail: format!("revoking the {hint} answered HTTP {status}"),
            }
        })
    }
}

#[async_trait]
impl Login for KickLogin {
    fn platform(&self) -> Platform {
        Platform::Kick
    }

    async fn begin(&self) -> Result<LoginChallenge, PlatformError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .oauth
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.config.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        let state = state.secret().to_owned();
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(state.clone(), verifier);
        Ok(LoginChallenge::Browser {
            authorize_url: url.to_string(),
            state,
        })
    }

    async fn complete(
        &self,
        challenge: &LoginChallenge,
        grant: LoginGrant,
    ) -> Result<Session, PlatformError> {
        let aborted = |detail: &str| PlatformError::SignInAborted {
            platform: Platform::Kick,
            detail: detail.to_owned(),
        };
        let (LoginChallenge::Browser { state: expected, .. }, LoginGrant::Redirect { code, state }) =
            (challenge, grant)
        else {
            return Err(aborted(
                "Kick signs in through the browser, not with a device code",
            ));
        };
        // The verifier is used once, whatever happens next.
        let verifier = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(expected.as_str());
        if !constant_time_eq(state.as_bytes(), expected.as_bytes()) {
            return Err(aborted(
                "the browser came back from a sign-in OnAir did not start (the state does not match)",
            ));
        }
        let verifier =
            verifier.ok_or_else(|| aborted("this sign-in was already used or never started here"))?;
        let tokens = self
            .oauth
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&OAuthHttp(&self.http))
            .await
            .map_err(token_error)?;
        self.session_from(tokens, None, None).await
    }

    async fn refresh(&self, session: &Session) -> Result<Session, PlatformError> {
        let refresh = session
            .refresh_token
            .as_ref()
            .ok_or_else(|| PlatformError::Unauthorized {
                platform: Platform::Kick,
                detail: "the session has no refresh token".to_owned(),
            })?;
        let token = RefreshToken::new(refresh.expose_secret().to_owned());
        let tokens = self
            .oauth
            .exchange_refresh_token(&token)
            .request_async(&OAuthHttp(&self.http))
            .await
            .map_err(token_error)?;
        self.session_from(tokens, Some(session.account.clone()), Some(refresh))
            .await
    }

    async fn revoke(&self, session: &Session) -> Result<(), PlatformError> {
        // The refresh token first: with it gone, the access token cannot be renewed even if its own
        // revocation fails.
        if let Some(refresh) = &session.refresh_token {
            self.revoke_one(refresh, "refresh_token").await?;
        }
        self.revoke_one(&session.access_token, "access_token").await
    }
}

/// A token endpoint's failure in words a user can act on, never quoting the answer's body (it may hold a
/// token).
fn token_error(error: RequestTokenError<HttpFailure, BasicErrorResponse>) -> PlatformError {
    match error {
        RequestTokenError::ServerResponse(answer) => {
            let code = answer.error().as_ref().to_owned();
            let detail = match code.as_str() {
                "invalid_client" | "unauthorized_client" => {
                    "the client id or secret is wrong: check them in your Kick app's settings".to_owned()
                }
                "invalid_grant" => "the code or refresh token is no longer valid".to_owned(),
                _ => match answer.error_description() {
                    Some(description) => format!("{code}: {description}"),
                    None => code,
                },
            };
            PlatformError::Unauthorized {
                platform: Platform::Kick,
                detail,
            }
        }
        RequestTokenError::Request(failure) => PlatformError::Unreachable {
            platform: Platform::Kick,
            detail: failure.0,
        },
        RequestTokenError::Parse(error, _body) => PlatformError::Protocol {
            platform: Platform::Kick,
            detail: format!("the token answer could not be read (at {})", error.path()),
        },
        RequestTokenError::Other(detail) => PlatformError::Protocol {
            platform: Platform::Kick,
            detail,
        },
    }
}

fn unreachable_error(error: reqwest::Error) -> PlatformError {
    PlatformError::Unreachable {
        platform: Platform::Kick,
        // Without the URL: a revoke's carries the token.
        detail: causes(&error.without_url()),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A failed token request, in words (the URL left out).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpFailure(String);

/// `oauth2`'s HTTP through OnAir's reqwest client (rustls with ring, no redirects).
struct OAuthHttp<'a>(&'a reqwest::Client);

impl<'c> AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = HttpFailure;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpFailure>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request =
                reqwest::Request::try_from(request).map_err(|e| HttpFailure(causes(&e.without_url())))?;
            let response = self
                .0
                .execute(request)
                .await
                .map_err(|e| HttpFailure(causes(&e.without_url())))?;
            let mut answer = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| HttpFailure(causes(&e.without_url())))?;
            answer.body(body.to_vec()).map_err(|e| HttpFailure(e.to_string()))
        })
    }
}

mod wire {
    //! Kick's public API answers (only what OnAir reads).
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(super) struct Envelope<T> {
        pub(super) data: Vec<T>,
    }

    #[derive(Deserialize)]
    pub(super) struct User {
        pub(super) user_id: u64,
        pub(super) name: String,
    }

    #[derive(Deserialize)]
    pub(super) struct Channel {
        pub(super) broadcaster_user_id: u64,
        pub(super) slug: String,
    }
}
