//! Property tests of the frame parser: no input panics it (random text, the Kick fixtures with bytes
//! changed or cut, the fixtures' JSON with fields of the wrong type or missing), what it refuses is an error
//! that says what is wrong, and any envelope a server can send reads back as sent, `data` unwrapped exactly
//! once.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use onair_pusher::{Data, FrameError, parse};
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../../tests/support/damage.rs"]
mod damage;

/// The Kick fixtures that are Pusher frames (the REST responses left out).
fn frames() -> Vec<String> {
    damage::fixtures(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/kick"))
        .into_iter()
        .filter(|(name, _)| !name.starts_with("rest_"))
        .map(|(_, text)| text)
        .collect()
}

/// A frame read, or refused with a sentence naming why; its payload decodes or fails without a panic.
fn read_or_refused(text: &str) -> Result<(), TestCaseError> {
    match parse(text, 1 << 20) {
        Ok(frame) => {
            let _ = frame.data.text();
            let _ = frame.data.decode::<Value>();
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(
                message.starts_with("not a Pusher frame: ") && message.len() > "not a Pusher frame: ".len(),
                "{message}"
            );
            prop_assert!(matches!(e, FrameError::Malformed(_)));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(damage::CASES))]

    #[test]
    fn fixtures_with_damaged_bytes_are_read_or_refused_in_words(
        text in damage::one_damaged_text(frames()),
    ) {
        read_or_refused(&text)?;
    }

    #[test]
    fn fixtures_with_damaged_fields_are_read_or_refused_in_words(
        frame in damage::one_damaged(frames().iter().map(|f| serde_json::from_str(f).unwrap()).collect()),
    ) {
        read_or_refused(&frame.to_string())?;
    }

    #[test]
    fn random_bytes_are_refused_in_words(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        read_or_refused(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_unread(text in "\\PC{1,64}", limit in 0_usize..8) {
        prop_assume!(text.len() > limit);
        let error = parse(&text, limit).unwrap_err();
        prop_assert!(matches!(error, FrameError::TooLarge { .. }), "{error}");
        prop_assert!(error.to_string().contains(&format!("{limit}-byte limit")), "{error}");
    }
}

proptest! {
    #[test]
    fn no_text_panics_the_parser(text in any::<String>()) {
        let _ = parse(&text, 1 << 20);
    }

    #[test]
    fn no_json_shaped_text_panics_the_parser(
        event in prop_oneof![Just("\"e\"".to_owned()), any::<i64>().prop_map(|n| n.to_string()), any::<String>()],
        data in prop_oneof![Just("null".to_owned()), Just("{}".to_owned()), Just("[1,".to_owned()), any::<String>()],
    ) {
        let text = format!(r#"{{"event":{event},"channel":"c","data":{data}}}"#);
        let _ = parse(&text, 1 << 20);
    }

    #[test]
    fn envelopes_read_back_as_sent(
        event in "[a-zA-Z:_\\\\-]{1,40}",
        channel in proptest::option::of("[a-zA-Z0-9_.=@,;-]{1,40}"),
        payload in any::<String>(),
    ) {
        let mut envelope = serde_json::json!({ "event": event, "data": payload });
        if let Some(channel) = &channel {
            envelope["channel"] = serde_json::json!(channel);
        }
        let frame = parse(&envelope.to_string(), usize::MAX).unwrap();
        prop_assert_eq!(frame.event, event);
        prop_assert_eq!(frame.channel, channel);
        prop_assert_eq!(frame.data, Data::String(payload));
    }
}
