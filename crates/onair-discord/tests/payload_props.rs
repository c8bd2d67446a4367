//! Property tests of the Gateway's readers: whatever a payload's text is (random, the fixtures with bytes
//! changed or cut, their JSON with fields of the wrong type or missing, under any of the dispatch names OnAir
//! records), reading it, its Hello, Ready and Invalid Session data and routing it to an event never panic;
//! a refusal says what is wrong; every event routed can be recorded. The zlib-stream inflater gives back
//! every message a Discord-like compressor sends however the frames are cut, and never panics on frames
//! that are random, damaged or cut short: it answers with the message, nothing yet, or an error that says
//! the stream is broken.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use chrono::{DateTime, Utc};
use flate2::{Compress, Compression, FlushCompress};
use onair_core::{ChannelRef, Event};
use onair_discord::Watched;
use onair_discord::events::route;
use onair_discord::frame::{FrameError, Payload, Sequence};
use onair_discord::inflate::{InflateError, ZlibStream};
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../../tests/support/damage.rs"]
mod damage;

const GUILD: &str = "1085131932938797063";
const ROOM: &str = "1085131964526100482";

fn fixtures() -> Vec<String> {
    damage::fixtures(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/discord"))
        .into_iter()
        .map(|(_, text)| text)
        .collect()
}

/// The fixtures' payloads, and the member and message dispatches under each name OnAir records.
fn documents() -> Vec<Value> {
    let mut docs: Vec<Value> = fixtures()
        .iter()
        .map(|f| serde_json::from_str(f).unwrap())
        .collect();
    let dispatches: Vec<Value> = docs.iter().filter(|d| d["op"] == 0).cloned().collect();
    for name in [
        "GUILD_MEMBER_ADD",
        "GUILD_MEMBER_REMOVE",
        "MESSAGE_CREATE",
        "GUILD_BAN_ADD",
        "GUILD_BAN_REMOVE",
    ] {
        for dispatch in &dispatches {
            let mut renamed = dispatch.clone();
            renamed["t"] = Value::from(name);
            docs.push(renamed);
        }
    }
    docs
}

fn watched() -> Watched {
    let mut watched = Watched::default();
    watched.add(ChannelRef::new(GUILD, "Mika's corner"), [ROOM.to_owned()]);
    watched
}

/// Reads `text` as a payload and everything OnAir reads from one; refusals must say why, events must be
/// recordable.
fn read_payload(text: &str) -> Result<(), TestCaseError> {
    let payload = match Payload::parse(text) {
        Ok(payload) => payload,
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.starts_with("not a Gateway payload ("), "{message}");
            return Ok(());
        }
    };
    let _ = payload.opcode();
    let mut sequence = Sequence::default();
    sequence.track(&payload);
    for answer in [
        payload.hello().map(|_| ()),
        payload.ready().map(|_| ()),
        payload.resumable().map(|_| ()),
    ] {
        if let Err(e) = answer {
            data_error(&e)?;
        }
    }
    let received: DateTime<Utc> = "2026-11-21T18:21:15Z".parse().unwrap();
    match route(&watched(), &payload, "session-1", received) {
        Ok(Some(event)) => {
            let line = event.to_json_line();
            let read = Event::from_json(&line);
            prop_assert!(read.is_ok(), "{line}: {:?}", read.err().map(|e| e.to_string()));
            prop_assert_eq!(
                read.unwrap(),
                Event {
                    raw: None,
                    ..event.clone()
                }
            );
            prop_assert_eq!(
                event.source_id,
                Some(format!("session-1:{}", payload.sequence().unwrap()))
            );
        }
        Ok(None) => {}
        Err(e) => data_error(&e)?,
    }
    Ok(())
}

fn data_error(e: &FrameError) -> Result<(), TestCaseError> {
    let message = e.to_string();
    prop_assert!(matches!(e, FrameError::Data { .. }), "{message}");
    prop_assert!(
        message.contains("payload's data is not as documented ("),
        "{message}"
    );
    Ok(())
}

/// A Discord-like sender: one zlib stream for the connection, each message ended by a sync flush.
struct Sender(Compress);

impl Sender {
    fn message(&mut self, text: &str) -> Vec<u8> {
        let input = text.as_bytes();
        let mut out = Vec::with_capacity(input.len() + 64);
        let mut read = 0;
        loop {
            let before = self.0.total_in();
            self.0
                .compress_vec(&input[read..], &mut out, FlushCompress::Sync)
                .unwrap();
            read += (self.0.total_in() - before) as usize;
            if read == input.len() && out.len() < out.capacity() {
                return out;
            }
            out.reserve(1024);
        }
    }
}

/// The compressed stream of `messages`, one `Vec` per message.
fn compressed(messages: &[String], level: u32) -> Vec<Vec<u8>> {
    let mut sender = Sender(Compress::new(Compression::new(level), true));
    messages.iter().map(|m| sender.message(m)).collect()
}

/// Cuts `bytes` at `cuts` (positions, any order), into frames.
fn frames_of(bytes: &[u8], cuts: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
}

/// What the inflater says to a frame, checked: an error must say the stream is broken or not text.
fn pushed(stream: &mut ZlibStream, frame: &[u8]) -> Result<Option<String>, TestCaseError> {
    match stream.push(frame) {
        Ok(message) => Ok(message),
        Err(e) => {
            let message = e.to_string();
            match e {
                InflateError::Corrupt(_) => prop_assert!(
                    message.starts_with("the Gateway's compressed stream could not be read (")
                        && message.ends_with("); reconnecting"),
                    "{message}"
                ),
                InflateError::NotText => prop_assert!(message.contains("not UTF-8 text"), "{message}"),
                InflateError::TooLarge { .. } => prop_assert!(message.contains("larger than"), "{message}"),
            }
            Ok(None)
        }
    }
}

fn messages() -> impl Strategy<Value = Vec<String>> {
    let fixture = prop::sample::select(fixtures());
    prop::collection::vec(prop_oneof![fixture, "\\PC{0,200}"], 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(damage::CASES))]

    #[test]
    fn random_text_is_refused_in_words(text in prop_oneof!["\\PC*", damage::any_json().prop_map(|v| v.to_string())]) {
        read_payload(&text)?;
    }

    #[test]
    fn fixtures_with_damaged_bytes_are_read_or_refused(text in damage::one_damaged_text(fixtures())) {
        read_payload(&text)?;
    }

    #[test]
    fn payloads_with_damaged_fields_are_read_or_refused(doc in damage::one_damaged(documents())) {
        read_payload(&doc.to_string())?;
    }

    #[test]
    fn every_message_comes_back_however_the_frames_are_cut(
        messages in messages(),
        level in 0_u32..=9,
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let bytes: Vec<u8> = compressed(&messages, level).concat();
        let mut stream = ZlibStream::new();
        let mut got = Vec::new();
        for frame in frames_of(&bytes, &cuts) {
            // A frame that ends where a message does not is held back; one that ends with the suffix
            // inside a message (the suffix bytes can occur in compressed data) may fail: then the stream is
            // broken, as Discord's own clients would find it, and must say so.
            match stream.push(&frame) {
                Ok(Some(message)) => got.push(message),
                Ok(None) => {}
                Err(_) => return Ok(()),
            }
        }
        prop_assert_eq!(got.concat(), messages.concat());
    }

    #[test]
    fn damaged_or_cut_streams_never_panic(
        messages in messages(),
        damages in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        suffix in any::<bool>(),
    ) {
        let mut bytes: Vec<u8> = compressed(&messages, 6).concat();
        for (at, byte) in damages {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        if suffix {
            bytes.extend_from_slice(&[0, 0, 0xff, 0xff]);
        }
        let mut stream = ZlibStream::new();
        for frame in frames_of(&bytes, &cuts) {
            pushed(&mut stream, &frame)?;
        }
    }

    #[test]
    fn random_frames_never_panic(
        frames in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64),
                prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut f| { f.extend_from_slice(&[0, 0, 0xff, 0xff]); f }),
                Just(vec![0x78, 0x9c]),
                Just(vec![0, 0, 0xff, 0xff]),
            ],
            1..8,
        ),
    ) {
        let mut stream = ZlibStream::new();
        for frame in frames {
            pushed(&mut stream, &frame)?;
        }
    }
}
