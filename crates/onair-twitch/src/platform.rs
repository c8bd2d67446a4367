//! `TwitchPlatform`: Twitch behind OnAir's three platform faces. [`Realtime`] opens one EventSub connection
//! for the watched channels, whose every new session gets its subscriptions from [`HelixSetup`] (only the
//! types the sign-in allows; a missing permission or a refused type is a warning for that type, never a
//! failure of the whole connection; 409 "already exists" is fine; Twitch's per-connection and cost limits
//! respected); [`Lookup`] is Helix; [`Login`] is the device-code sign-in. [`keep_valid`] validates the
//! token hourly, as Twitch requires of every app.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use futures_util::StreamExt;
use onair_core::{
    Actor, ChannelInfo, ChannelRef, ConnectionState, EventSink, LiveConnection, Login, LoginChallenge,
    LoginGrant, Lookup, Platform, PlatformError, Realtime, Session,
};
use secrecy::SecretString;
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;

use crate::TwitchConfig;
use crate::helix::{Created, Helix};
use crate::live::{LiveOptions, SessionSetup, TwitchLive};
use crate::login::TwitchLogin;
use crate::poll::{PollCadence, Poller, RecordedCommunity};
use crate::subscriptions::{self, SubscriptionType};

/// Twitch's limit of enabled subscriptions on one WebSocket connection.
pub const SUBSCRIPTIONS_PER_CONNECTION: usize = 300;

/// Subscriptions created at the same time on a new session (it has 10 s to get them all).
const CREATE_AT_ONCE: usize = 6;

/// How often the token is validated, as Twitch requires.
pub const VALIDATE_EVERY: Duration = Duration::from_secs(60 * 60);

/// Twitch, as the hub sees it.
pub struct TwitchPlatform {
    config: TwitchConfig,
    helix: Helix,
    login: Option<Arc<TwitchLogin>>,
    recorded: Option<Arc<dyn RecordedCommunity>>,
}

impl TwitchPlatform {
    /// Twitch through `helix` (which holds the signed-in token), with the sign-in `login` when OnAir may
    /// sign in again (not with a token given through the environment).
    pub fn new(config: TwitchConfig, helix: Helix, login: Option<Arc<TwitchLogin>>) -> TwitchPlatform {
        TwitchPlatform {
            config,
            helix,
            login,
            recorded: None,
        }
    }

    /// Adds the polling fallback, which compares Helix's lists with what `recorded` says OnAir recorded.
    pub fn with_polling(mut self, recorded: Arc<dyn RecordedCommunity>) -> TwitchPlatform {
        self.recorded = Some(recorded);
        self
    }

    /// The Helix client.
    pub fn helix(&self) -> &Helix {
        &self.helix
    }

    fn signin(&self) -> Result<&TwitchLogin, PlatformError> {
        self.login.as_deref().ok_or_else(|| PlatformError::SignInAborted {
            platform: Platform::Twitch,
            detail: "OnAir was given its Twitch token and cannot sign in by itself".to_owned(),
        })
    }
}

#[async_trait]
impl Realtime for TwitchPlatform {
    fn platform(&self) -> Platform {
        Platform::Twitch
    }

    async fn connect(
        &self,
        channels: &[ChannelRef],
        events: EventSink,
    ) -> Result<Box<dyn LiveConnection>, PlatformError> {
        let setup = HelixSetup {
            helix: self.helix.clone(),
            channels: channels.to_vec(),
        };
        let live = TwitchLive::start(
            LiveOptions::from_config(&self.config),
            Arc::new(setup),
            channels,
            events.clone(),
        );
        let polling = self.recorded.clone().map(|recorded| {
            let poller = Poller {
                helix: self.helix.clone(),
                channels: channels.to_vec(),
                recorded,
                sink: events,
                state: live.state(),
                cadence: PollCadence {
                    while_down: self.config.poll_while_down,
                    while_up: self.config.poll_while_up,
                },
                notices: live.notices(),
                started: Utc::now(),
                baselines: HashMap::new(),
                last_poll: None,
            };
            let (stop, stopped) = oneshot::channel();
            (stop, tokio::spawn(poller.run(stopped)))
        });
        Ok(Box::new(TwitchConnection { live, polling }))
    }
}

/// The EventSub connection with its polling fallback.
struct TwitchConnection {
    live: TwitchLive,
    polling: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

#[async_trait]
impl LiveConnection for TwitchConnection {
    fn state(&self) -> watch::Receiver<ConnectionState> {
        self.live.state()
    }

    fn state_changes(&mut self) -> broadcast::Receiver<ConnectionState> {
        self.live.state_changes()
    }

    fn warnings(&self) -> watch::Receiver<Vec<String>> {
        self.live.warnings()
    }

    fn reconnect_now(&self) {
        self.live.reconnect_now();
    }

    async fn shutdown(self: Box<Self>) {
        let TwitchConnection { live, polling } = *self;
        if let Some((stop, task)) = polling {
            let _ = stop.send(());
            let _ = task.await;
        }
        Box::new(live).shutdown().await;
    }
}

#[async_trait]
impl Lookup for TwitchPlatform {
    fn platform(&self) -> Platform {
        Platform::Twitch
    }

    async fn channel(&self, login: &str) -> Result<ChannelInfo, PlatformError> {
        Lookup::channel(&self.helix, login).await
    }

    async fn user(&self, login: &str) -> Result<Actor, PlatformError> {
        Lookup::user(&self.helix, login).await
    }
}

#[async_trait]
impl Login for TwitchPlatform {
    fn platform(&self) -> Platform {
        Platform::Twitch
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

/// Creates the subscriptions of the watched channels on each new EventSub session.
pub struct HelixSetup {
    helix: Helix,
    channels: Vec<ChannelRef>,
}

impl HelixSetup {
    /// The subscriptions of `channels`, created through `helix`.
    pub fn new(helix: Helix, channels: Vec<ChannelRef>) -> HelixSetup {
        HelixSetup { helix, channels }
    }
}

#[async_trait]
impl SessionSetup for HelixSetup {
    async fn subscribe(&self, session_id: &str) -> Result<Vec<String>, PlatformError> {
        let credentials = self.helix.credentials();
        let user_id = credentials.user_id();
        let (allowed, missing) = subscriptions::plan(&credentials.scopes());
        let mut warnings: Vec<String> = missing
            .iter()
            .map(|(subscription, scope)| {
                format!(
                    "{} is not received: the Twitch sign-in lacks the {scope} permission (sign in to Twitch \
                     again to grant it)",
                    describe(subscription)
                )
            })
            .collect();
        let mut wanted: Vec<(ChannelRef, SubscriptionType)> = self
            .channels
            .iter()
            .flat_map(|channel| {
                allowed
                    .iter()
                    .map(move |subscription| (channel.clone(), *subscription))
            })
            .collect();
        if wanted.len() > SUBSCRIPTIONS_PER_CONNECTION {
            let left_out = wanted.split_off(SUBSCRIPTIONS_PER_CONNECTION);
            let mut channels: Vec<&str> = left_out.iter().map(|(c, _)| c.slug.as_str()).collect();
            channels.dedup();
            warnings.push(format!(
                "Twitch allows {SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection: some events of {} \
                 are not received (watch fewer Twitch channels)",
                channels.join(", ")
            ));
        }
        let requests = wanted.into_iter().map(|(channel, subscription)| {
            let helix = self.helix.clone();
            let body = subscriptions::request_body(&subscription, &channel.platform_id, &user_id, session_id);
            async move {
                let outcome = helix.create_subscription(&body).await;
                (channel, subscription, outcome)
            }
        });
        let mut created = futures_util::stream::iter(requests).buffered(CREATE_AT_ONCE);
        let mut over_cost = false;
        let mut held = 0usize;
        while let Some((channel, subscription, outcome)) = created.next().await {
            match outcome {
                Ok(Created::New {
                    total_cost,
                    max_total_cost,
                    ..
                }) => {
                    held += 1;
                    over_cost |= total_cost >= max_total_cost && max_total_cost > 0;
                }
                Ok(Created::AlreadyExists) => held += 1,
                Err(
                    e @ (PlatformError::Unauthorized { .. }
                    | PlatformError::Unreachable { .. }
                    | PlatformError::RateLimited { .. }),
                ) => {
                    return Err(e);
                }
                Err(e) => warnings.push(format!(
                    "{} of {} is not received: {e}",
                    describe(&subscription),
                    channel.slug
                )),
            }
        }
        if held == 0 {
            // Twitch would close an unused session (4003) at once: a failed attempt, not "connected".
            return Err(PlatformError::Refused {
                platform: Platform::Twitch,
                detail: format!(
                    "Twitch refused every subscription, so no event would arrive: {}",
                    warnings.last().map_or("no reason given", String::as_str)
                ),
            });
        }
        if over_cost {
            warnings.push(
                "Twitch's subscription cost limit is reached: channels other than your own cost one each; \
                 watch fewer of them"
                    .to_owned(),
            );
        }
        Ok(warnings)
    }
}

/// A subscription type in words.
fn describe(subscription: &SubscriptionType) -> String {
    let what = match subscription.name {
        "channel.follow" => "Follows",
        "channel.subscribe" => "Subscriptions",
        "channel.subscription.end" => "Subscription ends",
        "channel.subscription.gift" => "Gifted subscriptions",
        "channel.cheer" => "Cheers",
        "channel.moderator.add" | "channel.moderator.remove" => "Moderator changes",
        "channel.vip.add" | "channel.vip.remove" => "VIP changes",
        "channel.ban" | "channel.unban" => "Bans",
        "channel.raid" => "Raids",
        "stream.online" | "stream.offline" => "Stream status",
        other => other,
    };
    format!("{what} ({})", subscription.name)
}

/// Validates the token now and then every [`VALIDATE_EVERY`] until `stop`, as Twitch requires; a token
/// Twitch refuses is renewed once through the credentials. Ends with the error when the user must sign in
/// again.
pub async fn keep_valid(
    login: &TwitchLogin,
    helix: &Helix,
    stop: impl Future<Output = ()>,
) -> Result<(), PlatformError> {
    tokio::pin!(stop);
    loop {
        let token: SecretString = helix.credentials().access_token();
        match login.validate(&token).await {
            Ok(_) => tracing::debug!("the Twitch token is valid"),
            Err(PlatformError::Unauthorized { .. }) => {
                match helix.credentials().renew_after_refusal(&token).await {
                    Ok(_) => {}
                    Err(e @ PlatformError::Unauthorized { .. }) => return Err(e),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not renew the Twitch token; trying again later")
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not validate the Twitch token; trying again later"),
        }
        tokio::select! {
            () = &mut stop => return Ok(()),
            () = tokio::time::sleep(VALIDATE_EVERY) => {}
        }
    }
}
