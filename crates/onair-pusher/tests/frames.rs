//! Property tests of the frame parser: no input panics it, and any envelope a server can send reads back
//! as sent, `data` unwrapped exactly once.
#![allow(clippy::unwrap_used)]

use onair_pusher::{Data, parse};
use proptest::prelude::*;

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
