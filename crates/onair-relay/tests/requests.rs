//! Property tests of the relay's requests as a client sends them (`subscribe`, `resume`): whatever JSON
//! arrives (random, well-formed requests with fields of the wrong type, unknown platforms or kinds, any
//! position), reading it never panics, a refusal says what is wrong, a position read is never negative, and
//! a request read back from its own JSON is the same request.
#![allow(clippy::unwrap_used)]

use onair_core::{EventKind, Platform, sample};
use onair_relay::protocol::{ResumeRequest, SubscribeRequest};
use proptest::prelude::*;
use serde_json::{Value, json};

#[path = "../../../tests/support/damage.rs"]
mod damage;

/// Platform and kind names, real ones and others.
fn platform() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec!["kick", "twitch", "discord"]).prop_map(Value::from),
        prop_oneof![Just("Kick"), Just("youtube"), Just("")].prop_map(Value::from),
        damage::any_json(),
    ]
}

fn kind() -> impl Strategy<Value = Value> {
    let names: Vec<String> = EventKind::ALL
        .iter()
        .map(|k| serde_json::to_value(k).unwrap().as_str().unwrap().to_owned())
        .collect();
    prop_oneof![
        3 => prop::sample::select(names).prop_map(Value::from),
        1 => prop_oneof![Just("Follow"), Just("follows"), Just("")].prop_map(Value::from),
        1 => damage::any_json(),
    ]
}

fn position() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        (0_i64..100).prop_map(Value::from),
        Just(Value::Null),
        damage::any_json(),
    ]
}

/// A subscribe request built field by field: lists of names (some not real), any position.
fn subscribe() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(prop::collection::vec(platform(), 0..3)),
        proptest::option::of(prop::collection::vec(kind(), 0..4)),
        proptest::option::of(prop::collection::vec(damage::any_json(), 0..3)),
        proptest::option::of(position()),
    )
        .prop_map(|(platforms, kinds, channels, after)| {
            let mut request = json!({});
            for (key, value) in [
                ("platforms", platforms.map(Value::Array)),
                ("kinds", kinds.map(Value::Array)),
                ("channels", channels.map(Value::Array)),
                ("after", after),
            ] {
                if let Some(value) = value {
                    request[key] = value;
                }
            }
            request
        })
}

/// Reads a subscribe request; checks what was read, or the refusal's words.
fn read_subscribe(value: &Value) -> Result<(), TestCaseError> {
    match serde_json::from_value::<SubscribeRequest>(value.clone()) {
        Ok(request) => {
            prop_assert!(request.after.is_none_or(|after| after >= 0), "{value}");
            if let Some(after) = value.get("after").and_then(Value::as_i64) {
                prop_assert_eq!(request.after, Some(after));
            }
            let again: SubscribeRequest =
                serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
            prop_assert_eq!(&again, &request);
            for platform in [Platform::Kick, Platform::Twitch, Platform::Discord] {
                for event in sample::every_kind(platform) {
                    let _ = request.filter.matches(&event);
                }
            }
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(!message.trim().is_empty(), "{value}");
            if value.get("after").and_then(Value::as_i64).is_some_and(|a| a < 0) {
                // Unless something else is wrong first, the position is named.
                let rest = json!({ "after": value["after"] });
                let alone = serde_json::from_value::<SubscribeRequest>(rest)
                    .unwrap_err()
                    .to_string();
                prop_assert!(alone.contains("never negative"), "{alone}");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(damage::CASES))]

    #[test]
    fn any_json_is_a_subscribe_request_or_a_refusal_in_words(value in damage::any_json()) {
        read_subscribe(&value)?;
    }

    #[test]
    fn subscribe_requests_field_by_field_are_read_or_refused(value in subscribe()) {
        read_subscribe(&value)?;
    }

    #[test]
    fn damaged_subscribe_requests_are_read_or_refused(
        value in damage::damaged(json!({ "platforms": ["kick", "twitch"], "kinds": ["follow", "raid"], "channels": ["nebulacast"], "after": 41 })),
    ) {
        read_subscribe(&value)?;
    }

    #[test]
    fn a_resume_position_is_read_when_it_is_one(after in position(), extra in proptest::option::of(damage::any_json())) {
        let mut value = json!({ "after": after });
        if let Some(extra) = extra {
            value["extra"] = extra;
        }
        match serde_json::from_value::<ResumeRequest>(value.clone()) {
            Ok(request) => {
                prop_assert!(request.after >= 0);
                prop_assert_eq!(Some(request.after), value["after"].as_i64());
            }
            Err(e) => {
                let message = e.to_string();
                match value["after"].as_i64() {
                    Some(after) => {
                        prop_assert!(after < 0, "{value}: {message}");
                        prop_assert!(message.contains("never negative") && message.contains(&after.to_string()), "{message}");
                    }
                    None => prop_assert!(!message.is_empty()),
                }
            }
        }
    }

    #[test]
    fn requests_from_text_never_panic(text in "\\PC*") {
        let _ = serde_json::from_str::<SubscribeRequest>(&text).map_err(|e| assert!(!e.to_string().is_empty()));
        let _ = serde_json::from_str::<ResumeRequest>(&text).map_err(|e| assert!(!e.to_string().is_empty()));
    }
}
