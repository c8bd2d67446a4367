//! A scriptable Pusher-protocol server on loopback (feature `server`): the caller accepts each connection and
//! says what the server does (hello, answers, events, errors, closes, silence, a dropped socket). Tests drive
//! every failure with it; the simulator and the benchmark push realistic traffic through it.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use crate::config::app_path;
use crate::frame::{self, PusherFrame};

/// What the scripted server's calls fail with: the socket's error.
pub type ServerError = tungstenite::Error;

/// A listening server; connections are handed out in order by [`ScriptedServer::accept`].
pub struct ScriptedServer {
    addr: SocketAddr,
    accepted: mpsc::UnboundedReceiver<ServerConn>,
    acceptor: JoinHandle<()>,
}

impl ScriptedServer {
    /// Listens on a free port of 127.0.0.1.
    pub async fn bind() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, accepted) = mpsc::unbounded_channel();
        let acceptor = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Some(conn) = upgrade(stream).await {
                        let _ = tx.send(conn);
                    }
                });
            }
        });
        Ok(ScriptedServer {
            addr,
            accepted,
            acceptor,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL a client uses to reach app `key` here.
    pub fn url(&self, key: &str) -> String {
        format!("ws://{}{}", self.addr, app_path(key))
    }

    /// The next connection (after its WebSocket upgrade); `None` once the listener is gone.
    pub async fn accept(&mut self) -> Option<ServerConn> {
        self.accepted.recv().await
    }

    /// A connection that already arrived, if any.
    pub fn try_accept(&mut self) -> Option<ServerConn> {
        self.accepted.try_recv().ok()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

// The handshake callback's error type is tungstenite's HTTP response, large by its design.
#[allow(clippy::result_large_err)]
async fn upgrade(stream: TcpStream) -> Option<ServerConn> {
    let _ = stream.set_nodelay(true);
    let mut path = String::new();
    let ws = tokio_tungstenite::accept_hdr_async(stream, |request: &Request, response: Response| {
        path = request.uri().to_string();
        Ok(response)
    })
    .await
    .ok()?;
    Some(ServerConn { path, ws })
}

/// One accepted connection, driven by the caller. Dropping it drops the TCP connection without a close frame.
pub struct ServerConn {
    path: String,
    ws: WebSocketStream<TcpStream>,
}

impl ServerConn {
    /// The request path and query, e.g. `/app/KEY?protocol=7&...`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The app key from the path (`/app/{key}`).
    pub fn app_key(&self) -> Option<&str> {
        let path = self.path.split('?').next()?;
        path.strip_prefix("/app/").filter(|key| !key.is_empty())
    }

    /// Sends `pusher:connection_established` with `socket_id` and `activity_timeout` (seconds).
    pub async fn establish(&mut self, socket_id: &str, activity_timeout: u64) -> Result<(), ServerError> {
        let data = json!({ "socket_id": socket_id, "activity_timeout": activity_timeout }).to_string();
        self.send_text(json!({ "event": "pusher:connection_established", "data": data }).to_string())
            .await
    }

    /// Sends one text frame as is.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), ServerError> {
        self.ws.send(Message::text(text.into())).await
    }

    /// Sends an event on `channel` whose `data` is the JSON-encoded string of `data_json`, as Pusher does.
    pub async fn send_event(
        &mut self,
        channel: &str,
        event: &str,
        data_json: &str,
    ) -> Result<(), ServerError> {
        self.send_text(event_frame(channel, event, data_json)).await
    }

    /// Sends `pusher:error` with `code` and `message` (an object, as servers send it).
    pub async fn send_error(&mut self, code: u16, message: &str) -> Result<(), ServerError> {
        self.send_text(
            json!({ "event": "pusher:error", "data": { "code": code, "message": message } }).to_string(),
        )
        .await
    }

    /// Sends a close frame with `code` and `reason`.
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<(), ServerError> {
        self.ws
            .close(Some(CloseFrame {
                code: code.into(),
                reason: reason.into(),
            }))
            .await
    }

    /// Sends every frame of `frames`, flushing once at the end: the fastest way to push a burst.
    pub async fn blast(&mut self, frames: &[Utf8Bytes]) -> Result<(), ServerError> {
        for frame in frames {
            self.ws.feed(Message::Text(frame.clone())).await?;
        }
        self.ws.flush().await
    }

    /// The next text frame the client sent, parsed; `None` when the client closed or the socket ended.
    pub async fn recv(&mut self) -> Option<PusherFrame> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(text)) => match frame::parse(&text, usize::MAX) {
                    Ok(frame) => return Some(frame),
                    Err(e) => tracing::warn!(error = %e, "scripted server: client sent a malformed frame"),
                },
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The close frame's code the client sends next, skipping text frames; `None` if the socket ends
    /// without one.
    pub async fn recv_close(&mut self) -> Option<u16> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Waits for the client's next `pusher:subscribe`, answering its pings on the way, and confirms it.
    /// Returns the channel (`None` if the socket ended first).
    pub async fn accept_subscribe(&mut self) -> Option<String> {
        let channel = self.next_subscribe().await?;
        let confirm =
            json!({ "event": "pusher_internal:subscription_succeeded", "channel": channel, "data": "{}" });
        self.send_text(confirm.to_string()).await.ok()?;
        Some(channel)
    }

    /// Waits for the client's next `pusher:subscribe` without answering it, answering pings on the way.
    pub async fn next_subscribe(&mut self) -> Option<String> {
        loop {
            let frame = self.recv().await?;
            match frame.event.as_str() {
                "pusher:ping" => self
                    .send_text(r#"{"event":"pusher:pong","data":"{}"}"#)
                    .await
                    .ok()?,
                "pusher:subscribe" => {
                    let data: serde_json::Value = frame.data.decode().ok()?;
                    return data["channel"].as_str().map(str::to_owned);
                }
                _ => {}
            }
        }
    }
}

/// The text of an event frame on `channel` carrying `data_json` as a JSON-encoded string.
pub fn event_frame(channel: &str, event: &str, data_json: &str) -> String {
    json!({ "event": event, "channel": channel, "data": data_json }).to_string()
}
