//! The accounts OnAir is signed in to, kept in the secret store (never the settings file or the
//! database): each platform's session (tokens, expiry, who) and the client secrets of the users' own apps.
//! It also keeps a session fresh: refreshed ahead of its expiry, saved, and a refusal reported as "sign in
//! again" instead of retried forever.

use std::time::Duration;

use chrono::{DateTime, Utc};
use onair_core::{Actor, Login, Platform, PlatformError, Session};
use onair_secrets::{Secrets, SecretsError};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// How long before its expiry a token is renewed.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(10 * 60);

/// After a failed refresh that may work later (network, Kick down), the wait before the next try.
pub const REFRESH_RETRY: Duration = Duration::from_secs(60);

/// The longest single wait of [`keep_fresh`].
const WAKE_STEP: Duration = Duration::from_secs(5 * 60);

/// What signing out did.
#[derive(Debug)]
pub enum SignedOut {
    /// No account was signed in.
    NotSignedIn,
    /// The account (its display name) is forgotten; `revoke_failed` says why the platform did not revoke its tokens.
    Forgotten {
        /// The account's name.
        name: String,
        /// The platform's refusal to revoke, if any (the tokens are forgotten here all the same).
        revoke_failed: Option<PlatformError>,
    },
}

impl SignedOut {
    /// What the user should know when `platform` could not revoke the tokens (they are forgotten here all
    /// the same); `None` when nothing is left to do.
    pub fn revoke_warning(&self, platform: Platform) -> Option<String> {
        let SignedOut::Forgotten {
            revoke_failed: Some(e),
            ..
        } = self
        else {
            return None;
        };
        let (name, advice) = match platform {
            Platform::Kick => (
                "Kick",
                "remove OnAir from the connected apps in your Kick settings",
            ),
            Platform::Twitch => (
                "Twitch",
                "disconnect OnAir under Connections in your Twitch settings",
            ),
            Platform::Discord => (
                "Discord",
                "remove OnAir under Authorized Apps in your Discord settings",
            ),
        };
        Some(format!(
            "Signed out here, but {name} could not revoke the tokens ({e}). To be sure, {advice}."
        ))
    }
}

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Account {
    /// The session and its tokens.
    pub session: Session,
    /// The account's own channel's slug, when it has one.
    pub own_channel: Option<String>,
}

/// What went wrong with an account.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The secret store failed.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// What the store holds is not an account OnAir wrote.
    #[error("the saved {platform} sign-in could not be read; sign in to {platform} again")]
    Unreadable {
        /// The platform.
        platform: Platform,
    },
}

/// The accounts, over a secret store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Accounts {
    secrets: Secrets,
}

/// An account as stored: a JSON document, as one secret.
#[derive(Serialize, Deserialize)]
struct Record {
    account: Actor,
    scopes: Vec<String>,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    own_channel: Option<String>,
}

impl Accounts {
    /// The accounts kept in `secrets`.
    pub fn new(secrets: Secrets) -> Accounts {
        Accounts { secrets }
    }

    /// The secret store underneath (to say where secrets are kept).
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The account signed in on `platform`, if any.
    pub async fn load(&self, platform: Platform) -> Result<Option<Account>, AccountError> {
        let Some(json) = self.secrets.get(&session_key(platform)).await? else {
            return Ok(None);
        };
        let record: Record =
            serde_json::from_str(json.expose_secret()).map_err(|_| AccountError::Unreadable { platform })?;
        Ok(Some(Account {
            session: Session {
                platform,
                account: record.account,
                scopes: record.scopes,
                access_token: SecretString::from(record.access_token),
                refresh_token: record.refresh_token.map(SecretString::from),
                expires_at: record.expires_at,
            },
            own_channel: record.own_channel,
        }))
    }

    /// Saves `account`, replacing the platform's previous one.
    pub async fn save(&self, account: &Account) -> Result<(), AccountError> {
        let session = &account.session;
        let record = Record {
            account: session.account.clone(),
            scopes: session.scopes.clone(),
            access_token: session.access_token.expose_secret().to_owned(),
            refresh_token: session
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            expires_at: session.expires_at,
            own_channel: account.own_channel.clone(),
        };
        let json = serde_json::to_string(&record).map_err(|_| AccountError::Unreadable {
            platform: session.platform,
        })?;
        self.secrets
            .set(&session_key(session.platform), &SecretString::from(json))
            .await?;
        Ok(())
    }

    /// Forgets the platform's account; `false` when there was none.
    pub async fn forget(&self, platform: Platform) -> Result<bool, AccountError> {
        Ok(self.secrets.delete(&session_key(platform)).await?)
    }

    /// The client secret of the user's own app on `platform`, if kept.
    pub async fn client_secret(&self, platform: Platform) -> Result<Option<SecretString>, AccountError> {
        Ok(self.secrets.get(&client_secret_key(platform)).await?)
    }

    /// Keeps the client secret of the user's own app on `platform`.
    pub async fn set_client_secret(
        &self,
        platform: Platform,
        secret: &SecretString,
    ) -> Result<(), AccountError> {
        Ok(self.secrets.set(&client_secret_key(platform), secret).await?)
    }
}

impl Accounts {
    /// The Discord bot's token, if kept.
    pub async fn bot_token(&self) -> Result<Option<SecretString>, AccountError> {
        Ok(self.secrets.get(BOT_TOKEN_KEY).await?)
    }

    /// Keeps the Discord bot's token, replacing the previous one.
    pub async fn set_bot_token(&self, token: &SecretString) -> Result<(), AccountError> {
        Ok(self.secrets.set(BOT_TOKEN_KEY, token).await?)
    }

    /// Forgets the Discord bot's token; `false` when there was none.
    pub async fn forget_bot_token(&self) -> Result<bool, AccountError> {
        Ok(self.secrets.delete(BOT_TOKEN_KEY).await?)
    }
}

/// The secret holding the Discord bot's token.
const BOT_TOKEN_KEY: &str = "discord.bot-token";

fn session_key(platform: Platform) -> String {
    format!("{platform}.session")
}

fn client_secret_key(platform: Platform) -> String {
    format!("{platform}.client-secret")
}

/// When a session's token should be renewed: [`REFRESH_AHEAD`] before it expires (now, if that is past).
/// `None` when it has no expiry or cannot be refreshed.
pub fn refresh_due(session: &Session, now: DateTime<Utc>) -> Option<Duration> {
    session.refresh_token.as_ref()?;
    let expires_at = session.expires_at?;
    let ahead = chrono::Duration::from_std(REFRESH_AHEAD).unwrap_or_default();
    Some((expires_at - ahead - now).to_std().unwrap_or(Duration::ZERO))
}

/// Why keeping a session fresh ended.
#[derive(Debug)]
pub enum FreshnessEnd {
    /// Asked to stop.
    Stopped,
    /// The session cannot be refreshed (no refresh token, or no expiry): nothing to do.
    NothingToRefresh,
    /// The platform refused the refresh: the user must sign in again.
    SignInAgain(PlatformError),
    /// The renewed session could not be saved.
    NotSaved(AccountError),
}

/// Refreshes `account`'s session [`REFRESH_AHEAD`] of each expiry and saves it, until `stop` or until the
/// platform refuses (the account is then kept, for the user to see and sign in again). Failures that may
/// pass (network, a 5xx, a rate limit) are retried every [`REFRESH_RETRY`].
pub async fn keep_fresh(
    login: &dyn Login,
    accounts: &Accounts,
    mut account: Account,
    stop: CancellationToken,
) -> FreshnessEnd {
    loop {
        let Some(due) = refresh_due(&account.session, Utc::now()) else {
            return FreshnessEnd::NothingToRefresh;
        };
        // In steps: time a computer spends asleep is not on tokio's clock, so the wall clock is asked again
        // after each step, and whichever clock reaches the due time first wins.
        let deadline = tokio::time::Instant::now() + due;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || refresh_due(&account.session, Utc::now()).is_some_and(|d| d.is_zero()) {
                break;
            }
            tokio::select! {
                () = stop.cancelled() => return FreshnessEnd::Stopped,
                () = tokio::time::sleep(left.min(WAKE_STEP)) => {}
            }
        }
        match login.refresh(&account.session).await {
            Ok(session) => {
                account.session = session;
                if let Err(e) = accounts.save(&account).await {
                    return FreshnessEnd::NotSaved(e);
                }
                tracing::info!(platform = %account.session.platform, "sign-in renewed");
            }
            Err(e @ PlatformError::Unauthorized { .. }) => {
                tracing::error!(error = %e, "the sign-in could not be renewed");
                return FreshnessEnd::SignInAgain(e);
            }
            Err(e) => {
                tracing::warn!(error = %e, "renewing the sign-in failed; trying again in a minute");
                tokio::select! {
                    () = stop.cancelled() => return FreshnessEnd::Stopped,
                    () = tokio::time::sleep(REFRESH_RETRY) => {}
                }
                // Retry at once: the due time has passed.
                account.session.expires_at = account.session.expires_at.map(|at| at.min(Utc::now()));
            }
        }
    }
}
