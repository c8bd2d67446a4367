//! OnAir's relay: a Socket.IO server (socketioxide on axum) on the loopback by default, through which
//! overlays, bots and stream decks receive OnAir's unified events live. This first part owns the server's
//! life (start, the address it listens on, a graceful shutdown that tells clients when to come back),
//! the token check in the handshake (constant time; a bad token is refused with `connect_error`
//! "unauthorized"), the clients' filters (`subscribe` / `unsubscribe`), and the delivery of each published
//! event, in the public JSON form (v1, with its offset), to exactly the clients whose filter it matches.
//! A client too slow to take its events is disconnected rather than silently skipped, so it comes back
//! and resumes from the last offset it has (resume from the store follows).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use onair_core::{Event, EventKind, Platform};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::{SendError, SocketError, SocketIo};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::cors::CorsLayer;

/// The port the relay listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 41490;

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Where to listen: the loopback by default; another address exposes the relay to the network.
    pub addr: SocketAddr,
    /// The token every client must present (`auth: { token }`).
    pub token: SecretString,
    /// Events (packets) a client may have waiting; one more and the client is disconnected, to resume.
    pub client_buffer: usize,
}

impl RelayOptions {
    /// The defaults on the loopback at [`DEFAULT_PORT`], with `token`.
    pub fn new(token: SecretString) -> RelayOptions {
        RelayOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            token,
            client_buffer: 4096,
        }
    }
}

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The address is taken or not allowed.
    #[error(
        "the relay could not listen on {addr} ({source}); another program may use that port: choose another"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The system's words.
        source: std::io::Error,
    },
}

/// What a client asks to receive; an empty list means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// Only these platforms.
    pub platforms: Vec<Platform>,
    /// Only these kinds.
    pub kinds: Vec<EventKind>,
    /// Only these channels, by slug or platform id (case-insensitive slug).
    pub channels: Vec<String>,
}

impl Filter {
    /// Whether `event` is one the client asked for.
    pub fn matches(&self, event: &Event) -> bool {
        (self.platforms.is_empty() || self.platforms.contains(&event.platform))
            && (self.kinds.is_empty() || self.kinds.contains(&event.kind()))
            && (self.channels.is_empty()
                || self
                    .channels
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&event.channel.slug) || *c == event.channel.platform_id))
    }
}

/// A client's subscription, kept on its socket.
#[derive(Debug, Clone)]
struct Subscribed(Filter);

/// What a client sends in the handshake.
#[derive(Deserialize)]
struct Auth {
    token: Option<String>,
}

/// What the relay answers a request that cannot be carried out.
#[derive(Debug, Serialize)]
struct RelayFailure {
    code: &'static str,
    message: String,
}

/// A running relay.
pub struct Relay {
    io: SocketIo,
    addr: SocketAddr,
    stop: oneshot::Sender<Duration>,
    server: JoinHandle<()>,
}

impl Relay {
    /// Listens on `options.addr` and serves until [`Relay::shutdown`].
    pub async fn start(options: RelayOptions) -> Result<Relay, RelayError> {
        let listener = TcpListener::bind(options.addr)
            .await
            .map_err(|source| RelayError::Bind {
                addr: options.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| RelayError::Bind {
            addr: options.addr,
            source,
        })?;
        let (layer, io) = SocketIo::builder()
            .max_buffer_size(options.client_buffer)
            .build_layer();
        let token = options.token.clone();
        let check = move |s: SocketRef, TryData(auth): TryData<Auth>| {
            let token = token.clone();
            async move { authorize(&s, auth.ok().and_then(|a| a.token), &token) }
        };
        io.ns("/", on_connect.with(check));
        // Browser sources (OBS) load overlays from files or other origins.
        let app = Router::new().layer(layer).layer(CorsLayer::permissive());
        let (stop, stopped) = oneshot::channel::<Duration>();
        let closing = io.clone();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let retry_after = stopped.await.unwrap_or_default();
                    if let Some(all) = closing.of("/") {
                        let notice = serde_json::json!({ "retry_after_ms": retry_after.as_millis() as u64 });
                        if let Err(e) = all.emit("server:shutdown", &notice).await {
                            tracing::debug!(error = %e, "some clients did not get the shutdown notice");
                        }
                    }
                    closing.close().await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the relay stopped");
            }
        });
        tracing::info!(%addr, "relay listening");
        Ok(Relay {
            io,
            addr,
            stop,
            server,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many clients are connected.
    pub fn clients(&self) -> usize {
        self.io.of("/").map_or(0, |all| all.sockets().len())
    }

    /// Sends `event` (committed: it has its offset) to every client whose filter matches. A client whose
    /// buffer is full is disconnected: it reconnects and resumes from its last offset, and never silently
    /// misses an event.
    pub fn publish(&self, event: &Event) {
        let Some(all) = self.io.of("/") else { return };
        let mut json: Option<Box<RawValue>> = None;
        for socket in all.sockets() {
            let Some(Subscribed(filter)) = socket.extensions.get::<Subscribed>() else {
                continue;
            };
            if !filter.matches(event) {
                continue;
            }
            let json = match &json {
                Some(json) => json,
                None => match RawValue::from_string(event.to_json_line()) {
                    Ok(raw) => json.insert(raw),
                    Err(e) => {
                        tracing::error!(error = %e, "an event could not be encoded for the relay");
                        return;
                    }
                },
            };
            match socket.emit("event", json) {
                Ok(()) => {}
                Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                    tracing::warn!(client = %socket.id, "a relay client fell behind; disconnecting it so it resumes");
                    let _ = socket.disconnect();
                }
                Err(e) => {
                    tracing::debug!(client = %socket.id, error = %e, "an event did not reach a relay client")
                }
            }
        }
    }

    /// Tells every client the relay is going away (`server:shutdown { retry_after_ms }`), closes their
    /// connections and stops listening.
    pub async fn shutdown(self, retry_after: Duration) {
        let _ = self.stop.send(retry_after);
        if let Err(e) = self.server.await {
            tracing::error!(error = %e, "the relay's task failed");
        }
    }
}

/// The handshake's check: the token, compared in constant time.
fn authorize(socket: &SocketRef, given: Option<String>, token: &SecretString) -> Result<(), &'static str> {
    let expected = token.expose_secret().as_bytes();
    let given = given.unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(expected)) {
        Ok(())
    } else {
        tracing::info!(client = %socket.id, "a relay client gave a wrong token");
        Err("unauthorized")
    }
}

/// A client is in: it receives nothing until it subscribes.
async fn on_connect(socket: SocketRef) {
    tracing::debug!(client = %socket.id, "relay client connected");
    socket.on("subscribe", subscribe);
    socket.on("unsubscribe", async |socket: SocketRef, ack: AckSender| {
        socket.extensions.remove::<Subscribed>();
        let _ = ack.send(&serde_json::json!({ "ok": true }));
    });
}

/// `subscribe { platforms?, kinds?, channels? }`: the filter in force from now on, echoed in the ack.
async fn subscribe(socket: SocketRef, TryData(filter): TryData<Filter>, ack: AckSender) {
    match filter {
        Ok(filter) => {
            socket.extensions.insert(Subscribed(filter.clone()));
            let _ = ack.send(&serde_json::json!({ "ok": true, "filter": filter }));
        }
        Err(e) => {
            let failure = RelayFailure {
                code: "bad_request",
                message: format!("subscribe takes {{ platforms?, kinds?, channels? }}: {e}"),
            };
            let _ = socket.emit("error", &failure);
            let _ = ack.send(&serde_json::json!({ "ok": false, "error": failure }));
        }
    }
}
