//! A line of a JSONL import (onair-core `Event::from_json`, as onair's import reads each line): an event or
//! an error with words; an event read writes a line that reads back as the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onair_core::Event;

fuzz_target!(|bytes: &[u8]| {
    let Ok(line) = std::str::from_utf8(bytes) else {
        return;
    };
    match Event::from_json(line) {
        Ok(event) => {
            let again = event.to_json_line();
            let read = Event::from_json(&again).unwrap_or_else(|e| panic!("{again}: {e}"));
            assert_eq!(read, event);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
