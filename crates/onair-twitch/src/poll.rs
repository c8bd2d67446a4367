//! The polling fallback: beside the EventSub connection, Helix's lists of followers, moderators, VIPs and
//! subscribers are read and reconciled with what OnAir recorded ([`crate::reconcile`]), so what the socket
//! missed is recorded all the same. Once at start (what happened while OnAir was closed), then every
//! [`PollCadence::while_down`] while the socket is down (and once more when it comes back), and every
//! [`PollCadence::while_up`] while it is up. While it stands in for the socket, the connection's warnings
//! say so. Lists the sign-in may not read (a missing permission, another broadcaster's channel) are skipped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use onair_core::{ChannelRef, Community, ConnectionState, EventSink, PlatformError};
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, sleep_until};

use crate::helix::Helix;
use crate::live::Notices;
use crate::reconcile::{Listed, Reconciliation};

/// Where the polling fallback reads what OnAir recorded of a channel (the store, in the hub).
#[async_trait]
pub trait RecordedCommunity: Send + Sync {
    /// The recorded community of `channel`; the error is a sentence for the log.
    async fn community(&self, channel: &ChannelRef) -> Result<Community, String>;
}

/// How often the fallback reads Helix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollCadence {
    /// While the socket is down.
    pub while_down: Duration,
    /// While it is up (a safety net).
    pub while_up: Duration,
}

pub(crate) struct Poller {
    pub(crate) helix: Helix,
    pub(crate) channels: Vec<ChannelRef>,
    pub(crate) recorded: Arc<dyn RecordedCommunity>,
    pub(crate) sink: EventSink,
    pub(crate) state: watch::Receiver<ConnectionState>,
    pub(crate) cadence: PollCadence,
    pub(crate) notices: Arc<Notices>,
    /// When watching began: follows before it are history, unless the store recorded the channel earlier.
    pub(crate) started: DateTime<Utc>,
    /// Per channel, the subscribers of the run's first listing (no missed events: there before).
    pub(crate) baselines: HashMap<String, HashSet<String>>,
}

/// Whether the socket is up.
fn up(state: &ConnectionState) -> bool {
    matches!(state, ConnectionState::Connected { .. })
}

/// Whether the socket is in an outage (not merely opening).
fn out(state: &ConnectionState) -> bool {
    matches!(
        state,
        ConnectionState::Reconnecting { .. } | ConnectionState::Failed { .. }
    )
}

impl Poller {
    /// Polls until `stop` (or until nobody takes events any more).
    pub(crate) async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let mut next = Instant::now();
        let mut last: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = &mut stop => return,
                () = sleep_until(next) => {
                    if self.poll().await.is_err() {
                        return;
                    }
                    last = Some(Instant::now());
                    next = Instant::now() + self.every();
                }
                changed = self.state.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let state = self.state.borrow_and_update().clone();
                    self.show_mode(&state);
                    let now = Instant::now();
                    next = match last {
                        None => next,
                        // Back up: what happened in the last moments of the outage, unless just read.
                        Some(last) if up(&state) => {
                            if now.duration_since(last) >= self.cadence.while_down {
                                now
                            } else {
                                last + self.cadence.while_up
                            }
                        }
                        Some(last) => (last + self.cadence.while_down).max(now).min(next),
                    };
                }
            }
        }
    }

    fn every(&self) -> Duration {
        if up(&self.state.borrow()) {
            self.cadence.while_up
        } else {
            self.cadence.while_down
        }
    }

    fn show_mode(&self, state: &ConnectionState) {
        let polling = out(state).then(|| {
            format!(
                "Live events are interrupted: OnAir reads the follower, moderator, VIP and subscriber lists \
                 from Twitch every {} s until the connection is back",
                self.cadence.while_down.as_secs()
            )
        });
        self.notices.set_polling(polling);
    }

    /// Reads and reconciles every channel. `Err`: nobody takes events any more.
    async fn poll(&mut self) -> Result<(), ()> {
        let credentials = self.helix.credentials();
        let scopes = credentials.scopes();
        let user_id = credentials.user_id();
        let has = |wanted: &[&str]| wanted.iter().any(|w| scopes.iter().any(|s| s == w));
        for channel in self.channels.clone() {
            let id = channel.platform_id.as_str();
            let own = id == user_id;
            let Some(earlier) = self.community(&channel).await else {
                continue;
            };
            let follows_since = earlier.recorded_since.unwrap_or(self.started).min(self.started);
            let listed = Listed {
                followers: if has(&["moderator:read:followers"]) {
                    readable(self.helix.followers(id, Some(follows_since)).await, "followers")
                } else {
                    None
                },
                moderators: if own && has(&["moderation:read", "channel:manage:moderators"]) {
                    readable(self.helix.moderators(id).await, "moderators")
                } else {
                    None
                },
                vips: if own && has(&["channel:read:vips", "channel:manage:vips"]) {
                    readable(self.helix.vips(id).await, "VIPs")
                } else {
                    None
                },
                subscribers: if own && has(&["channel:read:subscriptions"]) {
                    readable(self.helix.subscribers(id).await, "subscribers")
                } else {
                    None
                },
            };
            // Read after the lists, so what an earlier read recorded a moment ago is in it.
            let Some(recorded) = self.community(&channel).await else {
                continue;
            };
            let baseline = match (&listed.subscribers, self.baselines.get(id)) {
                (_, Some(baseline)) => baseline.clone(),
                (Some(subscribers), None) => {
                    let baseline: HashSet<String> = subscribers
                        .iter()
                        .map(|s| s.user.id.clone())
                        .filter(|user| !recorded.subscribers.contains_key(user))
                        .collect();
                    self.baselines.insert(id.to_owned(), baseline.clone());
                    baseline
                }
                (None, None) => HashSet::new(),
            };
            let missed = Reconciliation {
                channel: &channel,
                recorded: &recorded,
                listed: &listed,
                follows_since,
                baseline: &baseline,
                now: Utc::now(),
            }
            .missed();
            if !missed.is_empty() {
                tracing::info!(channel = %channel.slug, found = missed.len(), "recording what the live connection missed");
            }
            for event in missed {
                self.sink.send(event).await.map_err(|_| ())?;
            }
        }
        Ok(())
    }
}

impl Poller {
    async fn community(&self, channel: &ChannelRef) -> Option<Community> {
        self.recorded
            .community(channel)
            .await
            .inspect_err(|e| {
                tracing::warn!(channel = %channel.slug, error = %e, "could not read what was recorded; not polling it")
            })
            .ok()
    }
}

/// A list when it could be read; a failure is logged and nothing is concluded.
fn readable<T>(listed: Result<Vec<T>, PlatformError>, what: &str) -> Option<Vec<T>> {
    listed
        .inspect_err(|e| tracing::warn!(error = %e, "could not read the channel's {what}"))
        .ok()
}
