//! Signing in to Kick and out again, shared by `onair login kick` and the desktop's login window: the
//! return listener bound, the challenge begun (its page opened by the caller: a browser or a window of
//! the app), the browser's return awaited, the code exchanged, the app's secret and the account kept in
//! the secret store; signing out revokes at Kick, then forgets.

use std::future::Future;
use std::time::Duration;

use onair_core::{Login, LoginChallenge, Platform, PlatformError};
use onair_kick::{KickLogin, OAuthConfig};
use secrecy::SecretString;

use crate::accounts::{Account, AccountError, Accounts, SignedOut};
use crate::signin::{BindError, RedirectListener};

/// The redirect URL given when no browser returns (renewing, revoking): Kick checks it only at sign-in.
pub const NO_REDIRECT: &str = "http://localhost/callback";

/// Why a sign-in did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The return listener could not start.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// Kick refused, or the user cancelled.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The account could not be kept.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// Nothing came back in time.
    #[error("the Kick sign-in did not come back within {minutes} minutes; start it again")]
    TimedOut {
        /// How long it waited.
        minutes: u64,
    },
}

/// The Kick sign-in with the app `client_id` / `secret`, returning to `redirect_uri`.
pub fn kick_login(
    client_id: &str,
    secret: SecretString,
    redirect_uri: &str,
) -> Result<KickLogin, PlatformError> {
    KickLogin::new(OAuthConfig::new(client_id, secret, redirect_uri))
}

/// A Kick sign-in under way: the return listener bound and the challenge begun.
pub struct KickSignIn {
    listener: RedirectListener,
    login: KickLogin,
    challenge: LoginChallenge,
    secret: SecretString,
}

impl KickSignIn {
    /// Listens on `port` for the return and begins the sign-in of the app `client_id` / `secret`.
    pub async fn begin(client_id: &str, secret: SecretString, port: u16) -> Result<KickSignIn, SignInError> {
        let listener = RedirectListener::bind(port).await?;
        let login = kick_login(client_id, secret.clone(), &listener.redirect_uri())?;
        let challenge = login.begin().await?;
        if !matches!(challenge, LoginChallenge::Browser { .. }) {
            return Err(PlatformError::SignInAborted {
                platform: Platform::Kick,
                detail: "Kick asked for a sign-in OnAir does not know".into(),
            }
            .into());
        }
        Ok(KickSignIn {
            listener,
            login,
            challenge,
            secret,
        })
    }

    /// The page to open: Kick's sign-in and consent.
    pub fn authorize_url(&self) -> &str {
        match &self.challenge {
            LoginChallenge::Browser { authorize_url, .. } => authorize_url,
            _ => "",
        }
    }

    /// Where Kick sends the browser back.
    pub fn redirect_uri(&self) -> String {
        self.listener.redirect_uri()
    }

    /// Waits (at most `wait`, or until `abort`) for the browser's return, exchanges the code, keeps the app's
    /// secret when `keep_secret`, finds the account's own channel, and saves the account.
    pub async fn finish(
        self,
        accounts: &Accounts,
        keep_secret: bool,
        wait: Duration,
        abort: impl Future<Output = String>,
    ) -> Result<Account, SignInError> {
        let grant = tokio::select! {
            returned = tokio::time::timeout(wait, self.listener.wait(Platform::Kick)) => {
                returned.map_err(|_| SignInError::TimedOut { minutes: wait.as_secs().div_ceil(60) })??
            }
            detail = abort => {
                return Err(PlatformError::SignInAborted { platform: Platform::Kick, detail }.into());
            }
        };
        let session = self.login.complete(&self.challenge, grant).await?;
        if keep_secret {
            accounts.set_client_secret(Platform::Kick, &self.secret).await?;
        }
        let own_channel = match self.login.own_channel(&session).await {
            Ok(channel) => Some(channel.slug),
            Err(e) => {
                tracing::warn!(error = %e, "could not read your own channel");
                None
            }
        };
        let account = Account { session, own_channel };
        accounts.save(&account).await?;
        Ok(account)
    }
}

/// Signs out of Kick: revokes the tokens (with the app's secret when known), then forgets the account.
pub async fn kick_sign_out(
    accounts: &Accounts,
    client_id: &str,
    secret: Option<SecretString>,
) -> Result<SignedOut, AccountError> {
    let Some(account) = accounts.load(Platform::Kick).await? else {
        return Ok(SignedOut::NotSignedIn);
    };
    let secret = secret.unwrap_or_else(|| SecretString::from(String::new()));
    let revoked = match kick_login(client_id, secret, NO_REDIRECT) {
        Ok(login) => login.revoke(&account.session).await,
        Err(e) => Err(e),
    };
    accounts.forget(Platform::Kick).await?;
    Ok(SignedOut::Forgotten {
        name: account.session.account.display_name,
        revoke_failed: revoked.err(),
    })
}
