//! The polling fallback's comparison: what Helix lists for a channel (followers, moderators, VIPs,
//! subscribers) against what OnAir recorded ([`Community`]), turned into the events the live connection
//! missed. Each is an ordinary event (so the store's projections apply), marked by a `source_id` that
//! starts with [`RECONCILED`]: a follow, grant or subscription found in the lists is recorded once; a role
//! or subscription OnAir holds open that the list no longer has is revoked or ended.
//!
//! What OnAir's store is compared with is read twice, before and after the lists: something is added only
//! when neither read has it, and revoked or ended only when both still hold it, so an event the live
//! connection recorded while the lists were read is never contradicted.
//!
//! What happened long before is history, not a missed event: follows older than the poll's look-back are
//! left alone, and so are the subscribers of the run's first listing that OnAir has not recorded (the
//! baseline: Helix gives no start date that could tell a subscription gained while OnAir was closed from
//! an old one). Moderator and VIP lists are short and always reconciled.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use onair_core::{
    Actor, ChannelRef, Community, Empty, Event, EventData, Platform, Subscription, SubscriptionEnd,
};

use crate::helix::{Follower, Subscriber};

/// How the `source_id` of an event found by reconciliation starts.
pub const RECONCILED: &str = "reconciled:";

/// Who is in either of two reads of a community (`recorded`), and who is in both (`held`).
pub fn either_and_both(a: &Community, b: &Community) -> (Community, Community) {
    let mut either = a.clone();
    either.followers.extend(b.followers.iter().cloned());
    either.moderators.extend(b.moderators.clone());
    either.vips.extend(b.vips.clone());
    either.subscribers.extend(b.subscribers.clone());
    either.last_received_at = a.last_received_at.max(b.last_received_at);
    let both = Community {
        last_received_at: either.last_received_at,
        followers: a.followers.intersection(&b.followers).cloned().collect(),
        moderators: a
            .moderators
            .iter()
            .filter(|(id, _)| b.moderators.contains_key(*id))
            .map(|(id, actor)| (id.clone(), actor.clone()))
            .collect(),
        vips: a
            .vips
            .iter()
            .filter(|(id, _)| b.vips.contains_key(*id))
            .map(|(id, actor)| (id.clone(), actor.clone()))
            .collect(),
        subscribers: a
            .subscribers
            .iter()
            .filter(|(id, _)| b.subscribers.contains_key(*id))
            .map(|(id, sub)| (id.clone(), sub.clone()))
            .collect(),
    };
    (either, both)
}

/// What Helix listed for one channel. A list that could not be read is `None`: nothing is concluded
/// from it (an unreadable list must never revoke everyone).
#[derive(Debug, Clone, Default)]
pub struct Listed {
    /// Followers, newest first (possibly only the recent ones).
    pub followers: Option<Vec<Follower>>,
    /// Moderators.
    pub moderators: Option<Vec<Actor>>,
    /// VIPs.
    pub vips: Option<Vec<Actor>>,
    /// Subscribers.
    pub subscribers: Option<Vec<Subscriber>>,
}

/// One comparison's inputs.
#[derive(Debug, Clone, Copy)]
pub struct Reconciliation<'a> {
    /// The channel.
    pub channel: &'a ChannelRef,
    /// What OnAir recorded, as either read of the store has it (nothing is added that one of them holds).
    pub recorded: &'a Community,
    /// What both reads of the store hold (only that is revoked or ended).
    pub held: &'a Community,
    /// What Helix listed.
    pub listed: &'a Listed,
    /// Follows before this are history (the poll's look-back).
    pub follows_since: DateTime<Utc>,
    /// Subscribers that were there when OnAir first listed them and had none recorded.
    pub baseline: &'a HashSet<String>,
    /// Now: when the changes found are said to have happened.
    pub now: DateTime<Utc>,
}

impl Reconciliation<'_> {
    /// The events the live connection missed, in a stable order (follows oldest first, then moderators,
    /// VIPs and subscriptions, grants before revocations).
    pub fn missed(&self) -> Vec<Event> {
        let mut events = Vec::new();
        if let Some(followers) = &self.listed.followers {
            let mut new: Vec<&Follower> = followers
                .iter()
                .filter(|f| {
                    f.followed_at >= self.follows_since && !self.recorded.followers.contains(&f.user.id)
                })
                .collect();
            new.sort_by_key(|f| f.followed_at);
            for follower in new {
                let at = follower.followed_at;
                events.push(
                    self.event(EventData::Follow(Empty {}), "follow", &follower.user, at)
                        .with_actor(follower.user.clone()),
                );
            }
        }
        let roles = [
            (
                &self.listed.moderators,
                &self.recorded.moderators,
                &self.held.moderators,
                "moderator",
            ),
            (&self.listed.vips, &self.recorded.vips, &self.held.vips, "vip"),
        ];
        for (listed, recorded, held, role) in roles {
            let Some(listed) = listed else { continue };
            let listed_ids: HashSet<&str> = listed.iter().map(|a| a.id.as_str()).collect();
            for user in listed.iter().filter(|a| !recorded.contains_key(&a.id)) {
                let (data, name) = match role {
                    "moderator" => (EventData::ModeratorAdd(Empty {}), "moderator_add"),
                    _ => (EventData::VipAdd(Empty {}), "vip_add"),
                };
                events.push(self.event(data, name, user, self.now).with_target(user.clone()));
            }
            let mut gone: Vec<&Actor> = held
                .values()
                .filter(|a| !listed_ids.contains(a.id.as_str()))
                .collect();
            gone.sort_by(|a, b| a.id.cmp(&b.id));
            for user in gone {
                let (data, name) = match role {
                    "moderator" => (EventData::ModeratorRemove(Empty {}), "moderator_remove"),
                    _ => (EventData::VipRemove(Empty {}), "vip_remove"),
                };
                events.push(self.event(data, name, user, self.now).with_target(user.clone()));
            }
        }
        if let Some(subscribers) = &self.listed.subscribers {
            // The broadcaster is listed as subscribed to their own channel; that is no event.
            let listed: Vec<&Subscriber> = subscribers
                .iter()
                .filter(|s| s.user.id != self.channel.platform_id)
                .collect();
            let listed_ids: HashSet<&str> = listed.iter().map(|s| s.user.id.as_str()).collect();
            for subscriber in listed.iter().filter(|s| {
                !self.recorded.subscribers.contains_key(&s.user.id) && !self.baseline.contains(&s.user.id)
            }) {
                let data = EventData::Subscription(Subscription {
                    months: None,
                    tier: Some(subscriber.tier.clone()),
                    is_gift: subscriber.is_gift,
                    message: None,
                });
                events.push(
                    self.event(data, "subscription", &subscriber.user, self.now)
                        .with_actor(subscriber.user.clone()),
                );
            }
            let mut ended: Vec<&(Actor, Option<String>)> = self
                .held
                .subscribers
                .values()
                .filter(|(user, _)| !listed_ids.contains(user.id.as_str()))
                .collect();
            ended.sort_by(|a, b| a.0.id.cmp(&b.0.id));
            for (user, tier) in ended {
                let data = EventData::SubscriptionEnd(SubscriptionEnd {
                    tier: tier.clone(),
                    is_gift: false,
                });
                events.push(
                    self.event(data, "subscription_end", user, self.now)
                        .with_actor(user.clone()),
                );
            }
        }
        events
    }

    /// An event of `kind` about `user` at `at`, marked as found by reconciliation. Its source id is stable
    /// for a follow (one per follow time) and per poll for the others, so a change is recorded once.
    fn event(&self, data: EventData, kind: &str, user: &Actor, at: DateTime<Utc>) -> Event {
        let source_id = format!(
            "{RECONCILED}{kind}:{}:{}:{}",
            self.channel.platform_id,
            user.id,
            at.timestamp_millis()
        );
        Event::new(Platform::Twitch, self.channel.clone(), data)
            .with_occurred_at(at)
            .with_source_id(source_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use onair_core::EventKind;

    fn user(n: u32) -> Actor {
        Actor::new(n.to_string(), format!("user{n}"))
    }

    fn follower(n: u32, at: DateTime<Utc>) -> Follower {
        Follower {
            user: user(n),
            followed_at: at,
        }
    }

    fn subscriber(n: u32, tier: &str) -> Subscriber {
        Subscriber {
            user: user(n),
            tier: tier.to_owned(),
            is_gift: false,
            gifter: None,
        }
    }

    fn kinds(events: &[Event]) -> Vec<(EventKind, String)> {
        events
            .iter()
            .map(|e| {
                let who = e
                    .actor
                    .as_ref()
                    .or(e.target.as_ref())
                    .map(|a| a.id.clone())
                    .unwrap_or_default();
                (e.kind(), who)
            })
            .collect()
    }

    #[test]
    fn what_was_missed_is_recorded_and_what_is_gone_is_ended() {
        let now = Utc::now();
        let since = now - Duration::hours(5);
        let channel = ChannelRef::new("100", "nebulacast");
        let mut recorded = Community::default();
        recorded.followers.insert("1".into());
        recorded.moderators.insert("3".into(), user(3));
        recorded.moderators.insert("4".into(), user(4));
        recorded.vips.insert("5".into(), user(5));
        recorded
            .subscribers
            .insert("7".into(), (user(7), Some("1000".into())));
        recorded
            .subscribers
            .insert("8".into(), (user(8), Some("2000".into())));
        let listed = Listed {
            followers: Some(vec![
                follower(2, now - Duration::minutes(1)),
                follower(9, now - Duration::minutes(2)),
                follower(1, now - Duration::hours(1)),
                follower(6, now - Duration::hours(9)),
            ]),
            moderators: Some(vec![user(3), user(10)]),
            vips: None,
            subscribers: Some(vec![
                subscriber(7, "1000"),
                subscriber(11, "3000"),
                subscriber(100, "3000"),
            ]),
        };
        let baseline = HashSet::new();
        let missed = Reconciliation {
            channel: &channel,
            recorded: &recorded,
            held: &recorded,
            listed: &listed,
            follows_since: since,
            baseline: &baseline,
            now,
        }
        .missed();
        assert_eq!(
            kinds(&missed),
            [
                // 9 then 2 (oldest first); 1 is recorded; 6 followed before OnAir watched.
                (EventKind::Follow, "9".to_owned()),
                (EventKind::Follow, "2".to_owned()),
                (EventKind::ModeratorAdd, "10".to_owned()),
                (EventKind::ModeratorRemove, "4".to_owned()),
                // VIPs could not be read: nothing concluded. The broadcaster (100) is no subscriber event.
                (EventKind::Subscription, "11".to_owned()),
                (EventKind::SubscriptionEnd, "8".to_owned()),
            ]
        );
        assert!(
            missed
                .iter()
                .all(|e| e.source_id.as_deref().unwrap().starts_with(RECONCILED))
        );
        assert_eq!(
            missed[0].occurred_at,
            now - Duration::minutes(2),
            "a follow keeps its time"
        );
        assert_eq!(
            missed[3].target.as_ref().unwrap().login,
            "user4",
            "the recorded name is kept"
        );
        let EventData::Subscription(sub) = &missed[4].data else {
            panic!()
        };
        assert_eq!(sub.tier.as_deref(), Some("3000"));
        let EventData::SubscriptionEnd(end) = &missed[5].data else {
            panic!()
        };
        assert_eq!(end.tier.as_deref(), Some("2000"));
    }

    #[test]
    fn what_only_one_read_of_the_store_has_is_neither_added_nor_taken_away() {
        let now = Utc::now();
        let channel = ChannelRef::new("100", "nebulacast");
        // Between the two reads the live connection recorded: moderator 3 removed, moderator 4 added.
        let mut before = Community::default();
        before.moderators.insert("3".into(), user(3));
        let mut after = Community::default();
        after.moderators.insert("4".into(), user(4));
        // The lists, read in between, still show 3 and not yet 4.
        let listed = Listed {
            moderators: Some(vec![user(3)]),
            ..Listed::default()
        };
        let (recorded, held) = either_and_both(&before, &after);
        let missed = Reconciliation {
            channel: &channel,
            recorded: &recorded,
            held: &held,
            listed: &listed,
            follows_since: now,
            baseline: &HashSet::new(),
            now,
        }
        .missed();
        assert!(missed.is_empty(), "{:?}", kinds(&missed));
    }

    #[test]
    fn the_baseline_and_agreement_record_nothing() {
        let now = Utc::now();
        let channel = ChannelRef::new("100", "nebulacast");
        let recorded = Community::default();
        let listed = Listed {
            followers: Some(vec![follower(1, now - Duration::days(300))]),
            moderators: Some(vec![]),
            vips: Some(vec![]),
            subscribers: Some(vec![subscriber(7, "1000")]),
        };
        let baseline: HashSet<String> = ["7".to_owned()].into();
        let missed = Reconciliation {
            channel: &channel,
            recorded: &recorded,
            held: &recorded,
            listed: &listed,
            follows_since: now - Duration::minutes(1),
            baseline: &baseline,
            now,
        }
        .missed();
        assert!(missed.is_empty(), "{:?}", kinds(&missed));
    }
}
