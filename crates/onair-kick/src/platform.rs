//! `KickPlatform`: Kick behind OnAir's three platform faces. [`Lookup`] is the REST look-up,
//! [`Realtime`] opens one Pusher connection for the watched channels, [`Login`] is the OAuth sign-in
//! (when the user has set up their Kick app). The hub drives Kick only through these.

use async_trait::async_trait;
use onair_core::{
    Actor, ChannelInfo, ChannelRef, EventSink, LiveConnection, Login, LoginChallenge, LoginGrant, Lookup,
    Platform, PlatformError, Realtime, Session,
};
use onair_pusher::PusherConfig;

use crate::{KickLive, KickLogin, KickRest};

/// Kick, as the hub sees it.
pub struct KickPlatform {
    rest: KickRest,
    pusher: PusherConfig,
    login: Option<KickLogin>,
}

impl KickPlatform {
    /// Kick with the look-up `rest`, the Pusher settings `pusher`, and the sign-in `login` when the user
    /// has a Kick app (watching needs none).
    pub fn new(rest: KickRest, pusher: PusherConfig, login: Option<KickLogin>) -> KickPlatform {
        KickPlatform { rest, pusher, login }
    }

    /// The sign-in, when set up (for what only Kick's sign-in offers, such as the own channel).
    pub fn kick_login(&self) -> Option<&KickLogin> {
        self.login.as_ref()
    }

    fn signin(&self) -> Result<&KickLogin, PlatformError> {
        self.login.as_ref().ok_or_else(|| PlatformError::SignInAborted {
            platform: Platform::Kick,
            detail: "OnAir signs in with your own Kick app, and none is set up: create one at \
                     https://kick.com/settings/developer and give OnAir its client id and secret"
                .to_owned(),
        })
    }
}

#[async_trait]
impl Realtime for KickPlatform {
    fn platform(&self) -> Platform {
        Platform::Kick
    }

    async fn connect(
        &self,
        channels: &[ChannelRef],
        events: EventSink,
    ) -> Result<Box<dyn LiveConnection>, PlatformError> {
        let live = KickLive::start(self.pusher.clone(), channels, events).await;
        Ok(Box::new(live))
    }
}

#[async_trait]
impl Lookup for KickPlatform {
    fn platform(&self) -> Platform {
        Platform::Kick
    }

    async fn channel(&self, slug: &str) -> Result<ChannelInfo, PlatformError> {
        Lookup::channel(&self.rest, slug).await
    }

    async fn user(&self, login: &str) -> Result<Actor, PlatformError> {
        self.rest.user(login).await
    }
}

#[async_trait]
impl Login for KickPlatform {
    fn platform(&self) -> Platform {
        Platform::Kick
    }

    async fn begin(&self) -> Result<LoginChallenge, PlatformError> {
        self.signin()?.begin().await
    }

    async fn complete(
        &self,
        challenge: &LoginChallenge,
        grant: LoginGrant,
    ) -> Result<Session, PlatformError> {
        self.signin()?.complete(challenge, grant).await
    }

    async fn refresh(&self, session: &Session) -> Result<Session, PlatformError> {
        self.signin()?.refresh(session).await
    }

    async fn revoke(&self, session: &Session) -> Result<(), PlatformError> {
        self.signin()?.revoke(session).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RestConfig;
    use onair_pusher::Endpoint;

    #[tokio::test]
    async fn without_a_kick_app_signing_in_says_how_to_set_one_up() {
        let kick = KickPlatform::new(
            KickRest::new(RestConfig::with_base_url("http://127.0.0.1:9")).unwrap(),
            PusherConfig::new(Endpoint::Url("ws://127.0.0.1:9/app/key".into())),
            None,
        );
        let error = kick.begin().await.unwrap_err();
        assert!(matches!(error, PlatformError::SignInAborted { .. }), "{error:?}");
        assert!(
            error.to_string().contains("kick.com/settings/developer"),
            "{error}"
        );
    }
}
