//! The Gateway's wire format against `fixtures/discord/` (from the shared protocol samples) and its `expected.json`: every payload
//! read in order with the sequence bookkeeping it implies (only dispatches move it), Hello's interval,
//! Ready's session, Invalid Session's flag, the commands sent next, the shard of a guild, each close code's
//! class, and the zlib-stream transport (one message per frame, a message split across frames, several
//! messages through one compressor, which a fresh inflater cannot read past the first).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use flate2::{Compress, Compression, FlushCompress};
use onair_discord::close::{AfterClose, after_close};
use onair_discord::frame::{self, Opcode, Payload, Sequence};
use onair_discord::inflate::ZlibStream;
use onair_discord::shard_for;
use secrecy::SecretString;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/discord")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn expected() -> Value {
    serde_json::from_str(&fixture("expected.json")).unwrap()
}

#[test]
fn the_payloads_in_order_with_their_sequence() {
    let expected = expected();
    let files = &expected["files"];
    let mut sequence = Sequence::default();
    let mut names: Vec<&String> = files.as_object().unwrap().keys().collect();
    names.sort();
    for name in names.into_iter().filter(|n| !n.starts_with("11_")) {
        let want = &files[name];
        let payload = Payload::parse(&fixture(name)).unwrap();
        assert_eq!(
            payload.opcode(),
            Opcode::from(want["op"].as_u64().unwrap() as u8),
            "{name}"
        );
        sequence.track(&payload);
        if let Some(s) = want["s"].as_u64() {
            assert_eq!(payload.sequence(), Some(s), "{name}");
        }
        assert_eq!(payload.event_name(), want["t"].as_str(), "{name}");
        let extract = &want["extract"];
        match payload.opcode() {
            Opcode::Hello => assert_eq!(
                payload.hello().unwrap().heartbeat_interval,
                extract["heartbeat_interval_ms"].as_u64().unwrap()
            ),
            Opcode::InvalidSession => assert_eq!(
                payload.resumable().unwrap(),
                extract["resumable"].as_bool().unwrap(),
                "{name}"
            ),
            Opcode::Dispatch if payload.event_name() == Some("READY") => {
                let ready = payload.ready().unwrap();
                assert_eq!(ready.session_id, extract["session_id"].as_str().unwrap());
                assert_eq!(
                    ready.resume_gateway_url,
                    extract["resume_gateway_url"].as_str().unwrap()
                );
                assert_eq!(ready.user.id, extract["bot_user_id"].as_str().unwrap());
                let guilds: Vec<&str> = ready.guilds.iter().map(|g| g.id.as_str()).collect();
                assert_eq!(serde_json::json!(guilds), extract["guild_ids"]);
                assert_eq!(serde_json::json!(ready.shard), extract["shard"]);
                assert_eq!(u64::from(ready.version), extract["api_version"].as_u64().unwrap());
            }
            _ => {}
        }
        // The resume sent after Reconnect carries the last sequence so far.
        if let Some(next) = want.get("client_sends_next").filter(|n| n["op"] == 6) {
            let token = SecretString::from("bot-token");
            let sent: Value = serde_json::from_str(&frame::resume(
                &token,
                next["d"]["session_id"].as_str().unwrap(),
                sequence,
            ))
            .unwrap();
            assert_eq!(sent["d"]["seq"], next["d"]["seq"], "{name}");
            assert_eq!(sent["d"]["session_id"], next["d"]["session_id"]);
        }
    }
    // Non-dispatch payloads (ACK, Reconnect, Invalid Session, Heartbeat request) left it at RESUMED's.
    assert_eq!(sequence.last(), Some(4));
    let beat: Value = serde_json::from_str(&frame::heartbeat(sequence)).unwrap();
    assert_eq!(beat, serde_json::json!({ "op": 1, "d": 4 }));
    assert_eq!(
        serde_json::from_str::<Value>(&frame::heartbeat(Sequence::default())).unwrap()["d"],
        Value::Null,
        "null before any dispatch"
    );
}

#[test]
fn identify_asks_for_the_shard_and_the_intents() {
    let expected = expected();
    let want = &expected["files"]["01_hello.json"]["client_sends_next"]["d"];
    let token = SecretString::from("bot-token");
    let sent: Value = serde_json::from_str(&frame::identify(&token, frame::INTENTS, 0, 1)).unwrap();
    assert_eq!(sent["op"], 2);
    assert_eq!(sent["d"]["token"], "bot-token");
    assert_eq!(sent["d"]["shard"], want["shard"]);
    assert_eq!(sent["d"]["properties"]["browser"], "onair");
    // The fixture's intents, plus guild moderation for bans.
    let intents = sent["d"]["intents"].as_u64().unwrap();
    assert_eq!(
        intents & want["intents"].as_u64().unwrap(),
        want["intents"].as_u64().unwrap()
    );
    assert_eq!(intents & (1 << 2), 1 << 2);
}

#[test]
fn a_payload_that_is_not_one_is_an_error_not_a_panic() {
    for text in ["", "{", "[]", r#"{"d": 1}"#, "null"] {
        assert!(Payload::parse(text).is_err(), "{text:?}");
    }
    let hello_without_interval = Payload::parse(r#"{"op": 10, "d": {}}"#).unwrap();
    let error = hello_without_interval.hello().unwrap_err().to_string();
    assert!(error.contains("Hello"), "{error}");
    // Absent or null d/s/t are fine (the heartbeat ACK's minimal form).
    let ack = Payload::parse(&fixture("05_heartbeat_ack.json")).unwrap();
    assert_eq!(
        (ack.opcode(), ack.sequence(), ack.event_name()),
        (Opcode::HeartbeatAck, None, None)
    );
}

#[test]
fn a_guild_s_shard() {
    let expected = expected();
    let guild = expected["guild_id"].as_str().unwrap();
    for (shards, want) in expected["shard_for_guild"].as_object().unwrap() {
        assert_eq!(
            shard_for(guild, shards.parse().unwrap()),
            Some(want.as_u64().unwrap() as u32),
            "{shards} shards"
        );
    }
    assert_eq!(shard_for(guild, 0), None);
    assert_eq!(shard_for("not-a-snowflake", 2), None);
}

#[test]
fn each_close_code_s_class() {
    let expected = expected();
    let codes = |key: &str| -> Vec<u16> {
        expected["close_codes"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap() as u16)
            .collect()
    };
    for code in codes("resume_attempt_ok") {
        assert_eq!(after_close(Some(code)), AfterClose::Resume, "{code}");
    }
    for code in codes("must_start_new_session") {
        assert_eq!(after_close(Some(code)), AfterClose::Reidentify, "{code}");
    }
    for code in codes("fatal_do_not_reconnect") {
        assert!(
            matches!(after_close(Some(code)), AfterClose::Fatal { .. }),
            "{code}"
        );
    }
    assert_eq!(
        after_close(None),
        AfterClose::Resume,
        "no close frame: try to resume"
    );
    let AfterClose::Fatal { reason } = after_close(Some(4014)) else {
        unreachable!()
    };
    assert!(reason.contains("Server Members intent"), "{reason}");
}

/// One compressor for a whole connection, as Discord keeps it: each message ends with a sync flush.
struct Sender(Compress);

impl Sender {
    fn new() -> Sender {
        Sender(Compress::new(Compression::default(), true))
    }

    fn message(&mut self, json: &str) -> Vec<u8> {
        let input = json.as_bytes();
        let mut out = Vec::with_capacity(input.len() + 64);
        let mut read = 0;
        loop {
            let before = self.0.total_in();
            self.0
                .compress_vec(&input[read..], &mut out, FlushCompress::Sync)
                .unwrap();
            read += (self.0.total_in() - before) as usize;
            if read == input.len() && out.len() < out.capacity() {
                break;
            }
            out.reserve(1024);
        }
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out
    }
}

#[test]
fn zlib_stream_messages_whole_split_and_through_one_compressor() {
    let ready = fixture("02_ready.json");
    let member = fixture("03_guild_member_add.json");
    let message = fixture("04_message_create.json");
    let mut sender = Sender::new();
    let mut stream = ZlibStream::new();

    // One message per frame.
    let first = sender.message(&ready);
    assert_eq!(stream.push(&first).unwrap().as_deref(), Some(ready.as_str()));

    // One message split across three frames: only the last completes it.
    let second = sender.message(&member);
    let (a, rest) = second.split_at(second.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    assert_eq!(stream.push(a).unwrap(), None);
    assert_eq!(stream.push(b).unwrap(), None);
    assert_eq!(stream.push(c).unwrap().as_deref(), Some(member.as_str()));

    // A later message of the same stream: the connection's inflater reads it, a fresh one cannot.
    let third = sender.message(&message);
    assert!(
        ZlibStream::new().push(&third).is_err(),
        "a fresh inflater cannot read a later message of the stream"
    );
    assert_eq!(stream.push(&third).unwrap().as_deref(), Some(message.as_str()));

    // A new connection: a new compressor and a new inflater.
    let mut sender = Sender::new();
    let mut stream = ZlibStream::new();
    let hello = fixture("01_hello.json");
    assert_eq!(
        stream.push(&sender.message(&hello)).unwrap().as_deref(),
        Some(hello.as_str())
    );
}

#[test]
fn a_message_that_inflates_far_beyond_its_frame() {
    // A large, very repetitive message (a guild's member chunk looks like this): its frame is tiny.
    let big = format!(r#"{{"op":0,"s":9,"t":"X","d":"{}"}}"#, "🎮 gg ".repeat(50_000));
    let mut sender = Sender::new();
    let frame = sender.message(&big);
    assert!(
        frame.len() * 50 < big.len(),
        "the test needs a high ratio: {} -> {}",
        big.len(),
        frame.len()
    );
    assert_eq!(
        ZlibStream::new().push(&frame).unwrap().as_deref(),
        Some(big.as_str())
    );
}
