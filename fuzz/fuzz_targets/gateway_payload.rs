//! Discord Gateway payloads (onair-discord `Payload` and `events::route`): any text is a payload or an error
//! with words; its Hello, Ready and Invalid Session data read or fail without a panic; a dispatch routes to
//! an event that can be recorded (the fixtures' guild and channel are watched), to nothing, or to an error.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use onair_core::{ChannelRef, Event};
use onair_discord::Watched;
use onair_discord::events::route;
use onair_discord::frame::{Payload, Sequence};

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let payload = match Payload::parse(&text) {
        Ok(payload) => payload,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let _ = payload.opcode();
    Sequence::default().track(&payload);
    let _ = payload.hello();
    let _ = payload.ready();
    let _ = payload.resumable();
    let mut watched = Watched::default();
    watched.add(
        ChannelRef::new("1085131932938797063", "Mika's corner"),
        ["1085131964526100482".to_owned()],
    );
    let received: DateTime<Utc> = DateTime::from_timestamp(1_795_803_675, 0).unwrap_or_default();
    match route(&watched, &payload, "session", received) {
        Ok(Some(event)) => {
            let line = event.to_json_line();
            let read = Event::from_json(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(read, Event { raw: None, ..event });
        }
        Ok(None) => {}
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
