//! The wire format: parsing a received text frame into a [`PusherFrame`] (the envelope and its `data`
//! decoded once) and writing the frames the client sends. Nothing here does I/O.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer};

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

/// A frame's payload, unwrapped once: Pusher sends `data` as a JSON-encoded string (events,
/// `connection_established`) or as a value (`pusher:error`'s object). Whether a string holds JSON is the
/// consumer's business: [`Data::decode`] parses it straight into the consumer's type, the only parse of
/// the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// The frame had no `data` (or `null`).
    Absent,
    /// A string, unescaped: usually JSON text.
    String(String),
    /// Any other value (an object, a number...), as JSON text.
    Value(String),
}

impl Data {
    /// The payload as JSON text: the string's content, or the value's text; `None` when absent.
    pub fn text(&self) -> Option<&str> {
        match self {
            Data::String(text) | Data::Value(text) => Some(text),
            Data::Absent => None,
        }
    }

    /// Parses the payload into `T` (absent data reads as `null`).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.text().unwrap_or("null"))
    }
}

/// Deserialises `data` in the same pass as the envelope: a string is unescaped once into its own buffer,
/// anything else is kept as JSON text.
struct DataField(Data);

impl<'de> Deserialize<'de> for DataField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DataVisitor).map(DataField)
    }
}

struct DataVisitor;

impl DataVisitor {
    fn value<E: de::Error>(value: serde_json::Value) -> Result<Data, E> {
        Ok(Data::Value(value.to_string()))
    }
}

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Pusher frame's data")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Data, E> {
        Ok(Data::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Data, E> {
        Ok(Data::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Data, E> {
        Ok(Data::Absent)
    }

    fn visit_none<E: de::Error>(self) -> Result<Data, E> {
        Ok(Data::Absent)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Data, E> {
        Self::value(v.into())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Data, E> {
        Self::value(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Data, E> {
        Self::value(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Data, E> {
        Self::value(v.into())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Data, A::Error> {
        Self::value(serde_json::Value::deserialize(
            de::value::MapAccessDeserializer::new(map),
        )?)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Data, A::Error> {
        Self::value(serde_json::Value::deserialize(
            de::value::SeqAccessDeserializer::new(seq),
        )?)
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

/// The envelope as it is on the wire, borrowing from the frame's text where it can.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow, default)]
    channel: Option<Cow<'a, str>>,
    #[serde(default)]
    data: Option<DataField>,
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
    Ok(PusherFrame {
        event: envelope.event.into_owned(),
        channel: envelope.channel.map(Cow::into_owned),
        data: envelope.data.map_or(Data::Absent, |field| field.0),
    })
}

/// The `{code, message}` payload of `pusher:error` (an object on the wire, sometimes without a code).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
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
        // The string is unwrapped; the JSON inside keeps its own escapes until the consumer parses it.
        assert_eq!(frame.data.text(), Some(r#"{"content":"caf\u00e9 \"hi\""}"#));
        let value: serde_json::Value = frame.data.decode().unwrap();
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
        let error: ErrorData = frame.data.decode().unwrap();
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
        let words = parse(r#"{"event":"client-x","data":"just words"}"#, LIMIT)
            .unwrap()
            .data;
        assert_eq!(words, Data::String("just words".into()));
        assert!(words.decode::<serde_json::Value>().is_err());
        let zero = parse(r#"{"event":"pusher:ping","data":0}"#, LIMIT).unwrap().data;
        assert_eq!(zero, Data::Value("0".into()));
        assert_eq!(zero.decode::<u8>().unwrap(), 0);
        let list = parse(r#"{"event":"e","data":[1,{"a":true}]}"#, LIMIT)
            .unwrap()
            .data;
        assert_eq!(list.text(), Some(r#"[1,{"a":true}]"#));
        assert_eq!(Data::Absent.decode::<Option<u8>>().unwrap(), None);
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
            r#"{"event":"e","data":{"a":"#,
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
