//! A scriptable EventSub WebSocket server on loopback, for tests: it accepts connections one by one and
//! lets the test send any frame (welcome, keepalive, notification, reconnect, revocation), close with any
//! code, and see what the client did (the URL it asked for, how it closed). Frames are built as Twitch
//! sends them. [`helix`] stands in for the token check and Helix.

pub mod helix;

use std::io;

use chrono::{SecondsFormat, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// The server: one loopback port, connections taken in order with [`EventSubServer::accept`].
pub struct EventSubServer {
    listener: TcpListener,
    url: String,
}

impl EventSubServer {
    /// Listens on a free loopback port.
    pub async fn start() -> io::Result<EventSubServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("ws://{}/ws", listener.local_addr()?);
        Ok(EventSubServer { listener, url })
    }

    /// The URL to connect to (`ws://127.0.0.1:PORT/ws`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Another URL on the same server (a reconnect URL): `ws://127.0.0.1:PORT/ws?reconnect=NAME`.
    pub fn reconnect_url(&self, name: &str) -> String {
        format!("{}?reconnect={name}", self.url)
    }

    /// Waits for the next client and completes its WebSocket handshake.
    // The handshake callback's error type is tungstenite's (a whole HTTP response).
    #[allow(clippy::result_large_err)]
    pub async fn accept(&self) -> io::Result<ServerSocket> {
        let (stream, _) = self.listener.accept().await?;
        let mut uri = String::new();
        let ws = tokio_tungstenite::accept_hdr_async(stream, |request: &Request, response: Response| {
            uri = request.uri().to_string();
            Ok(response)
        })
        .await
        .map_err(io::Error::other)?;
        Ok(ServerSocket { ws, uri })
    }
}

/// One client connection.
pub struct ServerSocket {
    ws: WebSocketStream<TcpStream>,
    uri: String,
}

/// How the client's side of a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEnd {
    /// A close frame with this code.
    Closed(u16),
    /// The socket ended without a close frame.
    Dropped,
}

impl ServerSocket {
    /// The path and query the client asked for (`/ws?keepalive_timeout_seconds=30`).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Sends a text frame as it is.
    pub async fn send(&mut self, text: &str) -> io::Result<()> {
        self.ws.send(Message::text(text)).await.map_err(io::Error::other)
    }

    /// Sends `session_welcome` for `session_id` with `keepalive` seconds.
    pub async fn welcome(&mut self, session_id: &str, keepalive: u64) -> io::Result<()> {
        self.send(&welcome(session_id, keepalive)).await
    }

    /// Sends `session_keepalive`.
    pub async fn keepalive(&mut self) -> io::Result<()> {
        let text = frame(&new_id(), "session_keepalive", None, json!({}));
        self.send(&text).await
    }

    /// Sends a notification of `subscription_type` (version 1, or 2 for `channel.follow`) with `event`.
    pub async fn notify(
        &mut self,
        message_id: &str,
        subscription_type: &str,
        event: Value,
    ) -> io::Result<()> {
        self.send(&notification(message_id, subscription_type, event))
            .await
    }

    /// Sends `session_reconnect` pointing at `reconnect_url`.
    pub async fn reconnect(&mut self, session_id: &str, reconnect_url: &str) -> io::Result<()> {
        let payload = json!({"session": {
            "id": session_id, "status": "reconnecting", "keepalive_timeout_seconds": null,
            "reconnect_url": reconnect_url, "connected_at": now(), "recovery_url": null,
        }});
        self.send(&frame(&new_id(), "session_reconnect", None, payload))
            .await
    }

    /// Sends a revocation of a `subscription_type` subscription with `status`.
    pub async fn revoke(&mut self, subscription_type: &str, status: &str) -> io::Result<()> {
        let version = version_of(subscription_type);
        let payload = json!({"subscription": {
            "id": new_id(), "status": status, "type": subscription_type, "version": version, "cost": 0,
            "condition": {}, "transport": {"method": "websocket", "session_id": "x"}, "created_at": now(),
        }});
        let text = frame(
            &new_id(),
            "revocation",
            Some((subscription_type, version)),
            payload,
        );
        self.send(&text).await
    }

    /// Closes with `code` and `reason`.
    pub async fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.to_owned().into(),
        };
        self.ws.close(Some(frame)).await.map_err(io::Error::other)
    }

    /// Reads until the client closes or drops the socket, and says how; text the client sent on the way
    /// (which Twitch would answer with 4001) is returned too.
    pub async fn client_end(&mut self) -> (ClientEnd, Vec<String>) {
        let mut sent = Vec::new();
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or(1005, |f| u16::from(f.code));
                    return (ClientEnd::Closed(code), sent);
                }
                Some(Ok(Message::Text(text))) => sent.push(text.to_string()),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return (ClientEnd::Dropped, sent),
            }
        }
    }
}

/// A `session_welcome` frame.
pub fn welcome(session_id: &str, keepalive: u64) -> String {
    let payload = json!({"session": {
        "id": session_id, "status": "connected", "connected_at": now(),
        "keepalive_timeout_seconds": keepalive, "reconnect_url": null, "recovery_url": null,
    }});
    frame(&new_id(), "session_welcome", None, payload)
}

/// A `notification` frame carrying `event`.
pub fn notification(message_id: &str, subscription_type: &str, event: Value) -> String {
    let version = version_of(subscription_type);
    let payload = json!({
        "subscription": {
            "id": new_id(), "status": "enabled", "type": subscription_type, "version": version, "cost": 0,
            "condition": {}, "transport": {"method": "websocket", "session_id": "x"}, "created_at": now(),
        },
        "event": event,
    });
    frame(
        message_id,
        "notification",
        Some((subscription_type, version)),
        payload,
    )
}

fn frame(message_id: &str, message_type: &str, subscription: Option<(&str, &str)>, payload: Value) -> String {
    let mut metadata = json!({
        "message_id": message_id, "message_type": message_type, "message_timestamp": now(),
    });
    if let Some((kind, version)) = subscription {
        metadata["subscription_type"] = kind.into();
        metadata["subscription_version"] = version.into();
    }
    json!({"metadata": metadata, "payload": payload}).to_string()
}

fn version_of(subscription_type: &str) -> &'static str {
    if subscription_type == "channel.follow" {
        "2"
    } else {
        "1"
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn new_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}
