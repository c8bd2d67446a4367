//! Which events become desktop notifications, and how bursts are coalesced: the rules (kinds on or off, a
//! streamer-mode mute), the first event of a kind shown at once, the rest of a burst gathered into one
//! summary a minute ("12 more new followers in the last minute"), and events that are not news (stored
//! before the app started, or happened long ago) kept quiet. [`FreshEvents`] reads what the store commits
//! from now on; [`Notifier`] is pure logic on a clock it is given; the desktop shows what it returns.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use onair_core::{Event, EventData, EventKind, Offset};
use onair_store::{EventQuery, Store, StoreError};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use ts_rs::TS;

use crate::format::summary;

/// How long a burst gathers before its summary.
pub const BURST_WINDOW: Duration = Duration::from_secs(60);

/// An event that happened longer ago than this is not news (a replay or a catch-up): no notification.
pub const NEWS_AGE: Duration = Duration::from_secs(10 * 60);

/// The notification rules the user sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct NotifyRules {
    /// The kinds that notify.
    #[ts(as = "Vec<EventKind>")]
    pub kinds: BTreeSet<EventKind>,
    /// Streamer mode: no notification at all (on screen while live), without losing the rules.
    pub muted: bool,
}

impl Default for NotifyRules {
    /// Follows, subscriptions, gifts, raids and bans; not chat.
    fn default() -> Self {
        NotifyRules {
            kinds: [
                EventKind::Follow,
                EventKind::Subscription,
                EventKind::SubscriptionGift,
                EventKind::Raid,
                EventKind::Ban,
            ]
            .into(),
            muted: false,
        }
    }
}

/// The events committed to a store from the moment it is created on: those already stored (a replay at
/// start-up, yesterday's stream) are never returned.
#[derive(Debug, Clone, Copy)]
pub struct FreshEvents {
    after: Offset,
}

impl FreshEvents {
    /// The most events one [`FreshEvents::next`] returns.
    pub const PAGE: u32 = 1000;

    /// Notes where `store` ends now.
    pub async fn start(store: &Store) -> Result<FreshEvents, StoreError> {
        let newest = store
            .events(&EventQuery {
                limit: Some(1),
                ..EventQuery::default()
            })
            .await?;
        Ok(FreshEvents {
            after: newest.last().and_then(|e| e.offset).unwrap_or(Offset(0)),
        })
    }

    /// The offset it continues after: the last event it returned, or the store's end when it started.
    pub fn position(&self) -> Offset {
        self.after
    }

    /// The next events committed since the last call (at most [`FreshEvents::PAGE`], oldest first; empty
    /// when there is nothing new).
    pub async fn next(&mut self, store: &Store) -> Result<Vec<Event>, StoreError> {
        let events = store
            .events(&EventQuery {
                after: Some(self.after),
                limit: Some(Self::PAGE),
                ..EventQuery::default()
            })
            .await?;
        if let Some(last) = events.last().and_then(|e| e.offset) {
            self.after = last;
        }
        Ok(events)
    }
}

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The kind it is about.
    pub kind: EventKind,
    /// One line: who did what.
    pub title: String,
    /// Where (and, for a summary, who).
    pub body: String,
}

/// A burst of one kind being gathered.
#[derive(Debug)]
struct Burst {
    ends: Instant,
    /// Who, in arrival order, each once.
    people: Vec<String>,
    /// How many of the thing (a gift of 5 counts 5).
    count: u64,
}

impl Burst {
    fn starting(now: Instant) -> Burst {
        Burst {
            ends: now + BURST_WINDOW,
            people: Vec::new(),
            count: 0,
        }
    }
}

/// Decides what to notify; see the module doc.
#[derive(Debug, Default)]
pub struct Notifier {
    rules: NotifyRules,
    bursts: BTreeMap<EventKind, Burst>,
}

impl Notifier {
    /// A notifier with `rules`.
    pub fn new(rules: NotifyRules) -> Notifier {
        Notifier {
            rules,
            bursts: BTreeMap::new(),
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &NotifyRules {
        &self.rules
    }

    /// New rules; a burst of a kind now off (or everything, when muted) is dropped.
    pub fn set_rules(&mut self, rules: NotifyRules) {
        self.bursts
            .retain(|kind, _| !rules.muted && rules.kinds.contains(kind));
        self.rules = rules;
    }

    /// A newly recorded event: the notification to show now, if any (the first of a burst); the rest of
    /// the burst is gathered for [`Notifier::due`].
    pub fn offer(&mut self, event: &Event, now: Instant, wall: DateTime<Utc>) -> Option<Notification> {
        let kind = event.kind();
        if self.rules.muted || !self.rules.kinds.contains(&kind) {
            return None;
        }
        let age = wall.signed_duration_since(event.occurred_at);
        if age.to_std().is_ok_and(|age| age > NEWS_AGE) {
            return None;
        }
        let who = actor_name(event);
        if let Some(burst) = self.bursts.get_mut(&kind) {
            burst.count += count_of(event);
            if !burst.people.contains(&who) {
                burst.people.push(who);
            }
            return None;
        }
        self.bursts.insert(kind, Burst::starting(now));
        Some(Notification {
            kind,
            title: format!("{who} {}", summary(event)),
            body: format!("{}:{}", event.platform, event.channel.slug),
        })
    }

    /// When the next burst ends (a summary may then be due).
    pub fn next_due(&self) -> Option<Instant> {
        self.bursts.values().map(|b| b.ends).min()
    }

    /// The summaries of the bursts that ended by `now`. A burst that gathered something starts another
    /// window at once, so a flood gives one summary a minute; a quiet one ends.
    pub fn due(&mut self, now: Instant) -> Vec<Notification> {
        let mut due = Vec::new();
        self.bursts.retain(|&kind, burst| {
            if burst.ends > now {
                return true;
            }
            if burst.count == 0 {
                return false;
            }
            due.push(Notification {
                kind,
                title: format!(
                    "{} more {} in the last minute",
                    burst.count,
                    plural(kind, burst.count)
                ),
                body: names(&burst.people),
            });
            *burst = Burst::starting(now);
            true
        });
        due
    }
}

/// Who did it, for people.
fn actor_name(event: &Event) -> String {
    match (&event.actor, &event.data) {
        (Some(actor), _) => actor.display_name.clone(),
        (None, EventData::SubscriptionGift(_) | EventData::Cheer(_)) => "Anonymous".into(),
        (None, _) => event.channel.slug.clone(),
    }
}

/// How many of the thing an event counts (a gift of 5 subscriptions counts 5).
fn count_of(event: &Event) -> u64 {
    match &event.data {
        EventData::SubscriptionGift(g) => u64::from(g.quantity.max(1)),
        _ => 1,
    }
}

/// "new followers", "gifted subscriptions", ...
fn plural(kind: EventKind, count: u64) -> String {
    let (one, many) = match kind {
        EventKind::Follow => ("new follower", "new followers"),
        EventKind::Subscription => ("new subscription", "new subscriptions"),
        EventKind::SubscriptionGift => ("gifted subscription", "gifted subscriptions"),
        EventKind::Raid => ("raid", "raids"),
        EventKind::Ban => ("ban", "bans"),
        EventKind::Timeout => ("timeout", "timeouts"),
        EventKind::Cheer => ("cheer", "cheers"),
        EventKind::ChatMessage => ("chat message", "chat messages"),
        other => return format!("{} events", other.as_str().replace('_', " ")),
    };
    (if count == 1 { one } else { many }).to_owned()
}

/// "from Alice, Bob, Carol and 9 others".
fn names(people: &[String]) -> String {
    const LISTED: usize = 3;
    if people.is_empty() {
        return String::new();
    }
    let listed = people[..people.len().min(LISTED)].join(", ");
    let others = people.len().saturating_sub(LISTED);
    if others == 0 {
        format!("from {listed}")
    } else {
        format!(
            "from {listed} and {others} other{}",
            if others == 1 { "" } else { "s" }
        )
    }
}
