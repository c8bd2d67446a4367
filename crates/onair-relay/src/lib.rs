//! OnAir's relay: a Socket.IO server (socketioxide on axum) on the loopback by default, through which
//! overlays, bots and stream decks receive OnAir's unified events live. This first part owns the server's
//! life (start, the address it listens on, a graceful shutdown that tells clients when to come back),
//! the token check in the handshake (constant time; a bad token is refused with `connect_error`
//! "unauthorized"), the clients' filters (`subscribe` / `unsubscribe`), and the delivery of each published
//! event, in the public JSON form (v1, with its offset), to exactly the clients whose filter it matches.
//! A client too slow to take its events is disconnected rather than silently skipped, so it comes back
//! and resumes from the last offset it has: `resume { after }` replays every matching stored event after
//! that offset, then continues live, with no gap and no duplicate at the seam (live events that arrive
//! during the replay wait in the client's cursor; each is sent once, in offset order). Each client's
//! requests are limited (`rate:limit` when over; disconnected when it keeps on).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use onair_core::{Event, EventKind, Offset, Platform};
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

/// How long a shutdown waits for clients to confirm the shutdown notice (and so everything before it).
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(1);

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
    /// Stored events read per page when a client resumes.
    pub replay_page: u32,
    /// Requests (subscribe, unsubscribe, resume) a client may make per minute; one more is refused with
    /// `rate:limit`.
    pub requests_per_minute: u32,
    /// Of those, resumes (each reads the store) per minute.
    pub resumes_per_minute: u32,
    /// Refused requests after which a client is disconnected.
    pub strikes: u32,
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

/// Where the relay reads stored events, for clients that resume (the hub's store).
#[async_trait]
pub trait StoredEvents: Send + Sync {
    /// Up to `limit` committed events after `after`, oldest first; the error is a sentence for the log.
    async fn after(&self, after: Offset, limit: u32) -> Result<Vec<Event>, String>;
}

/// The stored events, kept on each socket for its resume, with the page size.
#[derive(Clone)]
struct Stored(Arc<dyn StoredEvents>, u32);

/// Where a client is in the event log: the last offset it was sent (or that a replay passed), and while it
/// replays, the live events waiting for the replay to end.
#[derive(Debug, Default)]
struct Cursor {
    delivered: i64,
    replaying: bool,
    waiting: Vec<(i64, String)>,
}

/// A client's cursor, shared by the publisher and its replay.
#[derive(Debug, Clone, Default)]
struct CursorHandle(Arc<Mutex<Cursor>>);

impl CursorHandle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Cursor> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Limiter = governor::RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    governor::clock::DefaultClock,
>;

/// A client's request limits, and how often it ran into them.
#[derive(Clone)]
struct Limits {
    requests: Arc<Limiter>,
    resumes: Arc<Limiter>,
    strikes: Arc<std::sync::atomic::AtomicU32>,
    most_strikes: u32,
}

impl Limits {
    fn new(options: &RelayOptions) -> Limits {
        let per_minute = |n: u32| {
            governor::Quota::per_minute(std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN))
        };
        Limits {
            requests: Arc::new(governor::RateLimiter::direct(per_minute(
                options.requests_per_minute,
            ))),
            resumes: Arc::new(governor::RateLimiter::direct(per_minute(
                options.resumes_per_minute,
            ))),
            strikes: Arc::default(),
            most_strikes: options.strikes,
        }
    }
}

/// Whether `socket` may make a request now (`resume`: also within the resume limit). A refused request is
/// answered with `rate:limit { event, retry_after_ms }` and its ack; a client refused too often is
/// disconnected.
fn allowed(socket: &SocketRef, event: &'static str, ack: AckSender) -> Option<AckSender> {
    let Some(limits) = socket.extensions.get::<Limits>() else {
        return Some(ack);
    };
    let checked = limits.requests.check().and_then(|()| {
        if event == "resume" {
            limits.resumes.check()
        } else {
            Ok(())
        }
    });
    let Err(not_until) = checked else {
        return Some(ack);
    };
    let retry_after = not_until.wait_time_from(governor::clock::Clock::now(
        &governor::clock::DefaultClock::default(),
    ));
    let notice = serde_json::json!({ "event": event, "retry_after_ms": retry_after.as_millis() as u64 });
    let _ = socket.emit("rate:limit", &notice);
    let _ = ack.send(
        &serde_json::json!({ "ok": false, "error": { "code": "rate_limited", "message":
        format!("too many requests: try {event} again in {} ms", retry_after.as_millis()) } }),
    );
    let strikes = limits.strikes.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    if strikes > limits.most_strikes {
        tracing::warn!(client = %socket.id, strikes, "a relay client kept going over its limits; disconnecting it");
        let _ = socket.clone().disconnect();
    }
    None
}

/// `resume`'s request.
#[derive(Debug, Deserialize)]
struct ResumeRequest {
    after: i64,
}

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
        let token = options.token.clone();
        let replay_page = options.replay_page.max(1);
        let limits = options.clone();
        let check = move |s: SocketRef, TryData(auth): TryData<Auth>| {
            let token = token.clone();
            let stored = stored.clone();
            let limits = limits.clone();
            async move {
                authorize(&s, auth.ok().and_then(|a| a.token), &token)?;
                s.extensions.insert(CursorHandle::default());
                s.extensions.insert(Limits::new(&limits));
                if let Some(stored) = stored {
                    s.extensions.insert(Stored(stored, replay_page));
                }
                Ok::<(), &'static str>(())
            }
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
                    // The notice follows every event already queued for a client; its answer (or the bound)
                    // says the client has them all before the connections close.
                    if let Some(all) = closing.of("/") {
                        let notice = serde_json::json!({ "retry_after_ms": retry_after.as_millis() as u64 });
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
        let Some(offset) = event.offset else {
            tracing::error!(
                "an event without its offset was published to the relay; it needs a committed event"
            );
            return;
        };
        let mut json: Option<String> = None;
        for socket in all.sockets() {
            let (Some(Subscribed(filter)), Some(cursor)) = (
                socket.extensions.get::<Subscribed>(),
                socket.extensions.get::<CursorHandle>(),
            ) else {
                continue;
            };
            if !filter.matches(event) {
                continue;
            }
            let json = json.get_or_insert_with(|| event.to_json_line());
            let mut cursor = cursor.lock();
            if cursor.replaying {
                cursor.waiting.push((offset.0, json.clone()));
            } else if offset.0 > cursor.delivered && send(&socket, json) {
                cursor.delivered = offset.0;
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

/// Sends one event's JSON to `socket`; `false` when it did not go (a client that fell behind is
/// disconnected, so it resumes instead of silently missing events).
fn send(socket: &SocketRef, json: &str) -> bool {
    let raw = match RawValue::from_string(json.to_owned()) {
        Ok(raw) => raw,
        Err(e) => {
            tracing::error!(error = %e, "an event could not be encoded for the relay");
            return false;
        }
    };
    match socket.emit("event", &raw) {
        Ok(()) => true,
        Err(SendError::Socket(SocketError::InternalChannelFull)) => {
            tracing::warn!(client = %socket.id, "a relay client fell behind; disconnecting it so it resumes");
            let _ = socket.clone().disconnect();
            false
        }
        Err(e) => {
            tracing::debug!(client = %socket.id, error = %e, "an event did not reach a relay client");
            false
        }
    }
}

/// `resume { after }`: every stored event after `after` that matches the client's filter, then what was
/// published meanwhile (each once, in order), then `replay:done { last_offset }`; live from then on.
async fn resume(socket: SocketRef, TryData(request): TryData<ResumeRequest>, ack: AckSender) {
    let Some(ack) = allowed(&socket, "resume", ack) else {
        return;
    };
    let refuse = |code: &'static str, message: String, ack: AckSender| {
        let failure = RelayFailure { code, message };
        let _ = socket.emit("error", &failure);
        let _ = ack.send(&serde_json::json!({ "ok": false, "error": failure }));
    };
    let after = match request {
        Ok(request) => request.after.max(0),
        Err(e) => {
            return refuse(
                "bad_request",
                format!("resume takes {{ after: OFFSET }}: {e}"),
                ack,
            );
        }
    };
    let (Some(Subscribed(filter)), Some(cursor)) = (
        socket.extensions.get::<Subscribed>(),
        socket.extensions.get::<CursorHandle>(),
    ) else {
        return refuse(
            "not_subscribed",
            "subscribe first: resume replays what the filter matches".into(),
            ack,
        );
    };
    let Some(Stored(stored, page_size)) = socket.extensions.get::<Stored>() else {
        return refuse(
            "unavailable",
            "this relay keeps no stored events to replay".into(),
            ack,
        );
    };
    {
        let mut cursor = cursor.lock();
        if cursor.replaying {
            drop(cursor);
            return refuse("busy", "a replay is under way: wait for replay:done".into(), ack);
        }
        cursor.replaying = true;
        cursor.delivered = after;
        cursor.waiting.clear();
    }
    let _ = ack.send(&serde_json::json!({ "ok": true }));
    let mut position = after;
    loop {
        let page = match stored.after(Offset(position), page_size).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(client = %socket.id, error = %e, "a replay could not read the stored events");
                let failure = RelayFailure {
                    code: "replay_failed",
                    message: format!("the stored events could not be read ({e}); resume again"),
                };
                let _ = socket.emit("error", &failure);
                break;
            }
        };
        let Some(last) = page.last().and_then(|e| e.offset) else {
            break;
        };
        for event in &page {
            if filter.matches(event) && !send(&socket, &event.to_json_line()) {
                return;
            }
        }
        position = last.0;
        cursor.lock().delivered = position;
    }
    // What was published during the replay and is past it, in order; then live.
    let mut cursor = cursor.lock();
    let mut waiting = std::mem::take(&mut cursor.waiting);
    waiting.sort_by_key(|(offset, _)| *offset);
    for (offset, json) in waiting {
        if offset > cursor.delivered && send(&socket, &json) {
            cursor.delivered = offset;
        }
    }
    cursor.replaying = false;
    let _ = socket.emit(
        "replay:done",
        &serde_json::json!({ "last_offset": cursor.delivered }),
    );
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
    socket.on("resume", resume);
    socket.on("unsubscribe", async |socket: SocketRef, ack: AckSender| {
        let Some(ack) = allowed(&socket, "unsubscribe", ack) else {
            return;
        };
        socket.extensions.remove::<Subscribed>();
        let _ = ack.send(&serde_json::json!({ "ok": true }));
    });
}

/// `subscribe { platforms?, kinds?, channels? }`: the filter in force from now on, echoed in the ack.
async fn subscribe(socket: SocketRef, TryData(filter): TryData<Filter>, ack: AckSender) {
    let Some(ack) = allowed(&socket, "subscribe", ack) else {
        return;
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use onair_core::{ChannelRef, Empty, EventData};

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
