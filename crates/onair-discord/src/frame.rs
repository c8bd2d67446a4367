//! The Gateway's payloads: `{ op, d, s, t }` read without parsing `d` until it is needed (a dispatch OnAir
//! does not use is skipped cheaply), the opcodes, the Hello and Ready data a session keeps, the sequence
//! bookkeeping (only dispatches carry `s`), and the commands OnAir sends: Identify, Resume and Heartbeat.
//! The bot token goes into a command's JSON only, never into a `Debug` or an error.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The Gateway's opcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// 0: an event.
    Dispatch,
    /// 1: a heartbeat (the server asks for one at once).
    Heartbeat,
    /// 2: Identify (sent).
    Identify,
    /// 6: Resume (sent).
    Resume,
    /// 7: reconnect and resume.
    Reconnect,
    /// 9: the session is invalid; `d` says whether it may be resumed.
    InvalidSession,
    /// 10: the first payload, with the heartbeat interval.
    Hello,
    /// 11: the heartbeat was received.
    HeartbeatAck,
    /// Any other (documented for other directions, or new).
    Other(u8),
}

impl From<u8> for Opcode {
    fn from(op: u8) -> Opcode {
        match op {
            0 => Opcode::Dispatch,
            1 => Opcode::Heartbeat,
            2 => Opcode::Identify,
            6 => Opcode::Resume,
            7 => Opcode::Reconnect,
            9 => Opcode::InvalidSession,
            10 => Opcode::Hello,
            11 => Opcode::HeartbeatAck,
            other => Opcode::Other(other),
        }
    }
}

/// A payload as it arrives; `d` stays raw until asked for.
#[derive(Debug, Deserialize)]
pub struct Payload {
    op: u8,
    #[serde(default)]
    d: Option<Box<RawValue>>,
    #[serde(default)]
    s: Option<u64>,
    #[serde(default)]
    t: Option<String>,
}

/// A payload that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Not a Gateway payload at all.
    #[error("not a Gateway payload ({0})")]
    Malformed(serde_json::Error),
    /// The payload's data lacks what its opcode or event needs.
    #[error("the {what} payload's data is not as documented ({source})")]
    Data {
        /// The opcode or event.
        what: String,
        /// What serde said.
        source: serde_json::Error,
    },
}

impl Payload {
    /// Reads one payload (one inflated message or text frame).
    pub fn parse(text: &str) -> Result<Payload, FrameError> {
        serde_json::from_str(text).map_err(FrameError::Malformed)
    }

    /// The opcode.
    pub fn opcode(&self) -> Opcode {
        Opcode::from(self.op)
    }

    /// The sequence number (dispatches only).
    pub fn sequence(&self) -> Option<u64> {
        self.s
    }

    /// The event's name (dispatches only): `READY`, `MESSAGE_CREATE`...
    pub fn event_name(&self) -> Option<&str> {
        self.t.as_deref()
    }

    /// The raw data, for mapping an event.
    pub fn raw_data(&self) -> Option<&RawValue> {
        self.d.as_deref()
    }

    /// The data parsed as `T`; `what` names the payload in the error.
    pub fn data<'a, T: Deserialize<'a>>(&'a self, what: &str) -> Result<T, FrameError> {
        let raw = self.d.as_deref().map_or("null", RawValue::get);
        serde_json::from_str(raw).map_err(|source| FrameError::Data {
            what: what.to_owned(),
            source,
        })
    }

    /// Hello's heartbeat interval.
    pub fn hello(&self) -> Result<Hello, FrameError> {
        self.data("Hello")
    }

    /// Ready's session.
    pub fn ready(&self) -> Result<Ready, FrameError> {
        self.data("READY")
    }

    /// Invalid Session's flag: whether the session may be resumed.
    pub fn resumable(&self) -> Result<bool, FrameError> {
        self.data("Invalid Session")
    }
}

/// Hello's data.
#[derive(Debug, Clone, Deserialize)]
pub struct Hello {
    /// How often to send a heartbeat, in milliseconds.
    pub heartbeat_interval: u64,
}

/// What a session keeps from Ready.
#[derive(Debug, Clone, Deserialize)]
pub struct Ready {
    /// The session to resume.
    pub session_id: String,
    /// Where to resume it (the main URL is for new sessions only).
    pub resume_gateway_url: String,
    /// The bot.
    #[serde(default)]
    pub user: ReadyUser,
    /// The guilds this shard serves (unavailable until their GUILD_CREATE).
    #[serde(default)]
    pub guilds: Vec<ReadyGuild>,
    /// `[shard, shards]`.
    #[serde(default)]
    pub shard: Option<[u32; 2]>,
    /// The Gateway version.
    #[serde(rename = "v", default)]
    pub version: u8,
}

/// The bot's user in Ready.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReadyUser {
    /// Its id.
    pub id: String,
}

/// A guild in Ready.
#[derive(Debug, Clone, Deserialize)]
pub struct ReadyGuild {
    /// Its id.
    pub id: String,
}

/// The last sequence number a connection received: what a heartbeat and a resume carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sequence(Option<u64>);

impl Sequence {
    /// Notes `payload`'s sequence number; payloads without one (all but dispatches) leave it as it is.
    pub fn track(&mut self, payload: &Payload) {
        if let Some(s) = payload.sequence() {
            self.0 = Some(s);
        }
    }

    /// The last one, `None` before any dispatch.
    pub fn last(self) -> Option<u64> {
        self.0
    }
}

/// The intents OnAir asks for: guilds, guild members (privileged), guild messages, message content
/// (privileged), guild moderation (bans).
pub const INTENTS: u64 = 1 | (1 << 1) | (1 << 2) | (1 << 9) | (1 << 15);

/// `op 1`: a heartbeat with the last sequence.
pub fn heartbeat(sequence: Sequence) -> String {
    serde_json::json!({ "op": 1, "d": sequence.last() }).to_string()
}

/// `op 2`: Identify, for shard `shard` of `shards`.
pub fn identify(token: &SecretString, intents: u64, shard: u32, shards: u32) -> String {
    #[derive(Serialize)]
    struct Properties {
        os: &'static str,
        browser: &'static str,
        device: &'static str,
    }
    serde_json::json!({
        "op": 2,
        "d": {
            "token": token.expose_secret(),
            "intents": intents,
            "properties": Properties { os: std::env::consts::OS, browser: "onair", device: "onair" },
            "shard": [shard, shards],
            "large_threshold": 50,
        }
    })
    .to_string()
}

/// `op 6`: Resume `session_id` after `sequence`.
pub fn resume(token: &SecretString, session_id: &str, sequence: Sequence) -> String {
    serde_json::json!({
        "op": 6,
        "d": { "token": token.expose_secret(), "session_id": session_id, "seq": sequence.last() }
    })
    .to_string()
}
