//! The simulator through OnAir's real Kick client (`KickPlatform`'s real-time face): the stream goes live,
//! then plays every kind a Kick stream has, each frame decodes (nothing is `unknown`), a gift is one
//! event though it arrives twice, and stopping takes the stream offline.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use onair_core::{ConnectionState, EventKind, Realtime};
use onair_kick::simulator::{Simulator, SimulatorOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_stream_is_live_varied_decodable_and_ends_offline() {
    let simulator = Simulator::start(SimulatorOptions {
        events_per_second: 400.0,
        seed: 7,
    })
    .await
    .unwrap();
    let kick = simulator.platform().unwrap();
    let (sink, mut events) = tokio::sync::mpsc::channel(4096);
    let live = kick.connect(&[Simulator::channel()], sink).await.unwrap();
    let mut state = live.state();
    tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| matches!(s, ConnectionState::Connected { .. })),
    )
    .await
    .unwrap()
    .unwrap();

    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while received.len() < 1500 {
            received.push(events.recv().await.unwrap());
        }
    })
    .await
    .expect("1500 events within 30 s at 400/s");
    simulator.end_stream().await;
    // The stream going offline comes last.
    let last = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = events.recv().await.unwrap();
            if event.kind() == EventKind::StreamOffline {
                return event;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(last.channel, Simulator::channel());
    assert!(
        matches!(*live.state().borrow(), ConnectionState::Connected { .. }),
        "ending the stream keeps the connection"
    );
    live.shutdown().await;
    simulator.stop().await;

    assert_eq!(
        received[0].kind(),
        EventKind::StreamOnline,
        "the stream goes live first"
    );
    let mut per_kind: BTreeMap<EventKind, usize> = BTreeMap::new();
    for event in &received {
        *per_kind.entry(event.kind()).or_default() += 1;
        assert_eq!(event.channel, Simulator::channel());
    }
    assert!(
        !per_kind.contains_key(&EventKind::Unknown),
        "every frame decodes: {per_kind:?}"
    );
    for kind in [
        EventKind::ChatMessage,
        EventKind::Follow,
        EventKind::FollowerCount,
        EventKind::Subscription,
        EventKind::SubscriptionGift,
        EventKind::Cheer,
        EventKind::Timeout,
        EventKind::Ban,
        EventKind::Unban,
        EventKind::MessageDeleted,
        EventKind::Raid,
    ] {
        assert!(per_kind.contains_key(&kind), "{kind:?} missing: {per_kind:?}");
    }
    let chat = per_kind[&EventKind::ChatMessage];
    assert!(
        chat * 2 > received.len(),
        "mostly chat, as a stream is: {per_kind:?}"
    );
    let replies = received
        .iter()
        .filter(|e| matches!(&e.data, onair_core::EventData::ChatMessage(m) if m.reply_to.is_some()))
        .count();
    let with_emotes = received
        .iter()
        .filter(|e| matches!(&e.data, onair_core::EventData::ChatMessage(m) if !m.emotes.is_empty()))
        .count();
    assert!(
        replies > 0 && with_emotes > 0,
        "replies {replies}, emotes {with_emotes}"
    );

    // A gift arrives on two feeds; both halves carry one source id, so the store keeps one event per gift.
    let mut halves: BTreeMap<String, Vec<&onair_core::Event>> = BTreeMap::new();
    for gift in received
        .iter()
        .filter(|e| e.kind() == EventKind::SubscriptionGift)
    {
        halves
            .entry(gift.source_id.clone().unwrap())
            .or_default()
            .push(gift);
    }
    let paired = halves.values().filter(|h| h.len() == 2).count();
    assert!(
        paired * 10 >= halves.len() * 9,
        "gifts come in pairs: {paired} of {}",
        halves.len()
    );
    for pair in halves.values() {
        assert!(pair.len() <= 2, "one gift, at most two halves");
        assert!(
            pair.iter().all(|half| half.actor == pair[0].actor),
            "the halves are the same gift"
        );
    }
}
