//! Kick's event map (onair-kick `EventMap::map`): a Pusher frame as Kick sends it (or, when the input is not
//! one, `EVENT NAME\nPAYLOAD`) maps without a panic, and every event it gives can be recorded: its JSON
//! line reads back as the same event.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use onair_core::{ChannelRef, Event};
use onair_kick::{EventMap, Mapped};

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let (name, data) = match onair_pusher::parse(&text, 1 << 20) {
        Ok(frame) => (frame.event, frame.data.text().unwrap_or("null").to_owned()),
        Err(_) => match text.split_once('\n') {
            Some((name, data)) => (name.to_owned(), data.to_owned()),
            None => return,
        },
    };
    let mut channel = ChannelRef::new("4781203", "novastreams");
    channel.chatroom_id = Some("4760932".into());
    let received: DateTime<Utc> = DateTime::from_timestamp(1_779_476_400, 0).unwrap_or_default();
    let mut map = EventMap::new();
    for feed in ["chatrooms.4760932.v2", "chatroom_4760932"] {
        if let Mapped::Events(events) = map.map(&channel, feed, &name, &data, received) {
            for event in events {
                let line = event.to_json_line();
                let read = Event::from_json(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
                assert_eq!(read, Event { raw: None, ..event });
            }
        }
    }
});
