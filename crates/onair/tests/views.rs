//! The connection cards' book-keeping: reconnects counted once per loss, the last error kept, the
//! overall state for the tray, and the last event.

use std::time::Duration;

use chrono::Utc;
use onair::views::{Connections, Overall};
use onair_core::{ConnectionId, ConnectionState, Platform};

fn reconnecting(attempt: u32) -> ConnectionState {
    ConnectionState::Reconnecting {
        attempt,
        next_in: Duration::from_secs(1),
    }
}

#[test]
fn a_card_counts_each_loss_once_and_keeps_the_last_error() {
    let mut cards = Connections::default();
    let id = ConnectionId::new(Platform::Kick, "nebulacast");
    let connected = ConnectionState::Connected { session: None };
    cards.update(&id, Some("kick:nebulacast"), &ConnectionState::Connecting);
    cards.update(&id, None, &connected);
    for attempt in 1..=3 {
        cards.update(&id, None, &reconnecting(attempt));
    }
    let failed = ConnectionState::Failed {
        reason: "Kick refused the connection".into(),
    };
    cards.update(&id, None, &failed);
    let view = cards.update(&id, None, &connected);
    assert_eq!(view.reconnects, 1, "one loss, three tries");
    assert_eq!(view.last_error.as_deref(), Some("Kick refused the connection"));
    assert_eq!(
        view.spec.as_deref(),
        Some("kick:nebulacast"),
        "the spec stays when an update gives none"
    );
    assert_eq!(view.id, "kick/nebulacast");
    let view = cards.update(&id, None, &ConnectionState::Connecting);
    assert_eq!(view.reconnects, 2, "asked to reconnect counts too");
}

#[test]
fn the_overall_state_is_the_worst_one() {
    let mut cards = Connections::default();
    assert_eq!(cards.overall(), Overall::Idle);
    let a = ConnectionId::new(Platform::Kick, "a");
    let b = ConnectionId::new(Platform::Kick, "b");
    cards.update(&a, None, &ConnectionState::Connected { session: None });
    assert_eq!(cards.overall(), Overall::Connected);
    cards.update(&b, None, &reconnecting(1));
    assert_eq!(cards.overall(), Overall::Reconnecting);
    cards.update(&b, None, &ConnectionState::Failed { reason: "x".into() });
    assert_eq!(cards.overall(), Overall::Failed);
    cards.remove("kick/b");
    assert_eq!(cards.overall(), Overall::Connected);
    cards.update(&a, None, &ConnectionState::Disconnected);
    assert_eq!(cards.overall(), Overall::Idle);
}

#[test]
fn a_card_shows_its_last_event_and_unknown_ids_are_ignored() {
    let mut cards = Connections::default();
    let id = ConnectionId::new(Platform::Kick, "a");
    cards.update(&id, None, &ConnectionState::Connecting);
    let at = Utc::now();
    let view = cards.saw_event("kick/a", at).expect("the card");
    assert_eq!(view.last_event_at, Some(at));
    assert!(cards.saw_event("kick/elsewhere", at).is_none());
}

#[test]
fn a_card_keyed_by_its_server_is_named_after_it_and_takes_the_new_spec() {
    let mut cards = Connections::default();
    let id = ConnectionId::new(Platform::Discord, "1085131932938797063");
    let view = cards.update(
        &id,
        Some("discord:1085131932938797063"),
        &ConnectionState::Connecting,
    );
    assert_eq!(view.id, "discord/1085131932938797063");
    assert_eq!(
        view.name, "1085131932938797063",
        "the id until the server is looked up"
    );
    let view = cards
        .rename(&view.id, "Hoshino Lounge shard 0/1")
        .expect("renamed");
    assert_eq!(view.name, "Hoshino Lounge shard 0/1");
    assert_eq!(view.id, "discord/1085131932938797063", "the key does not change");
    assert!(
        cards.rename(&view.id, "Hoshino Lounge shard 0/1").is_none(),
        "the same name again is no change"
    );
    assert!(cards.rename("discord/42", "elsewhere").is_none());
    let view = cards.update(
        &id,
        Some("discord:1085131932938797063/1085131964526100482"),
        &ConnectionState::Connected { session: None },
    );
    assert_eq!(
        view.spec.as_deref(),
        Some("discord:1085131932938797063/1085131964526100482"),
        "a watch restarted with other channels unwatches with its new spec"
    );
    assert_eq!(view.name, "Hoshino Lounge shard 0/1", "an update keeps the name");
    assert_eq!(cards.all().len(), 1);
}
