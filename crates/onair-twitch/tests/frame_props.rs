//! Property tests of the EventSub reader and router: whatever text arrives (random, the fixtures with bytes
//! changed or cut, their JSON with fields of the wrong type or missing, a notification's event replaced by
//! any JSON), reading and routing never panic; what is refused is an error that says what is wrong; and
//! every event routed can be recorded (its JSON form reads back as the same event).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use chrono::{DateTime, Utc};
use onair_core::{ChannelRef, Event, EventData};
use onair_twitch::{Frame, FrameError, parse, route};
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../../tests/support/damage.rs"]
mod damage;

fn channel() -> ChannelRef {
    ChannelRef::new("52731608", "nebulacast")
}

fn frames() -> Vec<String> {
    damage::fixtures(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/twitch"))
        .into_iter()
        .map(|(_, text)| text)
        .collect()
}

fn documents() -> Vec<Value> {
    frames()
        .iter()
        .map(|f| serde_json::from_str(f).unwrap())
        .collect()
}

/// The fixtures' notifications.
fn notifications() -> Vec<Value> {
    documents()
        .into_iter()
        .filter(|d| d["metadata"]["message_type"] == "notification")
        .collect()
}

/// Reads `text`; a refusal must say why; a notification is routed, and what it gives must be recordable.
fn read_and_route(text: &str) -> Result<(), TestCaseError> {
    let frame = match parse(text) {
        Ok(frame) => frame,
        Err(e) => {
            let message = e.to_string();
            match &e {
                FrameError::Json(_) => {
                    prop_assert!(message.starts_with("not an EventSub frame: "), "{message}")
                }
                FrameError::UnknownType(_) => {
                    prop_assert!(message.starts_with("unknown EventSub message type"), "{message}")
                }
                FrameError::Missing { .. } => prop_assert!(message.contains(" frame without "), "{message}"),
            }
            return Ok(());
        }
    };
    let Frame::Notification(notification) = frame else {
        return Ok(());
    };
    let received: DateTime<Utc> = "2026-11-21T18:21:15Z".parse().unwrap();
    match route(&channel(), &notification, received) {
        Ok(event) => {
            let line = event.to_json_line();
            let read = Event::from_json(&line);
            prop_assert!(read.is_ok(), "{line}: {:?}", read.err().map(|e| e.to_string()));
            prop_assert_eq!(
                read.unwrap(),
                Event {
                    raw: None,
                    ..event.clone()
                }
            );
            prop_assert_eq!(event.source_id.as_deref(), Some(notification.message_id.as_str()));
            if let EventData::Unknown(_) = event.data {
                prop_assert_eq!(
                    event.raw.map(|r| r.get().to_owned()),
                    Some(notification.event.get().to_owned())
                );
            }
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(
                message.starts_with(&format!(
                    "the {} event could not be read: ",
                    notification.subscription_type
                )),
                "{message}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(damage::CASES))]

    #[test]
    fn random_text_is_refused_in_words(text in prop_oneof!["\\PC*", damage::any_json().prop_map(|v| v.to_string())]) {
        read_and_route(&text)?;
    }

    #[test]
    fn fixtures_with_damaged_bytes_are_read_or_refused(text in damage::one_damaged_text(frames())) {
        read_and_route(&text)?;
    }

    #[test]
    fn fixtures_with_damaged_fields_are_read_or_refused(doc in damage::one_damaged(documents())) {
        read_and_route(&doc.to_string())?;
    }

    #[test]
    fn notifications_whose_event_is_any_json_route_or_say_why(
        mut doc in prop::sample::select(notifications()),
        event in damage::any_json(),
    ) {
        doc["payload"]["event"] = event;
        read_and_route(&doc.to_string())?;
    }

    #[test]
    fn notifications_whose_event_is_damaged_route_or_say_why(
        (mut doc, event) in prop::sample::select(notifications())
            .prop_flat_map(|doc| { let event = doc["payload"]["event"].clone(); (Just(doc), damage::damaged(event)) }),
    ) {
        doc["payload"]["event"] = event;
        read_and_route(&doc.to_string())?;
    }
}
