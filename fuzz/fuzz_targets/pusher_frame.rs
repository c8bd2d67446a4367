//! Pusher frames (onair-pusher `parse`): any text is a frame or a `FrameError` with words; a frame's
//! payload decodes or fails without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    match onair_pusher::parse(&text, 1 << 20) {
        Ok(frame) => {
            let _ = frame.data.decode::<serde_json::Value>();
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
