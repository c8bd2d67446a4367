//! The wire format: parsing a received text frame into a [`PusherFrame`] (the envelope and its `data`
//! decoded once) and writing the frames the client sends. Nothing here does I/O.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::value::RawValue;

/// One frame received from the server: `{event, channel?, data?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PusherFrame {
    /// The event name, e.g. `pusher:connection_established` or `App\Events\ChatMessageEvent`.
    pub event: String,
    /// The channel the event was published on; absent for connection-level events.
    pub channel: Option<String>,
    /// The payload, unwrapped from its JSON-encoded string form.
    pub data: Data,
}

/// A frame's payload. Pusher sends `data` as a JSON-encoded string (events, `connection_established`) or as
/// an object (`pusher:error`); both arrive here as [`Data::Json`], decoded exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// The frame had no `data` (or `null`).
    Absent,
    /// JSON: an object or value sent as is, or a string that held valid JSON text.
    Json(Json),
    /// A string that is not JSON text, kept as sent.
    Text(String),
}

impl Data {
    /// The JSON text, when the payload is JSON.
    pub fn json(&self) -> Option<&Json> {
        match self {
            Data::Json(json) => Some(json),
            Data::Absent | Data::Text(_) => None,
        }
    }
}

/// Valid JSON text. Built only from text that parsed, so [`Json::decode`] fails only on a shape mismatch.
#[derive(Clone, PartialEq, Eq)]
pub struct Json(String);

impl Json {
    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// Deserialises the payload into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }

    /// Checks `text` and keeps it if it is JSON; gives it back otherwise.
    fn parse(text: String) -> Result<Json, String> {
        match serde_json::from_str::<IgnoredAny>(&text) {
            Ok(_) => Ok(Json(text)),
            Err(_) => Err(text),
        }
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a received frame was skipped. The connection stays up either way.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Larger than the configured limit; not parsed at all.
    #[error("frame of {size} bytes is over the {limit}-byte limit")]
    TooLarge {
        /// The frame's size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Not JSON, or not an object with a string `event`.
    #[error("not a Pusher frame: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// The envelope as it is on the wire, borrowing from the frame's text.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow, default)]
    channel: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// Parses one text frame. Never panics; anything that is not a well-formed envelope is an error.
pub fn parse(text: &str, limit: usize) -> Result<PusherFrame, FrameError> {
    if text.len() > limit {
        return Err(FrameError::TooLarge {
            size: text.len(),
            limit,
        });
    }
    let envelope: Envelope<'_> = serde_json::from_str(text)?;
    let data = match envelope.data {
        None => Data::Absent,
        Some(raw) => decode_data(raw)?,
    };
    Ok(PusherFrame {
        event: envelope.event.into_owned(),
        channel: envelope.channel.map(Cow::into_owned),
        data,
    })
}

/// Unwraps a string payload into the JSON it carries; keeps any other value as its JSON text.
fn decode_data(raw: &RawValue) -> Result<Data, serde_json::Error> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => {
            let inner: String = serde_json::from_str(text)?;
            Ok(match Json::parse(inner) {
                Ok(json) => Data::Json(json),
                Err(text) => Data::Text(text),
            })
        }
        Some(b'n') if text == "null" => Ok(Data::Absent),
        _ => Ok(Data::Json(Json(text.to_owned()))),
    }
}

/// The `{code, message}` payload of `pusher:error` (an object on the wire, sometimes without a code).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorData {
    /// The Pusher error code (4000-4399), when the server gave one.
    #[serde(default)]
    pub code: Option<u16>,
    /// The server's explanation.
    #[serde(default)]
    pub message: Option<String>,
}

/// The payload of `pusher:connection_established`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Established {
    /// The server's id for this socket (needed to authorise private channels).
    pub socket_id: String,
    /// Seconds of silence after which the server expects a ping.
    #[serde(default)]
    pub activity_timeout: Option<u64>,
}

/// What `pusher:subscription_error` says went wrong (soketi: `{type, error, status}`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubscriptionErrorData {
    /// The error's category, e.g. `AuthError`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The server's explanation.
    #[serde(default)]
    pub error: Option<String>,
    /// An HTTP-like status, e.g. 401.
    #[serde(default)]
    pub status: Option<u16>,
}

impl fmt::Display for SubscriptionErrorData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self
            .error
            .as_deref()
            .unwrap_or("the server refused the subscription");
        write!(f, "{message}")?;
        match (&self.kind, self.status) {
            (Some(kind), Some(status)) => write!(f, " ({kind}, status {status})"),
            (Some(kind), None) => write!(f, " ({kind})"),
            (None, Some(status)) => write!(f, " (status {status})"),
            (None, None) => Ok(()),
        }
    }
}

/// The frames the client sends. Built at send time, so a private channel's auth is only ever in the frame.
pub(crate) mod outgoing {
    use serde_json::json;

    /// `pusher:subscribe`, always with `data` (a subscribe without it crashes some servers).
    pub fn subscribe(channel: &str, auth: Option<&str>, channel_data: Option<&str>) -> String {
        let mut data = json!({ "auth": auth.unwrap_or(""), "channel": channel });
        if let Some(channel_data) = channel_data {
            data["channel_data"] = json!(channel_data);
        }
        json!({ "event": "pusher:subscribe", "data": data }).to_string()
    }

    /// `pusher:unsubscribe`.
    pub fn unsubscribe(channel: &str) -> String {
        json!({ "event": "pusher:unsubscribe", "data": { "channel": channel } }).to_string()
    }

    /// The client's liveness check.
    pub fn ping() -> String {
        r#"{"event":"pusher:ping","data":"{}"}"#.to_owned()
    }

    /// The answer to the server's `pusher:ping`.
    pub fn pong() -> String {
        r#"{"event":"pusher:pong","data":"{}"}"#.to_owned()
    }

    /// A client event (`client-` prefix, private or presence channel); `data` is sent as a JSON value.
    pub fn client_event(channel: &str, event: &str, data: &serde_json::Value) -> String {
        json!({ "event": event, "channel": channel, "data": data }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    #[test]
    fn string_data_is_unwrapped_once() {
        let frame = parse(
            r#"{"event":"App\\Events\\ChatMessageEvent","data":"{\"content\":\"caf\\u00e9 \\\"hi\\\"\"}","channel":"chatrooms.1.v2"}"#,
            LIMIT,
        )
        .unwrap();
        assert_eq!(frame.event, r"App\Events\ChatMessageEvent");
        assert_eq!(frame.channel.as_deref(), Some("chatrooms.1.v2"));
        let json = frame.data.json().unwrap();
        let value: serde_json::Value = json.decode().unwrap();
        assert_eq!(value["content"], "café \"hi\"");
    }

    #[test]
    fn object_data_is_kept_as_json() {
        let frame = parse(
            r#"{"event":"pusher:error","data":{"code":4001,"message":"App key x does not exist."}}"#,
            LIMIT,
        )
        .unwrap();
        assert_eq!(frame.channel, None);
        let error: ErrorData = frame.data.json().unwrap().decode().unwrap();
        assert_eq!(error.code, Some(4001));
        assert_eq!(error.message.as_deref(), Some("App key x does not exist."));
    }

    #[test]
    fn absent_null_and_plain_text_data() {
        assert_eq!(
            parse(r#"{"event":"pusher:pong"}"#, LIMIT).unwrap().data,
            Data::Absent
        );
        assert_eq!(
            parse(r#"{"event":"e","data":null}"#, LIMIT).unwrap().data,
            Data::Absent
        );
        assert_eq!(
            parse(r#"{"event":"client-x","data":"just words"}"#, LIMIT)
                .unwrap()
                .data,
            Data::Text("just words".into())
        );
        assert_eq!(
            parse(r#"{"event":"pusher:ping","data":0}"#, LIMIT)
                .unwrap()
                .data
                .json()
                .unwrap()
                .get(),
            "0"
        );
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        for text in [
            "",
            "not json",
            "[]",
            "42",
            r#"{"data":"{}"}"#,
            r#"{"event":7}"#,
            r#"{"event":"e","channel":5}"#,
            r#"{"event":"e","data":"{\"a\":"#,
            r#"{"event":"e""#,
            "\u{0}\u{1}",
        ] {
            assert!(parse(text, LIMIT).is_err(), "{text:?} should not parse");
        }
    }

    #[test]
    fn frames_over_the_limit_are_not_parsed() {
        let text = format!(r#"{{"event":"e","data":"{}"}}"#, "x".repeat(100));
        assert!(matches!(
            parse(&text, 50),
            Err(FrameError::TooLarge { size, limit: 50 }) if size == text.len()
        ));
        assert!(parse(&text, text.len()).is_ok());
    }

    #[test]
    fn subscription_errors_read_in_plain_words() {
        let data: SubscriptionErrorData = serde_json::from_str(
            r#"{"type":"AuthError","error":"The connection is unauthorized.","status":401}"#,
        )
        .unwrap();
        assert_eq!(
            data.to_string(),
            "The connection is unauthorized. (AuthError, status 401)"
        );
        assert_eq!(
            SubscriptionErrorData::default().to_string(),
            "the server refused the subscription"
        );
    }

    #[test]
    fn outgoing_frames_have_the_documented_shape() {
        let value: serde_json::Value =
            serde_json::from_str(&outgoing::subscribe("chatrooms.1.v2", None, None)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"event":"pusher:subscribe","data":{"auth":"","channel":"chatrooms.1.v2"}})
        );
        let value: serde_json::Value = serde_json::from_str(&outgoing::subscribe(
            "presence-x",
            Some("k:sig"),
            Some("{\"user_id\":\"1\"}"),
        ))
        .unwrap();
        assert_eq!(value["data"]["auth"], "k:sig");
        assert_eq!(value["data"]["channel_data"], "{\"user_id\":\"1\"}");
        let pong = parse(&outgoing::pong(), LIMIT).unwrap();
        assert_eq!(pong.event, "pusher:pong");
        let unsubscribe: serde_json::Value = serde_json::from_str(&outgoing::unsubscribe("c")).unwrap();
        assert_eq!(unsubscribe["data"]["channel"], "c");
    }
}
