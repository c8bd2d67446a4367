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

use crate::helix::{Helix, Subscriber};
use crate::live::Notices;
use crate::reconcile::{Listed, Reconciliation, either_and_both};

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
    /// When the last poll that went through began.
    pub(crate) last_poll: Option<DateTime<Utc>>,
}

/// How far back the follower list is read at most (what is older is history, even after a long break).
pub const LOOK_BACK: Duration = Duration::from_secs(7 * 24 * 60 * 60);

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
                    let started = Utc::now();
                    // A poll in progress (offline, its requests retried) never holds up a stop.
                    tokio::select! {
                        polled = self.poll() => if polled.is_err() {
                            return;
                        },
                        _ = &mut stop => return,
                    }
                    self.last_poll = Some(started);
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

    /// Says in the warnings while polling stands in: from the outage's start until the socket is up again
    /// (the tries in between change nothing).
    fn show_mode(&self, state: &ConnectionState) {
        let polling = match state {
            _ if out(state) => Some(format!(
                "Live events are interrupted: OnAir reads the follower, moderator, VIP and subscriber lists \
                 from Twitch every {} s until the connection is back",
                self.cadence.while_down.as_secs()
            )),
            ConnectionState::Connecting => return,
            _ => None,
        };
        self.notices.set_polling(polling);
    }

    /// Follows before this are not looked for: a little before the last poll, or on the first poll of a
    /// run a little before OnAir last received an event of the channel (it was closed since), never more
    /// than [`LOOK_BACK`] ago, and never after the watching began.
    fn follows_since(&self, recorded: &Community) -> DateTime<Utc> {
        let margin = chrono::Duration::minutes(10);
        let oldest = Utc::now() - chrono::Duration::from_std(LOOK_BACK).unwrap_or_default();
        let since = match (self.last_poll, recorded.last_received_at) {
            (Some(last_poll), _) => last_poll - margin,
            (None, Some(last_event)) => last_event - margin,
            (None, None) => self.started,
        };
        since.max(oldest).min(self.started)
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
            let follows_since = self.follows_since(&earlier);
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
            // Read again after the lists: what the live connection recorded meanwhile is in one of the two.
            let Some(later) = self.community(&channel).await else {
                continue;
            };
            let (recorded, held) = either_and_both(&earlier, &later);
            let baseline = self.baseline(id, &listed, &recorded);
            let missed = Reconciliation {
                channel: &channel,
                recorded: &recorded,
                held: &held,
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
    /// The subscribers of the channel `id` that were there before (not missed events): those of the run's
    /// first listing that OnAir had not recorded, less those that have since dropped out of a listing (a
    /// lapsed subscription that comes back is new).
    fn baseline(&mut self, id: &str, listed: &Listed, recorded: &Community) -> HashSet<String> {
        let baseline = self.baselines.entry(id.to_owned());
        match &listed.subscribers {
            Some(subscribers) => {
                let baseline = baseline.or_insert_with(|| first_baseline(subscribers, recorded));
                prune(baseline, subscribers);
                baseline.clone()
            }
            None => self.baselines.get(id).cloned().unwrap_or_default(),
        }
    }

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

/// The baseline of a first listing: its subscribers OnAir has not recorded.
fn first_baseline(subscribers: &[Subscriber], recorded: &Community) -> HashSet<String> {
    subscribers
        .iter()
        .map(|s| s.user.id.clone())
        .filter(|user| !recorded.subscribers.contains_key(user))
        .collect()
}

/// Forgets baseline subscribers no longer listed: if they subscribe again, that is new.
fn prune(baseline: &mut HashSet<String>, subscribers: &[Subscriber]) {
    let listed: HashSet<&str> = subscribers.iter().map(|s| s.user.id.as_str()).collect();
    baseline.retain(|user| listed.contains(user.as_str()));
}

/// A list when it could be read; a failure is logged and nothing is concluded.
fn readable<T>(listed: Result<Vec<T>, PlatformError>, what: &str) -> Option<Vec<T>> {
    listed
        .inspect_err(|e| tracing::warn!(error = %e, "could not read the channel's {what}"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_core::Actor;

    fn subscriber(n: u32) -> Subscriber {
        Subscriber {
            user: Actor::new(n.to_string(), format!("user{n}")),
            tier: "1000".to_owned(),
            is_gift: false,
            gifter: None,
        }
    }

    #[test]
    fn the_baseline_is_the_unrecorded_first_listing_and_forgets_who_leaves() {
        let mut recorded = Community::default();
        recorded
            .subscribers
            .insert("1".into(), (Actor::new("1", "user1"), Some("1000".into())));
        let first = [subscriber(1), subscriber(2), subscriber(3)];
        let mut baseline = first_baseline(&first, &recorded);
        assert_eq!(
            baseline,
            ["2".to_owned(), "3".to_owned()].into(),
            "1 is recorded: no baseline"
        );
        // 3's subscription lapses: forgotten, so a new one is an event.
        prune(&mut baseline, &[subscriber(1), subscriber(2)]);
        assert_eq!(baseline, ["2".to_owned()].into());
        prune(&mut baseline, &[subscriber(1), subscriber(2), subscriber(3)]);
        assert_eq!(
            baseline,
            ["2".to_owned()].into(),
            "3 came back: not in the baseline"
        );
    }
}
