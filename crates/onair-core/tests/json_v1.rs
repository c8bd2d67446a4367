//! Properties of the JSON form v1: any event, with any text in it (any Unicode, quotes, control
//! characters, emoji) and any time down to the nanosecond, reads back as the same event; and no input
//! at all makes the reader panic: it answers with an error.

#![cfg(feature = "samples")]
#![allow(clippy::unwrap_used)] // A failed unwrap is how a test reports.

use chrono::DateTime;
use onair_core::{Actor, Event, EventData, Platform, sample};
use proptest::prelude::*;

/// Replaces every string inside the event's data with `text` (keeping the structure of its kind).
fn with_text(event: &Event, text: &str) -> Event {
    let mut data = serde_json::to_value(&event.data).unwrap();
    fn walk(value: &mut serde_json::Value, text: &str) {
        match value {
            serde_json::Value::String(s) => *s = text.to_owned(),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, text)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| walk(v, text)),
            _ => {}
        }
    }
    walk(&mut data, text);
    // `currency` and other closed sets must keep a valid value.
    let data = EventData::from_value(event.kind(), data).unwrap_or_else(|_| event.data.clone());
    Event {
        data,
        ..event.clone()
    }
}

proptest! {
    #[test]
    fn any_event_round_trips(
        kind in 0..onair_core::EventKind::ALL.len(),
        text in "\\PC*|[\"\\\\\u{0}-\u{1f}]*",
        login in "\\PC{1,30}",
        nanos in -2_000_000_000_000_000_000_i64..4_000_000_000_000_000_000_i64,
        offset in proptest::option::of(0_i64..i64::MAX),
        source_id in proptest::option::of("\\PC{0,64}"),
    ) {
        let platform = [Platform::Kick, Platform::Twitch, Platform::Discord][kind % 3];
        let mut event = with_text(&sample::every_kind(platform)[kind], &text);
        event.actor = Some(Actor { id: login.clone(), login: login.clone(), display_name: text.clone() });
        event.occurred_at = DateTime::from_timestamp_nanos(nanos);
        event.offset = offset.map(onair_core::Offset);
        event.source_id = source_id;
        event.raw = None;
        let line = event.to_json_line();
        prop_assert!(!line.contains('\n'), "one line per event");
        prop_assert_eq!(Event::from_json(&line).unwrap(), event);
    }

    #[test]
    fn no_input_makes_the_reader_panic(input in "\\PC*|\\{.*\\}") {
        let _ = Event::from_json(&input);
    }

    #[test]
    fn a_damaged_event_is_an_error_not_a_panic(cut in 0_usize..600, kind in 0..onair_core::EventKind::ALL.len()) {
        let line = sample::every_kind(Platform::Kick)[kind].to_json_line();
        let cut = line.char_indices().map(|(i, _)| i).take_while(|&i| i <= cut).last().unwrap_or(0);
        prop_assert!(Event::from_json(&line[..cut]).is_err());
    }
}
