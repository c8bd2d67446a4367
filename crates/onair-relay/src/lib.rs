//! OnAir's relay: a Socket.IO server (socketioxide on axum) on the loopback by default, through which
//! overlays, bots and stream decks receive OnAir's unified events live. This crate root owns the server's
//! life (start, the address, a graceful shutdown that tells clients when to come back), its HTTP side
//! (`GET /clients` and Prometheus `GET /metrics`, both behind the token) and the fan-out of each published
//! event and status change to the connected clients. The messages are in [`protocol`], a client's session
//! (filters, limits, resume) in `session`, who is connected and the handshake's token check in `clients`,
//! the ready-made overlays it serves (`/overlays/alerts`, `/overlays/chat`) in `overlays`.

mod clients;
mod overlays;
pub mod protocol;
mod session;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use onair_core::{ConnectionId, ConnectionState, Event, Offset};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use socketioxide::SocketIo;
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::cors::CorsLayer;

pub use protocol::{ConnectionStatus, Filter, RelayClient, RelayClients, RelayStatus};
pub use session::StoredEvents;

use clients::{Gate, Tracked};
use protocol::ShutdownNotice;
use session::{CursorHandle, Head, Limits, Stored};

/// How long a shutdown waits for clients to confirm the shutdown notice (and so everything before it).
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(1);

/// The port the relay listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 41490;

/// The relay's metrics (Prometheus names), recorded through the `metrics` facade.
pub mod metric {
    /// Gauge: clients connected (read when `/metrics` is scraped).
    pub const CLIENTS: &str = "onair_relay_clients";
    /// Counter: events sent to clients, live and replayed (one per client).
    pub const EVENTS_SENT: &str = "onair_relay_events_sent_total";
    /// Counter: resumes started.
    pub const REPLAYS: &str = "onair_relay_replays_total";
    /// Counter: stored events sent by replays.
    pub const REPLAYED_EVENTS: &str = "onair_relay_replayed_events_total";
    /// Counter: positions past the end of the event log, reset to the head (`position:reset`).
    pub const POSITION_RESETS: &str = "onair_relay_position_resets_total";
    /// Counter: requests refused for going over the limits, by `request`.
    pub const RATE_LIMITED: &str = "onair_relay_rate_limited_total";
    /// Counter: clients disconnected for falling behind.
    pub const SLOW_CLIENTS: &str = "onair_relay_slow_clients_total";
    /// Counter: handshakes refused (wrong token, or a throttled address).
    pub const AUTH_REFUSED: &str = "onair_relay_auth_refused_total";
}

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Where to listen: the loopback by default; another address exposes the relay to the network.
    pub addr: SocketAddr,
    /// The token every client must present (`auth: { token }`, or `Authorization: Bearer` over HTTP).
    pub token: SecretString,
    /// Events (packets) a client may have waiting; one more and the client is disconnected, to resume.
    pub client_buffer: usize,
    /// Stored events read per page when a client resumes.
    pub replay_page: u32,
    /// Requests (subscribe, unsubscribe, resume) a client may make per minute; one more is refused with
    /// `rate:limit`.
    pub requests_per_minute: u32,
    /// Of those, replays (a `resume`, or a `subscribe` with `after`: each reads the store) per minute.
    pub resumes_per_minute: u32,
    /// Refused requests after which a client is disconnected.
    pub strikes: u32,
    /// Wrong tokens one address may give per minute; after that it is refused for a while.
    pub wrong_tokens_per_minute: u32,
    /// Renders the process's metrics for `GET /metrics`; `None` answers that metrics are off.
    pub metrics: Option<PrometheusHandle>,
}

impl RelayOptions {
    /// The defaults on the loopback at [`DEFAULT_PORT`], with `token`.
    pub fn new(token: SecretString) -> RelayOptions {
        RelayOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            token,
            client_buffer: 4096,
            replay_page: 500,
            requests_per_minute: 30,
            resumes_per_minute: 6,
            strikes: 10,
            wrong_tokens_per_minute: 10,
            metrics: None,
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

/// What a client sends in the handshake.
#[derive(Deserialize)]
struct Auth {
    token: Option<String>,
}

/// The watched connections' states, as clients are told them.
type StatusBoard = Arc<Mutex<BTreeMap<ConnectionId, ConnectionState>>>;

/// What the HTTP routes read.
#[derive(Clone)]
struct Http {
    io: SocketIo,
    token: SecretString,
    metrics: Option<PrometheusHandle>,
}

/// A running relay.
pub struct Relay {
    io: SocketIo,
    addr: SocketAddr,
    status: StatusBoard,
    head: Head,
    stop: Mutex<Option<oneshot::Sender<Duration>>>,
    server: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Relay {
    /// Listens on `options.addr` and serves until [`Relay::shutdown`]; clients may resume from `stored`.
    pub async fn start(
        options: RelayOptions,
        stored: Option<Arc<dyn StoredEvents>>,
    ) -> Result<Relay, RelayError> {
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
        let gate = Arc::new(Gate::new(options.token.clone(), options.wrong_tokens_per_minute));
        let replay_page = options.replay_page.max(1);
        let limits = options.clone();
        let head = Head::unknown();
        let heads = head.clone();
        // Set when the shutdown begins: connections that arrive during its flush are turned away.
        let closing_down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let refusing = closing_down.clone();
        let check = move |s: SocketRef, TryData(auth): TryData<Auth>| {
            let head = heads.clone();
            let refusing = refusing.clone();
            let gate = gate.clone();
            let stored = stored.clone();
            let limits = limits.clone();
            async move {
                if refusing.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err("the relay is shutting down: connect again in a moment".to_owned());
                }
                let token = auth.ok().and_then(|a| a.token);
                gate.admit(&s, token.as_deref()).await?;
                s.extensions.insert(Tracked::new(&s));
                s.extensions.insert(CursorHandle::default());
                s.extensions.insert(head);
                s.extensions.insert(Limits::new(&limits));
                if let Some(stored) = stored {
                    s.extensions.insert(Stored(stored, replay_page));
                }
                Ok::<(), String>(())
            }
        };
        let status = StatusBoard::default();
        let board = status.clone();
        let connected = move |socket: SocketRef| {
            let now = snapshot(&board);
            async move {
                let _ = socket.emit("status", &now);
                session::on_connect(socket).await;
            }
        };
        io.ns("/", connected.with(check));
        let http = Http {
            io: io.clone(),
            token: options.token.clone(),
            metrics: options.metrics.clone(),
        };
        // Browser sources (OBS) load overlays from files or other origins.
        let app = Router::new()
            .route("/clients", get(clients_route))
            .route("/metrics", get(metrics_route))
            .with_state(http)
            .merge(overlays::routes())
            .layer(layer)
            .layer(CorsLayer::permissive());
        let (stop, stopped) = oneshot::channel::<Duration>();
        let closing = io.clone();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let retry_after = stopped.await.unwrap_or_default();
                    closing_down.store(true, std::sync::atomic::Ordering::SeqCst);
                    // The notice follows every event already queued for a client; its answer (or the bound)
                    // says the client has them all before the connections close.
                    if let Some(all) = closing.of("/") {
                        let notice = ShutdownNotice {
                            retry_after_ms: retry_after.as_millis() as u64,
                        };
                        let answers = all.sockets().into_iter().filter_map(|socket| {
                            socket
                                .timeout(SHUTDOWN_FLUSH)
                                .emit_with_ack::<_, serde_json::Value>("server:shutdown", &notice)
                                .ok()
                        });
                        futures_util::future::join_all(answers).await;
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
            status,
            head,
            stop: Mutex::new(Some(stop)),
            server: tokio::sync::Mutex::new(Some(server)),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many clients are connected.
    pub fn clients(&self) -> usize {
        connected(&self.io)
    }

    /// Every connected client: where from, what it is, what it asked for, since when, how many events.
    pub fn client_list(&self) -> RelayClients {
        clients::list(&self.io)
    }

    /// Sends `event` (committed: it has its offset) to every client whose filter matches. A client whose
    /// buffer is full is disconnected: it reconnects and resumes from its last offset, and never silently
    /// misses an event.
    pub fn publish(&self, event: &Event) {
        let Some(all) = self.io.of("/") else { return };
        let Some(offset) = event.offset else {
            tracing::error!(
                "an event without its offset was published to the relay; it needs a committed event"
            );
            return;
        };
        // The head moves before the clients are looked at (see `subscribe`).
        self.head.reach(offset.0);
        let mut json = None;
        for socket in all.sockets() {
            session::publish_to(&socket, event, offset.0, &mut json);
        }
    }

    /// Tells the relay the offset of the last event committed before it started publishing, so clients
    /// that subscribe before the next event learn where they are (`head` in the answer).
    pub fn set_head(&self, last_committed: Offset) {
        self.head.reach(last_committed.0);
    }

    /// Records that connection `id` is now in `state` and tells every client (`status`, the whole list).
    pub fn set_status(&self, id: &ConnectionId, state: &ConnectionState) {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), state.clone());
        let now = snapshot(&self.status);
        if let Some(all) = self.io.of("/") {
            for socket in all.sockets() {
                let _ = socket.emit("status", &now);
            }
        }
    }

    /// Tells every client the relay is going away (`server:shutdown { retry_after_ms }`), closes their
    /// connections and stops listening. Later calls wait for the first to finish.
    pub async fn shutdown(&self, retry_after: Duration) {
        let stop = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(stop) = stop {
            let _ = stop.send(retry_after);
        }
        let mut server = self.server.lock().await;
        if let Some(task) = server.take()
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the relay's task failed");
        }
    }
}

/// How many clients are connected to `io`.
fn connected(io: &SocketIo) -> usize {
    io.of("/").map_or(0, |all| all.sockets().len())
}

/// The connections' states as the `status` message.
fn snapshot(board: &StatusBoard) -> RelayStatus {
    let board = board.lock().unwrap_or_else(|e| e.into_inner());
    RelayStatus {
        connections: board
            .iter()
            .map(|(id, state)| ConnectionStatus {
                id: id.clone(),
                state: state.clone(),
            })
            .collect(),
    }
}

/// Whether the request carries `Authorization: Bearer TOKEN` with the relay's token (constant time).
fn bearer_ok(headers: &HeaderMap, token: &SecretString) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    bool::from(given.trim().as_bytes().ct_eq(token.expose_secret().as_bytes()))
}

/// The answer to a request without the token.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "unauthorized: send the relay token as `Authorization: Bearer TOKEN` (`onair relay token` prints it)\n",
    )
        .into_response()
}

/// `GET /clients`: every connected client, as JSON.
async fn clients_route(State(http): State<Http>, headers: HeaderMap) -> Response {
    if !bearer_ok(&headers, &http.token) {
        return unauthorized();
    }
    Json(clients::list(&http.io)).into_response()
}

/// `GET /metrics`: the process's metrics in Prometheus' text format.
async fn metrics_route(State(http): State<Http>, headers: HeaderMap) -> Response {
    if !bearer_ok(&headers, &http.token) {
        return unauthorized();
    }
    let Some(handle) = &http.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are off in this OnAir process\n").into_response();
    };
    metrics::gauge!(metric::CLIENTS).set(connected(&http.io) as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_core::{ChannelRef, Empty, Event, EventData, Platform};

    #[test]
    fn a_filter_matches_by_platform_kind_and_channel_slug_or_id() {
        let event = Event::new(
            Platform::Twitch,
            ChannelRef::new("52731608", "nebulacast"),
            EventData::Follow(Empty {}),
        );
        let filter = |json: &str| serde_json::from_str::<Filter>(json).unwrap();
        assert!(filter("{}").matches(&event), "an empty filter takes everything");
        assert!(filter(r#"{"platforms": ["twitch"], "kinds": ["follow", "raid"]}"#).matches(&event));
        assert!(
            filter(r#"{"channels": ["NebulaCast"]}"#).matches(&event),
            "slugs ignore case"
        );
        assert!(
            filter(r#"{"channels": ["52731608"]}"#).matches(&event),
            "or the platform's id"
        );
        assert!(!filter(r#"{"platforms": ["kick"]}"#).matches(&event));
        assert!(!filter(r#"{"kinds": ["raid"]}"#).matches(&event));
        assert!(!filter(r#"{"channels": ["other"]}"#).matches(&event));
        assert!(
            serde_json::from_str::<Filter>(r#"{"kinds": ["nope"]}"#).is_err(),
            "an unknown kind is refused"
        );
    }
}
