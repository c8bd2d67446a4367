//! Accounts in the app: what the Login section shows, signing in through a separate **login window** (a
//! webview of the app on the platform's page: Kick's sign-in, whose redirect comes back to the hub's
//! listener on localhost; Twitch's activation page, where the device code is entered while OnAir polls
//! Twitch), renewing the session while the app runs, and signing out. The login window shows a remote
//! page, so it gets no capability: it cannot call any of OnAir's commands.

use std::sync::Mutex as StdMutex;
use std::time::Duration;

use onair::accounts::{Account, Accounts, FreshnessEnd};
use onair::kick_signin::{KickSignIn, NO_REDIRECT, kick_login, kick_sign_out};
use onair::signin::DEFAULT_REDIRECT_PORT;
use onair::twitch_signin::{TwitchSignIn, twitch_sign_out};
use onair::views::{AccountView, DeviceCodeView};
use onair_core::{LoginChallenge, Platform};
use onair_twitch::TwitchConfig;
use secrecy::SecretString;
use tauri::{AppHandle, Emitter, Manager, WebviewUrl, WebviewWindowBuilder};
use tokio::sync::{OnceCell, oneshot};
use tokio_util::sync::CancellationToken;

use crate::lock;

/// The login window's label.
const LOGIN_WINDOW: &str = "login";
/// How long the login window waits for the user.
const LOGIN_WAIT: Duration = Duration::from_secs(10 * 60);
/// The window's event when the accounts changed.
pub const ACCOUNTS_EVENT: &str = "onair://accounts";

/// The signed-in accounts and their renewal.
#[derive(Default)]
pub struct SignIns {
    accounts: OnceCell<Option<Accounts>>,
    renewal: StdMutex<Option<CancellationToken>>,
    problem: StdMutex<Option<String>>,
    /// The Twitch device code being entered, while a Twitch sign-in is under way.
    device_code: StdMutex<Option<DeviceCodeView>>,
}

impl SignIns {
    /// The accounts (the keychain, or this computer's secrets file), opened on first use.
    async fn accounts(&self) -> Result<&Accounts, String> {
        self.accounts
            .get_or_init(|| async { onair::paths::secrets().await.map(Accounts::new) })
            .await
            .as_ref()
            .ok_or_else(|| "no home folder to keep sign-ins in".to_owned())
    }

    /// What the Login section shows for Kick, with the app's `client_id` from the settings.
    pub async fn kick_view(&self, client_id: Option<&str>) -> AccountView {
        let mut view = AccountView {
            platform: Platform::Kick,
            signed_in_as: None,
            own_channel: None,
            can_sign_in: client_id.is_some_and(|id| !id.trim().is_empty()),
            has_client_secret: false,
            problem: lock(&self.problem).clone(),
            device_code: None,
        };
        let accounts = match self.accounts().await {
            Ok(accounts) => accounts,
            Err(e) => {
                view.problem = Some(e);
                return view;
            }
        };
        match accounts.load(Platform::Kick).await {
            Ok(Some(account)) => {
                view.signed_in_as = Some(account.session.account.display_name);
                view.own_channel = account.own_channel;
            }
            Ok(None) => {}
            Err(e) => view.problem = Some(e.to_string()),
        }
        view.has_client_secret = matches!(accounts.client_secret(Platform::Kick).await, Ok(Some(_)));
        view
    }

    /// What the Login section shows for Twitch (`problem`: why the hub cannot use Twitch, if it cannot).
    pub async fn twitch_view(&self, config: &TwitchConfig, problem: Option<String>) -> AccountView {
        let mut view = AccountView {
            platform: Platform::Twitch,
            signed_in_as: None,
            own_channel: None,
            can_sign_in: config.client_id.is_some(),
            has_client_secret: false,
            problem,
            device_code: lock(&self.device_code).clone(),
        };
        match self.accounts().await {
            Ok(accounts) => match accounts.load(Platform::Twitch).await {
                Ok(Some(account)) => {
                    view.signed_in_as = Some(account.session.account.display_name);
                    view.own_channel = account.own_channel;
                }
                Ok(None) => {}
                Err(e) => view.problem = Some(e.to_string()),
            },
            Err(e) => view.problem = Some(e),
        }
        view
    }

    /// Signs in to Twitch with a device code: the login window opens on Twitch's activation page (the
    /// code filled in; the Login section shows it too) while OnAir polls Twitch until the user approves.
    /// Closing the window abandons the sign-in.
    pub async fn sign_in_twitch(&self, app: &AppHandle, config: &TwitchConfig) -> Result<(), String> {
        if let Some(window) = app.get_webview_window(LOGIN_WINDOW) {
            let _ = window.set_focus();
            return Err("a sign-in window is already open: finish or close it first".into());
        }
        let accounts = self.accounts().await?;
        let signin = TwitchSignIn::begin(config).await.map_err(|e| e.to_string())?;
        let LoginChallenge::DeviceCode {
            verification_uri,
            user_code,
            ..
        } = signin.challenge().clone()
        else {
            return Err(
                "Twitch answered the sign-in with something OnAir did not ask for; please report it".into(),
            );
        };
        let url = verification_uri
            .parse()
            .map_err(|e| format!("Twitch's activation address is not valid: {e}"))?;
        *lock(&self.device_code) = Some(DeviceCodeView {
            user_code,
            verification_uri,
        });
        let _ = app.emit(ACCOUNTS_EVENT, ());
        let (closed, on_close) = oneshot::channel::<()>();
        let closed = StdMutex::new(Some(closed));
        let opened = WebviewWindowBuilder::new(app, LOGIN_WINDOW, WebviewUrl::External(url))
            .title("Sign in to Twitch · OnAir")
            .inner_size(520.0, 760.0)
            .center()
            .build();
        let outcome = match opened {
            Ok(window) => {
                window.on_window_event(move |event| {
                    if let tauri::WindowEvent::Destroyed = event
                        && let Some(closed) = lock(&closed).take()
                    {
                        let _ = closed.send(());
                    }
                });
                tokio::select! {
                    finished = signin.finish(accounts) => finished.map_err(|e| e.to_string()),
                    _ = on_close => Err("the sign-in window was closed before Twitch approved it; sign in again".to_owned()),
                }
            }
            Err(e) => Err(format!("the sign-in window could not open: {e}")),
        };
        if let Some(window) = app.get_webview_window(LOGIN_WINDOW) {
            let _ = window.destroy();
        }
        *lock(&self.device_code) = None;
        crate::tray::show_main(app);
        let _ = app.emit(ACCOUNTS_EVENT, ());
        let account = outcome?;
        tracing::info!(account = %account.session.account.display_name, "signed in to Twitch");
        Ok(())
    }

    /// Signs out of Twitch: the token revoked at Twitch, then forgotten. Answers with a warning when
    /// Twitch could not revoke it.
    pub async fn sign_out_twitch(
        &self,
        app: &AppHandle,
        config: &TwitchConfig,
    ) -> Result<Option<String>, String> {
        let accounts = self.accounts().await?;
        let out = twitch_sign_out(config, accounts)
            .await
            .map_err(|e| e.to_string())?;
        let _ = app.emit(ACCOUNTS_EVENT, ());
        Ok(out.revoke_warning(Platform::Twitch))
    }

    /// Signs in to Kick in the login window with the app `client_id` (and `secret`, when the keychain does
    /// not have it yet).
    pub async fn sign_in_kick(
        &self,
        app: &AppHandle,
        client_id: Option<&str>,
        secret: Option<String>,
    ) -> Result<(), String> {
        if let Some(window) = app.get_webview_window(LOGIN_WINDOW) {
            let _ = window.set_focus();
            return Err("a sign-in window is already open: finish or close it first".into());
        }
        let Some(client_id) = client_id.filter(|id| !id.trim().is_empty()) else {
            return Err(format!(
                "OnAir signs in to Kick with your own Kick app: create one at https://kick.com/settings/developer \
                 with the redirect URL http://localhost:{DEFAULT_REDIRECT_PORT}/callback, then enter its client id \
                 in Settings"
            ));
        };
        let accounts = self.accounts().await?;
        let secret = match secret.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
            Some(secret) => SecretString::from(secret),
            None => accounts
                .client_secret(Platform::Kick)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(
                    "enter your Kick app's client secret (kept in the keychain after the first sign-in)",
                )?,
        };
        let signin = KickSignIn::begin(client_id, secret, DEFAULT_REDIRECT_PORT)
            .await
            .map_err(|e| e.to_string())?;
        let url = signin
            .authorize_url()
            .parse()
            .map_err(|e| format!("Kick's sign-in address is not valid: {e}"))?;
        let (closed, on_close) = oneshot::channel::<()>();
        let closed = StdMutex::new(Some(closed));
        let window = WebviewWindowBuilder::new(app, LOGIN_WINDOW, WebviewUrl::External(url))
            .title("Sign in to Kick · OnAir")
            .inner_size(520.0, 760.0)
            .center()
            .build()
            .map_err(|e| format!("the sign-in window could not open: {e}"))?;
        window.on_window_event(move |event| {
            if let tauri::WindowEvent::Destroyed = event
                && let Some(closed) = lock(&closed).take()
            {
                let _ = closed.send(());
            }
        });
        let abort = async {
            let _ = on_close.await;
            "the sign-in window was closed".to_owned()
        };
        let outcome = signin.finish(accounts, true, LOGIN_WAIT, abort).await;
        if let Some(window) = app.get_webview_window(LOGIN_WINDOW) {
            let _ = window.destroy();
        }
        crate::tray::show_main(app);
        let account = outcome.map_err(|e| e.to_string())?;
        tracing::info!(account = %account.session.account.display_name, "signed in to Kick");
        *lock(&self.problem) = None;
        self.keep_fresh(app, client_id, account).await;
        let _ = app.emit(ACCOUNTS_EVENT, ());
        Ok(())
    }

    /// Signs out of Kick: the tokens revoked at Kick, then forgotten. Answers with a warning when Kick
    /// could not revoke them.
    pub async fn sign_out_kick(
        &self,
        app: &AppHandle,
        client_id: Option<&str>,
    ) -> Result<Option<String>, String> {
        if let Some(renewal) = lock(&self.renewal).take() {
            renewal.cancel();
        }
        let accounts = self.accounts().await?;
        let secret = accounts.client_secret(Platform::Kick).await.ok().flatten();
        let out = kick_sign_out(accounts, client_id.unwrap_or_default(), secret)
            .await
            .map_err(|e| e.to_string())?;
        *lock(&self.problem) = None;
        let _ = app.emit(ACCOUNTS_EVENT, ());
        Ok(out.revoke_warning(Platform::Kick))
    }

    /// Renews the saved Kick session ahead of each expiry while the app runs (when the app's id and secret
    /// are known).
    pub async fn resume(&self, app: &AppHandle, client_id: Option<&str>) {
        let Some(client_id) = client_id.filter(|id| !id.trim().is_empty()) else {
            return;
        };
        let Ok(accounts) = self.accounts().await else {
            return;
        };
        if let Ok(Some(account)) = accounts.load(Platform::Kick).await {
            self.keep_fresh(app, client_id, account).await;
        }
    }

    async fn keep_fresh(&self, app: &AppHandle, client_id: &str, account: Account) {
        let Ok(accounts) = self.accounts().await.cloned() else {
            return;
        };
        let Ok(Some(secret)) = accounts.client_secret(Platform::Kick).await else {
            return;
        };
        let login = match kick_login(client_id, secret, NO_REDIRECT) {
            Ok(login) => login,
            Err(e) => {
                tracing::warn!(error = %e, "the Kick sign-in cannot be renewed");
                return;
            }
        };
        let stop = CancellationToken::new();
        if let Some(old) = lock(&self.renewal).replace(stop.clone()) {
            old.cancel();
        }
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let problem = match onair::accounts::keep_fresh(&login, &accounts, account, stop).await {
                FreshnessEnd::SignInAgain(e) => format!("{e}: log in again"),
                FreshnessEnd::NotSaved(e) => format!("the renewed Kick sign-in was not saved: {e}"),
                FreshnessEnd::Stopped | FreshnessEnd::NothingToRefresh => return,
            };
            tracing::warn!(%problem, "the Kick sign-in");
            if let Some(signins) = app.try_state::<SignIns>() {
                *lock(&signins.problem) = Some(problem);
            }
            let _ = app.emit(ACCOUNTS_EVENT, ());
        });
    }
}
