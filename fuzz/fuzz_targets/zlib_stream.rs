//! Discord's zlib-stream (onair-discord `ZlibStream`): any bytes, cut into frames, are pushed through one
//! inflater without a panic; each frame gives a message, nothing yet, or an error with words. The first
//! byte picks where frames are cut: after each `00 00 ff ff` suffix (as Discord ends messages), and every
//! N bytes besides (N from 1 to 255; 0: nowhere else).
#![no_main]

use libfuzzer_sys::fuzz_target;
use onair_discord::inflate::ZlibStream;

const SUFFIX: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

fuzz_target!(|bytes: &[u8]| {
    let Some((&every, stream)) = bytes.split_first() else {
        return;
    };
    // A small bound, so a message that inflates far is an error quickly instead of a slow input.
    let mut inflater = ZlibStream::with_limit(1 << 20);
    let mut start = 0;
    for end in 1..=stream.len() {
        let ends_message = stream[..end].ends_with(&SUFFIX);
        let cut = every != 0 && (end - start) >= usize::from(every);
        if ends_message || cut || end == stream.len() {
            if let Err(e) = inflater.push(&stream[start..end]) {
                assert!(!e.to_string().is_empty());
            }
            start = end;
        }
    }
});
