//! Twitch EventSub frames (onair-twitch `parse` and `route`): any text is a frame or an error with words; a
//! notification routes to an event that can be recorded, or to an error naming its subscription type.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use onair_core::{ChannelRef, Event};
use onair_twitch::{Frame, parse, route};

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let frame = match parse(&text) {
        Ok(frame) => frame,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let Frame::Notification(notification) = frame else {
        return;
    };
    let received: DateTime<Utc> = DateTime::from_timestamp(1_795_803_675, 0).unwrap_or_default();
    match route(
        &ChannelRef::new("52731608", "nebulacast"),
        &notification,
        received,
    ) {
        Ok(event) => {
            let line = event.to_json_line();
            let read = Event::from_json(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(read, Event { raw: None, ..event });
        }
        Err(e) => assert!(e.to_string().contains(&notification.subscription_type)),
    }
});
