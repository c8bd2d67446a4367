//! Cross-crate end-to-end tests of OnAir live in `tests/tests/*.rs`, named by theme; the programs they drive
//! (a writer to kill mid-stream, later fake platform servers) live in `src/bin/`.

use flate2::{Decompress, FlushDecompress};
use onair_faultproxy::WsFrame;
use serde_json::Value;

/// The end of every zlib-stream message Discord sends (a sync flush).
const SYNC_FLUSH: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The Gateway payloads in the frames a fault proxy's tap saw on one connection, inflated with one zlib
/// context for the connection, as Discord's zlib-stream transport works; a message cut short is not one,
/// and a stream that cannot be inflated (or a payload that is not JSON) ends the reading there. Written
/// with flate2 directly, apart from the client's inflater, so the tests that count deliveries with it do
/// not share a bug with the code they check.
pub fn gateway_payloads(frames: &[WsFrame]) -> Vec<Value> {
    let mut inflater = Decompress::new(true);
    let mut buffer = Vec::new();
    let mut out = Vec::new();
    for frame in frames.iter().filter(|f| f.opcode == 2 || f.opcode == 0) {
        buffer.extend_from_slice(&frame.payload);
        if !buffer.ends_with(&SYNC_FLUSH) {
            continue;
        }
        let mut text = Vec::with_capacity(buffer.len() * 8 + 1024);
        let mut input = &buffer[..];
        loop {
            let before = inflater.total_in();
            if inflater
                .decompress_vec(input, &mut text, FlushDecompress::Sync)
                .is_err()
            {
                return out;
            }
            let consumed = usize::try_from(inflater.total_in() - before).unwrap_or(input.len());
            input = &input[consumed..];
            if input.is_empty() && text.len() < text.capacity() {
                break;
            }
            text.reserve(text.capacity().max(1024));
        }
        buffer.clear();
        match serde_json::from_slice(&text) {
            Ok(payload) => out.push(payload),
            Err(_) => return out,
        }
    }
    out
}
