//! Property tests of the event map: whatever a Kick frame's event name and payload are (random text, the
//! fixtures' payloads with bytes changed or cut, their JSON with fields of the wrong type or missing), the
//! map never panics; every event it gives can be recorded (its JSON form reads back as the same event),
//! and a payload it cannot read is kept whole as an `unknown` event's raw JSON, never lost.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use chrono::{DateTime, Utc};
use onair_core::{ChannelRef, Event, EventData};
use onair_kick::{EVENT_PREFIX, EventMap, Mapped};
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../../tests/support/damage.rs"]
mod damage;

fn channel() -> ChannelRef {
    let mut channel = ChannelRef::new("4781203", "novastreams");
    channel.chatroom_id = Some("4760932".into());
    channel
}

/// Every Kick event in the fixtures, as the wire gives it: `(event name, payload text)`.
fn payloads() -> Vec<(String, String)> {
    damage::fixtures(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/kick"))
        .into_iter()
        .filter(|(name, _)| !name.starts_with("rest_"))
        .filter_map(|(_, text)| {
            let frame = onair_pusher::parse(text.trim(), 1 << 20).ok()?;
            let data = frame.data.text()?.to_owned();
            Some((frame.event, data))
        })
        .filter(|(event, _)| !event.starts_with("pusher"))
        .collect()
}

/// The event names the map knows (from the fixtures), bare and prefixed, and a few it does not.
fn names() -> Vec<String> {
    let mut names: Vec<String> = payloads().into_iter().map(|(event, _)| event).collect();
    names.extend(
        [
            "ChatMessageEvent",
            "PollDeleteEvent",
            "ChatroomClearEvent",
            "PredictionUpdated",
            "ChatMessageSentEvent",
            "SomethingNew",
            "",
            EVENT_PREFIX,
        ]
        .map(String::from),
    );
    names.extend(names.clone().iter().map(|n| format!("{EVENT_PREFIX}{n}")));
    names
}

fn received() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        Just("2026-05-22T19:00:00Z".parse().unwrap()),
        (i64::MIN..i64::MAX).prop_map(DateTime::from_timestamp_nanos),
    ]
}

/// Maps one frame and checks what came out.
fn mapped_well(name: &str, data: &str, at: DateTime<Utc>) -> Result<(), TestCaseError> {
    let mut map = EventMap::new();
    let mapped = map.map(&channel(), "chatrooms.4760932.v2", name, data, at);
    let Mapped::Events(events) = mapped else {
        return Ok(());
    };
    for event in &events {
        let line = event.to_json_line();
        let read = Event::from_json(&line);
        prop_assert!(read.is_ok(), "{line}: {:?}", read.err().map(|e| e.to_string()));
        let expected = Event {
            raw: None,
            ..event.clone()
        };
        prop_assert_eq!(read.unwrap(), expected);
        prop_assert!(
            event.source_id.as_deref().is_some_and(|id| !id.is_empty()),
            "{line}"
        );
        if let EventData::Unknown(unknown) = &event.data {
            prop_assert_eq!(&unknown.name, name);
            // The payload is kept as it came: as JSON when it is JSON, else as a JSON string. JSON's
            // grammar allows an escaped lone surrogate (`\ud83d` alone), which serde_json's Value refuses
            // but a raw value keeps: the grammar is what counts here.
            let raw = event.raw.as_ref().map(|raw| raw.get().to_owned());
            let kept = match serde_json::from_str::<&serde_json::value::RawValue>(data) {
                Ok(_) => Some(data.to_owned()),
                Err(_) => Some(serde_json::to_string(data).unwrap()),
            };
            prop_assert_eq!(raw, kept);
        }
    }
    // A second map keeps no state that breaks on the same frame again.
    let _ = map.map(&channel(), "chatroom_4760932", name, data, at);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(damage::CASES))]

    #[test]
    fn any_payload_under_any_name_maps_without_a_panic(
        name in prop::sample::select(names()),
        data in prop_oneof!["\\PC*", damage::any_json().prop_map(|v| v.to_string())],
        at in received(),
    ) {
        mapped_well(&name, &data, at)?;
    }

    #[test]
    fn payloads_with_damaged_fields_map_without_a_panic(
        (name, data) in prop::sample::select(payloads()).prop_flat_map(|(name, data)| {
            let doc: Value = serde_json::from_str(&data).unwrap();
            (Just(name), damage::damaged(doc))
        }),
        at in received(),
    ) {
        mapped_well(&name, &data.to_string(), at)?;
    }

    #[test]
    fn payloads_with_damaged_bytes_map_without_a_panic(
        (name, data) in prop::sample::select(payloads()).prop_flat_map(|(name, data)| {
            (Just(name), damage::damaged_bytes(data.into_bytes()))
        }),
        at in received(),
    ) {
        mapped_well(&name, &String::from_utf8_lossy(&data), at)?;
    }

    #[test]
    fn a_payload_that_is_not_json_is_kept_as_an_unknown_event(
        name in prop::sample::select(vec!["ChatMessageEvent", "UserBannedEvent", "KicksGifted", "FollowersUpdated"]),
        data in "[^\\[{\"0-9tfn\\s-]\\PC*",
    ) {
        let mut map = EventMap::new();
        let Mapped::Events(events) = map.map(&channel(), "chatrooms.4760932.v2", name, &data, Utc::now()) else {
            panic!("ignored");
        };
        prop_assert_eq!(events.len(), 1);
        prop_assert!(matches!(&events[0].data, EventData::Unknown(_)), "{:?}", events[0]);
        mapped_well(name, &data, Utc::now())?;
    }
}
