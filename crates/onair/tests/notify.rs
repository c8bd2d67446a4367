//! The notification rules: the default kinds, the first of a burst at once and one summary a minute after,
//! streamer mode, old events kept quiet, and only events committed after start-up read (a real store).

use std::time::Duration;

use chrono::Utc;
use onair::notify::{BURST_WINDOW, FreshEvents, Notifier, NotifyRules};
use onair_core::{Actor, Event, EventData, EventKind, Platform, SubscriptionGift, sample};
use tokio::time::Instant;

fn event(kind: EventKind, who: &str) -> Event {
    let mut event = sample::every_kind(Platform::Kick)
        .into_iter()
        .find(|e| e.kind() == kind)
        .expect("a sample of every kind");
    event.actor = Some(Actor::new(format!("id-{who}"), who));
    event.occurred_at = Utc::now();
    // Each its own platform message, so the store keeps them all.
    event.source_id = Some(format!("{kind}-{who}"));
    event
}

fn gift(who: &str, quantity: u32) -> Event {
    let mut event = event(EventKind::SubscriptionGift, who);
    event.data = EventData::SubscriptionGift(SubscriptionGift {
        quantity,
        ..SubscriptionGift::default()
    });
    event
}

#[test]
fn by_default_follows_subs_gifts_raids_and_bans_notify_but_chat_does_not() {
    let rules = NotifyRules::default();
    for kind in [
        EventKind::Follow,
        EventKind::Subscription,
        EventKind::SubscriptionGift,
        EventKind::Raid,
        EventKind::Ban,
    ] {
        assert!(rules.kinds.contains(&kind), "{kind}");
    }
    let mut notifier = Notifier::new(rules);
    let now = Instant::now();
    assert_eq!(
        notifier.offer(&event(EventKind::ChatMessage, "alice"), now, Utc::now()),
        None
    );
    let follow = notifier
        .offer(&event(EventKind::Follow, "alice"), now, Utc::now())
        .expect("a follow notifies");
    assert_eq!(follow.kind, EventKind::Follow);
    assert_eq!(follow.title, "alice followed");
    assert!(follow.body.starts_with("kick:"), "{}", follow.body);
}

#[test]
fn a_burst_shows_its_first_event_then_one_summary_a_minute() {
    let mut notifier = Notifier::new(NotifyRules::default());
    let start = Instant::now();
    let first = notifier.offer(&event(EventKind::Follow, "viewer0"), start, Utc::now());
    assert!(first.is_some());
    for i in 1..=12 {
        let at = start + Duration::from_secs(i);
        assert_eq!(
            notifier.offer(&event(EventKind::Follow, &format!("viewer{i}")), at, Utc::now()),
            None,
            "follow {i} is gathered"
        );
    }
    // Another kind is a burst of its own.
    assert!(notifier.offer(&gift("gifter", 5), start, Utc::now()).is_some());
    assert_eq!(notifier.offer(&gift("gifter", 3), start, Utc::now()), None);

    assert_eq!(notifier.next_due(), Some(start + BURST_WINDOW));
    assert!(
        notifier
            .due(start + BURST_WINDOW - Duration::from_millis(1))
            .is_empty()
    );
    let due = notifier.due(start + BURST_WINDOW);
    assert_eq!(due.len(), 2);
    let follows = due.iter().find(|n| n.kind == EventKind::Follow).unwrap();
    assert_eq!(follows.title, "12 more new followers in the last minute");
    assert_eq!(follows.body, "from viewer1, viewer2, viewer3 and 9 others");
    let gifts = due
        .iter()
        .find(|n| n.kind == EventKind::SubscriptionGift)
        .unwrap();
    assert_eq!(gifts.title, "3 more gifted subscriptions in the last minute");
    assert_eq!(gifts.body, "from gifter");

    // The flood goes on: no single notification, the next summary a minute later.
    let later = start + BURST_WINDOW + Duration::from_secs(5);
    assert_eq!(
        notifier.offer(&event(EventKind::Follow, "late"), later, Utc::now()),
        None
    );
    let next = notifier.due(start + BURST_WINDOW * 2);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].title, "1 more new follower in the last minute");

    // A quiet minute ends the burst: the next follow shows at once again.
    assert!(notifier.due(start + BURST_WINDOW * 3).is_empty());
    assert_eq!(notifier.next_due(), None);
    let after_quiet = start + BURST_WINDOW * 3 + Duration::from_secs(1);
    assert!(
        notifier
            .offer(&event(EventKind::Follow, "fresh"), after_quiet, Utc::now())
            .is_some()
    );
}

#[test]
fn streamer_mode_and_switched_off_kinds_stay_quiet_and_drop_their_bursts() {
    let mut notifier = Notifier::new(NotifyRules::default());
    let now = Instant::now();
    assert!(
        notifier
            .offer(&event(EventKind::Follow, "a"), now, Utc::now())
            .is_some()
    );
    assert_eq!(
        notifier.offer(&event(EventKind::Follow, "b"), now, Utc::now()),
        None
    );

    notifier.set_rules(NotifyRules {
        muted: true,
        ..NotifyRules::default()
    });
    assert_eq!(
        notifier.offer(&event(EventKind::Raid, "c"), now, Utc::now()),
        None
    );
    assert!(
        notifier.due(now + BURST_WINDOW).is_empty(),
        "the muted burst is dropped"
    );

    notifier.set_rules(NotifyRules {
        kinds: [EventKind::ChatMessage].into(),
        ..NotifyRules::default()
    });
    assert_eq!(
        notifier.offer(&event(EventKind::Follow, "d"), now, Utc::now()),
        None
    );
    let chat = notifier.offer(&event(EventKind::ChatMessage, "e"), now, Utc::now());
    assert!(chat.is_some_and(|n| n.title.starts_with("e ")));
}

#[test]
fn an_event_that_happened_long_ago_is_not_news() {
    let mut notifier = Notifier::new(NotifyRules::default());
    let mut replayed = event(EventKind::Follow, "old");
    replayed.occurred_at = Utc::now() - chrono::Duration::minutes(11);
    assert_eq!(notifier.offer(&replayed, Instant::now(), Utc::now()), None);
    // A clock a little behind the platform's is not a reason to stay quiet.
    let mut ahead = event(EventKind::Follow, "ahead");
    ahead.occurred_at = Utc::now() + chrono::Duration::minutes(3);
    assert!(notifier.offer(&ahead, Instant::now(), Utc::now()).is_some());
}

#[tokio::test]
async fn only_events_committed_after_start_up_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = onair_store::Store::open(dir.path().join("onair.db"))
        .await
        .unwrap();
    let writer = store.writer();
    // Yesterday's stream, and a replay at start-up, are already stored.
    for who in ["yesterday", "replayed"] {
        writer
            .append_and_wait(event(EventKind::Follow, who))
            .await
            .unwrap();
    }
    let mut fresh = FreshEvents::start(&store).await.unwrap();
    assert!(fresh.next(&store).await.unwrap().is_empty());

    for who in ["new1", "new2"] {
        writer
            .append_and_wait(event(EventKind::Follow, who))
            .await
            .unwrap();
    }
    let read = fresh.next(&store).await.unwrap();
    let names: Vec<_> = read
        .iter()
        .map(|e| e.actor.as_ref().unwrap().login.clone())
        .collect();
    assert_eq!(names, ["new1", "new2"]);
    assert!(fresh.next(&store).await.unwrap().is_empty(), "each event once");

    // So the notifier sees only the new follow (and gathers the second into its burst).
    let mut notifier = Notifier::new(NotifyRules::default());
    let shown: Vec<_> = read
        .iter()
        .filter_map(|e| notifier.offer(e, Instant::now(), Utc::now()))
        .collect();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].title, "new1 followed");
    store.close().await;
}

#[tokio::test]
async fn fresh_events_on_an_empty_store_start_at_the_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let store = onair_store::Store::open(dir.path().join("onair.db"))
        .await
        .unwrap();
    let mut fresh = FreshEvents::start(&store).await.unwrap();
    store
        .writer()
        .append_and_wait(event(EventKind::Raid, "first"))
        .await
        .unwrap();
    assert_eq!(fresh.next(&store).await.unwrap().len(), 1);
    store.close().await;
}
