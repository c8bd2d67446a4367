//! The signed-in user's token as Twitch calls use it: one shared, current [`Session`]; a token Helix
//! refused is renewed once (one renewal at a time, however many calls saw the refusal), and every renewed
//! session is published so its owner can save it (Twitch's refresh tokens are single-use: the new one
//! must replace the old at once). Without a way to renew (a token given through the environment), a
//! refusal becomes "sign in again".

use std::sync::Arc;

use onair_core::{Login, Platform, PlatformError, Session};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, watch};

/// The token Twitch calls use, shared by every part of the Twitch connection.
pub struct Credentials {
    client_id: String,
    session: watch::Sender<Session>,
    renewer: Option<Arc<dyn Login>>,
    renewing: Mutex<()>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("user", &self.session.borrow().account.login)
            .field("renewable", &self.renewer.is_some())
            .finish()
    }
}

impl Credentials {
    /// `session`'s token for the app `client_id`; `renewer` refreshes it when Helix refuses it.
    pub fn new(client_id: impl Into<String>, session: Session, renewer: Option<Arc<dyn Login>>) -> Arc<Self> {
        Arc::new(Credentials {
            client_id: client_id.into(),
            session: watch::Sender::new(session),
            renewer,
            renewing: Mutex::new(()),
        })
    }

    /// The app's client id (sent with every Helix call).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The current session.
    pub fn session(&self) -> Session {
        self.session.borrow().clone()
    }

    /// The signed-in user's id.
    pub fn user_id(&self) -> String {
        self.session.borrow().account.id.clone()
    }

    /// The scopes granted to the token.
    pub fn scopes(&self) -> Vec<String> {
        self.session.borrow().scopes.clone()
    }

    /// The current access token.
    pub fn access_token(&self) -> SecretString {
        self.session.borrow().access_token.clone()
    }

    /// Every renewed session, for its owner to save.
    pub fn changes(&self) -> watch::Receiver<Session> {
        self.session.subscribe()
    }

    /// Replaces the session (renewed elsewhere, or signed in again).
    pub fn replace(&self, session: Session) {
        self.session.send_replace(session);
    }

    /// After Helix refused `refused`: the token to retry with. A token renewed meanwhile (by another call
    /// that saw the same refusal) is returned as it is; otherwise the session is refreshed once.
    pub async fn renew_after_refusal(&self, refused: &SecretString) -> Result<SecretString, PlatformError> {
        let _one_at_a_time = self.renewing.lock().await;
        let current = self.access_token();
        if current.expose_secret() != refused.expose_secret() {
            return Ok(current);
        }
        let Some(renewer) = &self.renewer else {
            return Err(PlatformError::Unauthorized {
                platform: Platform::Twitch,
                detail: "the access token was refused and OnAir cannot renew a token it was given".to_owned(),
            });
        };
        let renewed = renewer.refresh(&self.session()).await?;
        let token = renewed.access_token.clone();
        self.session.send_replace(renewed);
        tracing::info!("the Twitch sign-in was renewed");
        Ok(token)
    }
}
