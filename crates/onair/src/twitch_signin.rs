//! Twitch access for the hub and the `onair` command: the device-code sign-in with the session kept in the
//! secret store; the token a run uses (one given through the environment, validated, never logged or
//! kept; else the saved sign-in, renewed when Helix refuses it and saved again at once, since Twitch's
//! refresh tokens are single-use); signing out (revoked at Twitch, then forgotten).

use std::sync::Arc;

use async_trait::async_trait;
use onair_core::{
    Actor, ChannelRef, Community, Login, LoginChallenge, LoginGrant, Platform, PlatformError, Session,
};
use onair_store::CommunityReader;
use onair_twitch::config::ACCESS_TOKEN_ENV;
use onair_twitch::helix::Helix;
use onair_twitch::platform::TwitchPlatform;
use onair_twitch::poll::RecordedCommunity;
use onair_twitch::{Credentials, TwitchConfig, TwitchLogin};
use secrecy::SecretString;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::accounts::{Account, AccountError, Accounts, SignedOut};

/// Why Twitch cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TwitchAccessError {
    /// Nobody is signed in and no token was given.
    #[error("not signed in to Twitch: run `onair login twitch` (or set {ACCESS_TOKEN_ENV} on a server)")]
    NotSignedIn,
    /// No Twitch app is configured.
    #[error(
        "OnAir needs the client id of a Twitch app to use Twitch: register one at \
         https://dev.twitch.tv/console/apps (client type Public), then set {} or `client_id` under [twitch] in \
         the settings file",
        onair_twitch::config::CLIENT_ID_ENV
    )]
    NoClientId,
    /// Twitch refused, or could not be reached.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The saved sign-in could not be read.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The token given through the environment belongs to another app.
    #[error(
        "the token in {ACCESS_TOKEN_ENV} was issued to the Twitch app {token_app}, not to {configured} (the \
         client id OnAir is given): give the token and the client id of the same app"
    )]
    OtherApp {
        /// The token's app.
        token_app: String,
        /// The client id configured.
        configured: String,
    },
}

/// Twitch, signed in, for a run: the platform faces and, for a saved sign-in, the task saving renewals.
pub struct TwitchAccess {
    /// Twitch behind the platform faces.
    pub platform: Arc<TwitchPlatform>,
    /// The sign-in: validates the token (hourly, see `onair_twitch::platform::keep_valid`) and, for a
    /// saved sign-in, renews it.
    pub login: Arc<TwitchLogin>,
    saver: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl TwitchAccess {
    /// The Helix client.
    pub fn helix(&self) -> &Helix {
        self.platform.helix()
    }

    /// The signed-in account.
    pub fn account(&self) -> Actor {
        self.helix().credentials().session().account
    }

    /// Stops saving renewals, once the last one is saved (a refresh token works once: losing the new one
    /// would mean signing in again).
    pub async fn close(self) {
        if let Some((stop, saver)) = self.saver {
            let _ = stop.send(());
            let _ = saver.await;
        }
    }
}

/// What the store recorded of a channel's community, for the polling fallback.
pub struct RecordedInStore(pub CommunityReader);

#[async_trait]
impl RecordedCommunity for RecordedInStore {
    async fn community(&self, channel: &ChannelRef) -> Result<Community, String> {
        self.0
            .community(Platform::Twitch, &channel.platform_id)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Twitch with the token of [`ACCESS_TOKEN_ENV`] when set (validated first), else the saved sign-in;
/// with the polling fallback when `recorded` is given.
pub async fn twitch_access(
    config: &TwitchConfig,
    accounts: &Accounts,
    recorded: Option<Arc<dyn RecordedCommunity>>,
) -> Result<TwitchAccess, TwitchAccessError> {
    let platform = |helix: Helix, login: Option<Arc<TwitchLogin>>| {
        let platform = TwitchPlatform::new(config.clone(), helix, login);
        Arc::new(match recorded.clone() {
            Some(recorded) => platform.with_polling(recorded),
            None => platform,
        })
    };
    let client_id = config.client_id.clone().ok_or(TwitchAccessError::NoClientId)?;
    let login = TwitchLogin::new(config)?;
    let given = std::env::var(ACCESS_TOKEN_ENV)
        .ok()
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty());
    if let Some(token) = given {
        let token = SecretString::from(token);
        let validated = login.validate(&token).await?;
        if !validated.client_id.is_empty() && validated.client_id != client_id {
            return Err(TwitchAccessError::OtherApp {
                token_app: validated.client_id,
                configured: client_id,
            });
        }
        let session = Session {
            platform: Platform::Twitch,
            account: Actor::new(validated.user_id, validated.login),
            scopes: validated.scopes,
            access_token: token,
            refresh_token: None,
            expires_at: None,
        };
        let credentials = Credentials::new(client_id, session, None);
        let helix = Helix::new(config, credentials)?;
        return Ok(TwitchAccess {
            platform: platform(helix, None),
            login: Arc::new(login),
            saver: None,
        });
    }
    let account = accounts
        .load(Platform::Twitch)
        .await?
        .ok_or(TwitchAccessError::NotSignedIn)?;
    let login = Arc::new(login);
    let renewer: Arc<dyn Login> = login.clone();
    let credentials = Credentials::new(client_id, account.session.clone(), Some(renewer));
    let mut changes = credentials.changes();
    changes.mark_unchanged();
    let (stop, mut stopped) = oneshot::channel::<()>();
    let saver = tokio::spawn({
        let accounts = accounts.clone();
        let own_channel = account.own_channel.clone();
        async move {
            loop {
                let last = tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return } else { false },
                    _ = &mut stopped => true,
                };
                if last && !changes.has_changed().unwrap_or(false) {
                    return;
                }
                let account = Account {
                    session: changes.borrow_and_update().clone(),
                    own_channel: own_channel.clone(),
                };
                if let Err(e) = accounts.save(&account).await {
                    tracing::error!(error = %e, "the renewed Twitch sign-in could not be saved");
                }
                if last {
                    return;
                }
            }
        }
    });
    let helix = Helix::new(config, credentials)?;
    Ok(TwitchAccess {
        platform: platform(helix, Some(login.clone())),
        login,
        saver: Some((stop, saver)),
    })
}

/// A device-code sign-in under way: what the user must open and type.
pub struct TwitchSignIn {
    login: TwitchLogin,
    challenge: LoginChallenge,
}

impl TwitchSignIn {
    /// Asks Twitch for a code.
    pub async fn begin(config: &TwitchConfig) -> Result<TwitchSignIn, TwitchAccessError> {
        if config.client_id.is_none() {
            return Err(TwitchAccessError::NoClientId);
        }
        let login = TwitchLogin::new(config)?;
        let challenge = login.begin().await?;
        Ok(TwitchSignIn { login, challenge })
    }

    /// What to show the user.
    pub fn challenge(&self) -> &LoginChallenge {
        &self.challenge
    }

    /// Waits for the user's approval, then keeps the session (the user's own channel is their login).
    pub async fn finish(self, accounts: &Accounts) -> Result<Account, TwitchAccessError> {
        let session = self
            .login
            .complete(&self.challenge, LoginGrant::DeviceApproval)
            .await?;
        let account = Account {
            own_channel: Some(session.account.login.clone()),
            session,
        };
        accounts.save(&account).await?;
        Ok(account)
    }
}

/// Revokes the saved Twitch sign-in at Twitch, then forgets it (also when Twitch cannot be reached).
pub async fn twitch_sign_out(
    config: &TwitchConfig,
    accounts: &Accounts,
) -> Result<SignedOut, TwitchAccessError> {
    let Some(account) = accounts.load(Platform::Twitch).await? else {
        return Ok(SignedOut::NotSignedIn);
    };
    let revoke_failed = match TwitchLogin::new(config) {
        Ok(login) => login.revoke(&account.session).await.err(),
        Err(e) => Some(e),
    };
    accounts.forget(Platform::Twitch).await?;
    Ok(SignedOut::Forgotten {
        name: account.session.account.display_name,
        revoke_failed,
    })
}
