//! A small stateful fake Discord on loopback, for tests (this crate's, the Gateway client's and the CLI's
//! end-to-end ones). One port serves the REST calls a bot makes before connecting (`/api/v10/gateway/bot`,
//! `/users/@me`, `/users/@me/guilds`, `/guilds/{id}`, `/guilds/{id}/channels`) and the Gateway itself at
//! `/gateway` and `/resume` (JSON text frames, or zlib-stream with one compressor per connection).
//!
//! It owns what Discord keeps between connections: the sessions (each with the log of its dispatches, so a
//! Resume replays what was missed, including events dispatched while no connection was attached), the
//! session start limit, the identify pacing per `max_concurrency` bucket and the 120-commands-per-60-s
//! limit per connection; and what Discord answers: Hello, Heartbeat ACK, READY, RESUMED, Invalid Session
//! and the close codes for a wrong token (4004), a wrong shard (4010), a second Identify (4005), a command
//! before Identify (4003), too many commands (4008), a resume past the session's sequence (4007).
//!
//! A test drives it with controls aimed at a shard (dispatch an event to a guild, pause heartbeat ACKs, ask
//! for a heartbeat, Reconnect, Invalid Session, close with a code, drop the TCP connection, refuse the
//! resume URL) and observes what the client did ([`GatewayServer::log`], [`GatewayServer::connections`],
//! the violations), waiting for a condition with [`GatewayServer::wait_until`] rather than sleeping. All
//! times are `tokio::time::Instant`s, so it works under a paused clock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use flate2::{Compress, Compression, FlushCompress};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The bot's user id, which is also its application id.
const BOT_ID: &str = "1379067022540931072";
/// Identifies in one `max_concurrency` bucket must be this far apart.
const IDENTIFY_WINDOW: Duration = Duration::from_secs(5);
/// The command limit's window and its size.
const RATE_WINDOW: Duration = Duration::from_secs(60);
const RATE_LIMIT: usize = 120;
/// The largest command Discord accepts (bigger: close 4002).
const MAX_COMMAND: usize = 4096;
/// The end of every zlib-stream message (a sync flush).
const SUFFIX: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// How the server behaves; [`Default`] is one shard, Discord's limits and a token of `test-token`.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The bot token REST calls, Identify and Resume must carry.
    pub token: String,
    /// The interval Hello announces.
    pub heartbeat_interval: Duration,
    /// The recommended shard count `/gateway/bot` announces; Identify must use exactly this many.
    pub shards: u32,
    /// Identifies allowed per 5 s per bucket (`shard_id % max_concurrency`).
    pub max_concurrency: u32,
    /// `session_start_limit.total`.
    pub session_start_total: u32,
    /// Identifies left before the server answers every Identify with Invalid Session.
    pub session_start_remaining: u32,
    /// `session_start_limit.reset_after`.
    pub reset_after: Duration,
    /// With zlib-stream, send each message as two binary frames (to exercise the client's buffering).
    pub split_frames: bool,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            token: "test-token".to_owned(),
            heartbeat_interval: Duration::from_millis(41_250),
            shards: 1,
            max_concurrency: 1,
            session_start_total: 1000,
            session_start_remaining: 1000,
            reset_after: Duration::from_secs(24 * 60 * 60),
            split_frames: false,
        }
    }
}

/// One command the server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The connection's index in [`GatewayServer::connections`].
    pub connection: usize,
    /// The shard: the one an Identify asks for, the resumed session's, else the connection's (if known).
    pub shard: Option<u32>,
    /// The connection's path (`/gateway/`, `/resume/`).
    pub path: String,
    /// The connection's query string (`v=10&encoding=json&compress=zlib-stream`).
    pub query: String,
    /// When it arrived.
    pub at: Instant,
    /// Its opcode.
    pub op: u8,
    /// Its data as sent (`Value::Null` when absent).
    pub d: Value,
}

/// One WebSocket connection, open or ended.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Its index in [`GatewayServer::connections`].
    pub id: usize,
    /// The path the client asked for.
    pub path: String,
    /// The query string the client asked for (without `?`).
    pub query: String,
    /// The shard, once an Identify named a valid one or a Resume found its session.
    pub shard: Option<u32>,
    /// When the upgrade completed.
    pub opened_at: Instant,
    /// When it ended (the server closed or dropped it, or the client closed or dropped it).
    pub closed_at: Option<Instant>,
    /// The close code the client sent first (`None` while open, when the client dropped the connection
    /// without one, or when the server closed first; a close frame without a code reads 1005).
    pub client_close: Option<u16>,
    /// The close code the server sent.
    pub server_close: Option<u16>,
    /// Text frames received (commands, valid or not).
    pub commands: usize,
}

/// A session as the server keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// `session-<k>`.
    pub id: String,
    /// Its shard.
    pub shard: u32,
    /// The last sequence number it dispatched (READY is 1).
    pub seq: u64,
    /// False once invalidated (Invalid Session false, close 4007/4009, the client closing with 1000/1001).
    pub valid: bool,
    /// The connection it is attached to, if any.
    pub connection: Option<usize>,
}

/// What a [`GatewayServer::wait_until`] condition looks at: the server's state at one moment.
pub struct ServerView<'a> {
    state: &'a State,
}

impl ServerView<'_> {
    /// Every command received, in order.
    pub fn log(&self) -> &[Received] {
        &self.state.log
    }

    /// Every connection, in the order they opened.
    pub fn connections(&self) -> &[ConnectionInfo] {
        &self.state.connections
    }

    /// How many commands with opcode `op` were received.
    pub fn count(&self, op: u8) -> usize {
        self.state.log.iter().filter(|r| r.op == op).count()
    }

    /// The latest session `shard` identified.
    pub fn session(&self, shard: u32) -> Option<SessionInfo> {
        let index = *self.state.current.get(&shard)?;
        Some(self.state.sessions[index].info())
    }

    /// Whether `shard` has an open connection with a valid session attached (after READY or RESUMED).
    pub fn connected(&self, shard: u32) -> bool {
        self.session(shard)
            .is_some_and(|s| s.valid && s.connection.is_some())
    }
}

/// The fake Discord: REST and Gateway on one loopback port, with its sessions, limits and controls. Dropping
/// it stops the listener and drops every open connection.
pub struct GatewayServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl GatewayServer {
    /// Listens on a free loopback port (`127.0.0.1:0`).
    pub async fn start(options: ServerOptions) -> io::Result<GatewayServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = State::new(options, addr);
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            changed,
        });
        let app = Router::new()
            .route("/api/v10/gateway/bot", get(gateway_bot))
            .route("/api/v10/users/@me", get(current_user))
            .route("/api/v10/users/@me/guilds", get(current_user_guilds))
            .route("/api/v10/guilds/{id}", get(guild))
            .route("/api/v10/guilds/{id}/channels", get(guild_channels))
            .route("/gateway", get(gateway))
            .route("/gateway/", get(gateway))
            .route("/resume", get(resume))
            .route("/resume/", get(resume))
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            // Ends only with an accept error, which a loopback listener does not meet in a test.
            let _ = axum::serve(listener, app).await;
        });
        Ok(GatewayServer { shared, addr, task })
    }

    /// The REST base: `http://127.0.0.1:PORT/api/v10`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v10", self.addr)
    }

    /// The Gateway URL `/gateway/bot` announces: `ws://127.0.0.1:PORT/gateway`.
    pub fn gateway_url(&self) -> String {
        self.shared.lock().gateway_url.clone()
    }

    /// The `resume_gateway_url` READY carries: `ws://127.0.0.1:PORT/resume`.
    pub fn resume_url(&self) -> String {
        self.shared.lock().resume_url.clone()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Announces `addr` instead of its own in the Gateway and resume URLs it gives out (`/gateway/bot`,
    /// READY), so that every Gateway connection goes through whatever listens there (a fault proxy).
    pub fn announce(&self, addr: SocketAddr) {
        self.shared.update(|s| {
            s.gateway_url = gateway_url(addr);
            s.resume_url = resume_url(addr);
        });
    }

    /// Adds a guild the bot is in, with its text channels as `(id, name)`; READY lists it (unavailable) on
    /// its shard and REST answers for it.
    pub fn add_guild(&self, id: &str, name: &str, text_channels: &[(&str, &str)]) {
        let guild = Guild {
            id: id.to_owned(),
            name: name.to_owned(),
            channels: text_channels
                .iter()
                .map(|(id, name)| ((*id).to_owned(), (*name).to_owned()))
                .collect(),
        };
        self.shared.update(|s| s.guilds.push(guild));
    }

    /// Dispatches event `t` with data `d` on the shard of `guild_id`: appended to that shard's latest
    /// session with the next sequence number, and sent if a connection is attached (else a Resume replays
    /// it; if the session was invalidated, it is lost, as with Discord). Returns its sequence number once
    /// it is written (or stored).
    ///
    /// # Panics
    /// When `guild_id` is not a snowflake or its shard never identified.
    pub async fn dispatch(&self, guild_id: &str, t: &str, d: Value) -> u64 {
        let (ack, done) = oneshot::channel();
        let seq = self.shared.update(|s| {
            let shard = crate::shard_for(guild_id, s.options.shards).unwrap_or_else(|| {
                panic!("GatewayServer::dispatch: guild id {guild_id:?} is not a snowflake")
            });
            let Some(&session) = s.current.get(&shard) else {
                panic!(
                    "GatewayServer::dispatch: shard {shard} (of guild {guild_id}) never identified; wait \
                     until it is connected first"
                )
            };
            s.dispatch_to(session, t, d, Some(ack))
        });
        let _ = done.await;
        seq
    }

    /// Stops (or resumes) answering `shard`'s heartbeats with ACKs, to make its connection look zombied.
    pub async fn pause_acks(&self, shard: u32, paused: bool) {
        self.shared.update(|s| {
            if paused {
                s.acks_paused.insert(shard);
            } else {
                s.acks_paused.remove(&shard);
            }
        });
    }

    /// Asks `shard`'s connection for a heartbeat at once (op 1).
    ///
    /// # Panics
    /// When the shard has no open connection.
    pub async fn request_heartbeat(&self, shard: u32) {
        self.to_connection(shard, "request_heartbeat", |s, conn, ack| {
            s.send(conn, json!({"op": 1, "d": null, "s": null, "t": null}), ack);
        })
        .await;
    }

    /// Tells `shard`'s connection to reconnect and resume (op 7); the connection stays open.
    ///
    /// # Panics
    /// When the shard has no open connection.
    pub async fn reconnect(&self, shard: u32) {
        self.to_connection(shard, "reconnect", |s, conn, ack| {
            s.send(conn, json!({"op": 7, "d": null, "s": null, "t": null}), ack);
        })
        .await;
    }

    /// Sends Invalid Session (op 9) with `resumable` to `shard`'s connection, if one is open. When not
    /// resumable, the shard's session is dropped (a later Resume gets Invalid Session false), connected or
    /// not.
    pub async fn invalid_session(&self, shard: u32, resumable: bool) {
        let (ack, done) = oneshot::channel();
        self.shared.update(|s| {
            if let Some(conn) = s.current_connection(shard) {
                let message = json!({"op": 9, "d": resumable, "s": null, "t": null});
                s.send(conn, message, Some(ack));
            }
            if !resumable && let Some(&session) = s.current.get(&shard) {
                s.invalidate(session);
            }
        });
        let _ = done.await;
    }

    /// Closes `shard`'s connection with `code` (4007 and 4009 also drop its session).
    ///
    /// # Panics
    /// When the shard has no open connection.
    pub async fn close(&self, shard: u32, code: u16) {
        self.to_connection(shard, "close", |s, conn, ack| s.server_close(conn, code, ack))
            .await;
    }

    /// Drops `shard`'s TCP connection without a close frame (the session stays resumable).
    ///
    /// # Panics
    /// When the shard has no open connection.
    pub async fn drop_connection(&self, shard: u32) {
        self.to_connection(shard, "drop_connection", |s, conn, ack| {
            if let Some(tx) = s.links[conn].tx.take() {
                let _ = tx.send(Out::Drop(ack));
            }
        })
        .await;
    }

    /// While `refuse` is set, `/resume` answers the upgrade with HTTP 503 (the client must fall back to
    /// the Gateway URL and Identify).
    pub fn refuse_resume_url(&self, refuse: bool) {
        self.shared.update(|s| s.refuse_resume = refuse);
    }

    /// While `hold` is set, a new connection gets no Hello (its client waits for it) and is not listed:
    /// dispatches made meanwhile are surely missed by the client and only reach it as a resume's replay.
    pub fn hold_new_connections(&self, hold: bool) {
        self.shared.update(|s| s.hold_new = hold);
    }

    /// Every command received, in order.
    pub fn log(&self) -> Vec<Received> {
        self.shared.lock().log.clone()
    }

    /// Every connection, in the order they opened.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        self.shared.lock().connections.clone()
    }

    /// Identifies that came sooner than `max_concurrency` allows (each was answered with Invalid Session).
    pub fn identify_violations(&self) -> Vec<String> {
        self.shared.lock().identify_violations.clone()
    }

    /// Connections that sent more than 120 commands within 60 s (each was closed with 4008).
    pub fn rate_violations(&self) -> Vec<String> {
        self.shared.lock().rate_violations.clone()
    }

    /// Identifies left in the session start limit.
    pub fn session_start_remaining(&self) -> u32 {
        self.shared.lock().remaining
    }

    /// Waits until `what` holds; it is checked now and after every change of the server's state (a
    /// command, a connection opening or ending, a control), never by polling. `what` sees the state through
    /// its [`ServerView`] and must not call the server (the state is locked while it runs).
    pub async fn wait_until(&self, what: impl Fn(&ServerView<'_>) -> bool) {
        self.wait_for(|view| what(view).then_some(())).await;
    }

    /// Waits until `count` commands with opcode `op` have been received; returns the `count`-th.
    pub async fn wait_for_op(&self, op: u8, count: usize) -> Received {
        self.wait_for(|view| {
            view.log()
                .iter()
                .filter(|r| r.op == op)
                .nth(count.saturating_sub(1))
                .cloned()
        })
        .await
    }

    /// Waits until `what` returns something, checked as in [`GatewayServer::wait_until`].
    async fn wait_for<T>(&self, what: impl Fn(&ServerView<'_>) -> Option<T>) -> T {
        let mut changed = self.shared.changed.subscribe();
        loop {
            changed.borrow_and_update();
            if let Some(found) = what(&ServerView {
                state: &self.shared.lock(),
            }) {
                return found;
            }
            if changed.changed().await.is_err() {
                unreachable!("the server's change signal lives as long as the server");
            }
        }
    }

    /// Runs `act` on `shard`'s open connection and waits until its message is written.
    async fn to_connection(&self, shard: u32, control: &str, act: impl FnOnce(&mut State, usize, Ack)) {
        let (ack, done) = oneshot::channel();
        self.shared.update(|s| {
            let Some(conn) = s.current_connection(shard) else {
                panic!(
                    "GatewayServer::{control}: shard {shard} has no open connection; wait until it is \
                     connected first"
                )
            };
            act(s, conn, Some(ack));
        });
        let _ = done.await;
    }
}

impl Drop for GatewayServer {
    fn drop(&mut self) {
        self.task.abort();
        let mut state = self.shared.lock();
        for link in &mut state.links {
            if let Some(tx) = link.tx.take() {
                let _ = tx.send(Out::Drop(None));
            }
        }
    }
}

fn gateway_url(addr: SocketAddr) -> String {
    format!("ws://{addr}/gateway")
}

fn resume_url(addr: SocketAddr) -> String {
    format!("ws://{addr}/resume")
}

/// The bot's user object, as READY and `/users/@me` give it.
fn bot_user() -> Value {
    json!({
        "id": BOT_ID, "username": "onair-bot", "global_name": null, "discriminator": "0", "avatar": null,
        "bot": true, "flags": 0, "mfa_enabled": true, "verified": true, "email": null,
    })
}

/// Fired once a message to a connection is written (dropped if the connection ended first).
type Ack = Option<oneshot::Sender<()>>;

/// What a connection's task is asked to do.
enum Out {
    /// Write this message.
    Send(String, Ack),
    /// Send a close frame with this code, then only read until the client ends.
    Close(u16, Ack),
    /// Drop the TCP connection.
    Drop(Ack),
}

/// The state and a signal fired after every change of it.
struct Shared {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the state, then wakes every waiter.
    fn update<R>(&self, change: impl FnOnce(&mut State) -> R) -> R {
        let result = change(&mut self.lock());
        self.changed.send_modify(|n| *n += 1);
        result
    }
}

struct Guild {
    id: String,
    name: String,
    channels: Vec<(String, String)>,
}

/// A connection's side of the state.
struct Link {
    /// To its task; `None` once the server closed or dropped it, or it ended.
    tx: Option<mpsc::UnboundedSender<Out>>,
    /// The session attached to it.
    session: Option<usize>,
    /// When its commands of the last 60 s arrived.
    recent: VecDeque<Instant>,
    /// Its end was recorded.
    ended: bool,
}

struct Session {
    id: String,
    shard: u32,
    seq: u64,
    /// Every dispatch with its sequence number, as sent.
    events: Vec<(u64, String)>,
    valid: bool,
    connection: Option<usize>,
}

impl Session {
    fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id.clone(),
            shard: self.shard,
            seq: self.seq,
            valid: self.valid,
            connection: self.connection,
        }
    }
}

struct State {
    options: ServerOptions,
    gateway_url: String,
    resume_url: String,
    remaining: u32,
    /// When `remaining` is back to the total.
    reset_at: Instant,
    refuse_resume: bool,
    hold_new: bool,
    guilds: Vec<Guild>,
    log: Vec<Received>,
    connections: Vec<ConnectionInfo>,
    links: Vec<Link>,
    sessions: Vec<Session>,
    /// Each shard's latest session.
    current: HashMap<u32, usize>,
    acks_paused: HashSet<u32>,
    /// The last accepted Identify of each `max_concurrency` bucket.
    last_identify: HashMap<u32, Instant>,
    identify_violations: Vec<String>,
    rate_violations: Vec<String>,
}

impl State {
    fn new(options: ServerOptions, addr: SocketAddr) -> State {
        State {
            remaining: options.session_start_remaining,
            reset_at: Instant::now() + options.reset_after,
            options,
            gateway_url: gateway_url(addr),
            resume_url: resume_url(addr),
            refuse_resume: false,
            hold_new: false,
            guilds: Vec::new(),
            log: Vec::new(),
            connections: Vec::new(),
            links: Vec::new(),
            sessions: Vec::new(),
            current: HashMap::new(),
            acks_paused: HashSet::new(),
            last_identify: HashMap::new(),
            identify_violations: Vec::new(),
            rate_violations: Vec::new(),
        }
    }

    /// Records a new connection and queues its Hello.
    fn open(&mut self, path: String, query: String, tx: mpsc::UnboundedSender<Out>) -> usize {
        let id = self.connections.len();
        self.connections.push(ConnectionInfo {
            id,
            path,
            query,
            shard: None,
            opened_at: Instant::now(),
            closed_at: None,
            client_close: None,
            server_close: None,
            commands: 0,
        });
        self.links.push(Link {
            tx: Some(tx),
            session: None,
            recent: VecDeque::new(),
            ended: false,
        });
        let interval = self.options.heartbeat_interval.as_millis() as u64;
        let hello = json!({"op": 10, "d": {"heartbeat_interval": interval}, "s": null, "t": null});
        self.send(id, hello, None);
        id
    }

    /// The latest open connection of `shard`.
    fn current_connection(&self, shard: u32) -> Option<usize> {
        (0..self.connections.len())
            .rev()
            .find(|&i| self.connections[i].shard == Some(shard) && self.links[i].tx.is_some())
    }

    /// Queues a message to a connection (nothing if it is closed).
    fn send(&self, conn: usize, message: Value, ack: Ack) {
        self.send_text(conn, message.to_string(), ack);
    }

    fn send_text(&self, conn: usize, text: String, ack: Ack) {
        if let Some(tx) = &self.links[conn].tx {
            let _ = tx.send(Out::Send(text, ack));
        }
    }

    /// Appends a dispatch to a session and sends it if a connection is attached; returns its sequence.
    fn dispatch_to(&mut self, session: usize, t: &str, d: Value, ack: Ack) -> u64 {
        let session = &mut self.sessions[session];
        session.seq += 1;
        let seq = session.seq;
        let text = json!({"op": 0, "s": seq, "t": t, "d": d}).to_string();
        session.events.push((seq, text.clone()));
        if let Some(conn) = session.connection {
            self.send_text(conn, text, ack);
        }
        seq
    }

    /// Detaches a connection's session.
    fn detach(&mut self, conn: usize) {
        if let Some(session) = self.links[conn].session.take()
            && self.sessions[session].connection == Some(conn)
        {
            self.sessions[session].connection = None;
        }
    }

    /// Drops a session: a Resume of it gets Invalid Session false.
    fn invalidate(&mut self, session: usize) {
        self.sessions[session].valid = false;
        if let Some(conn) = self.sessions[session].connection.take() {
            self.links[conn].session = None;
        }
    }

    /// Closes a connection from the server's side with `code` (4007 and 4009 drop its session).
    fn server_close(&mut self, conn: usize, code: u16, ack: Ack) {
        let Some(tx) = self.links[conn].tx.take() else {
            return;
        };
        let _ = tx.send(Out::Close(code, ack));
        let info = &mut self.connections[conn];
        info.server_close = Some(code);
        info.closed_at.get_or_insert_with(Instant::now);
        let session = self.links[conn].session;
        self.detach(conn);
        if let (Some(session), 4007 | 4009) = (session, code) {
            self.invalidate(session);
        }
    }

    /// Records the end of a connection; a client closing first with 1000 or 1001 drops its session.
    fn ended(&mut self, conn: usize, client_close: Option<u16>) {
        let link = &mut self.links[conn];
        if link.ended {
            return;
        }
        link.ended = true;
        link.tx = None;
        let info = &mut self.connections[conn];
        info.closed_at.get_or_insert_with(Instant::now);
        if info.server_close.is_none() {
            info.client_close = client_close;
            if let (Some(1000 | 1001), Some(session)) = (client_close, self.links[conn].session) {
                self.invalidate(session);
            }
        }
        self.detach(conn);
    }

    /// Handles one text frame from a connection.
    fn command(&mut self, conn: usize, text: &str, now: Instant) {
        self.connections[conn].commands += 1;
        let recent = &mut self.links[conn].recent;
        recent.push_back(now);
        while recent
            .front()
            .is_some_and(|&first| now.duration_since(first) >= RATE_WINDOW)
        {
            recent.pop_front();
        }
        let in_window = recent.len();
        if text.len() > MAX_COMMAND {
            return self.server_close(conn, 4002, None);
        }
        let Some((op, d)) = serde_json::from_str::<Value>(text).ok().and_then(|v| {
            let op = u8::try_from(v.get("op")?.as_u64()?).ok()?;
            Some((op, v.get("d").cloned().unwrap_or(Value::Null)))
        }) else {
            return self.server_close(conn, 4002, None);
        };
        let shard = match op {
            2 => match &d["shard"] {
                Value::Null => Some(0),
                shard => shard[0].as_u64().and_then(|s| u32::try_from(s).ok()),
            },
            6 => d["session_id"]
                .as_str()
                .and_then(|id| self.sessions.iter().find(|s| s.id == id))
                .map(|s| s.shard),
            _ => None,
        }
        .or(self.connections[conn].shard);
        let info = &self.connections[conn];
        self.log.push(Received {
            connection: conn,
            shard,
            path: info.path.clone(),
            query: info.query.clone(),
            at: now,
            op,
            d: d.clone(),
        });
        if in_window > RATE_LIMIT {
            self.rate_violations.push(format!(
                "connection {conn} (shard {}): {in_window} commands within 60 s (the limit is {RATE_LIMIT})",
                shard.map_or("unknown".to_owned(), |s| s.to_string()),
            ));
            return self.server_close(conn, 4008, None);
        }
        match op {
            1 => {
                let paused = self.connections[conn]
                    .shard
                    .is_some_and(|s| self.acks_paused.contains(&s));
                if !paused {
                    self.send(conn, json!({"op": 11}), None);
                }
            }
            2 => self.identify(conn, &d, now),
            6 => self.resume(conn, &d),
            _ if self.links[conn].session.is_none() => self.server_close(conn, 4003, None),
            // Presence Update, Voice State Update, Request Guild Members, Request Soundboard Sounds,
            // Request Channel Info: accepted and only logged.
            3 | 4 | 8 | 31 | 43 => {}
            _ => self.server_close(conn, 4001, None),
        }
    }

    fn identify(&mut self, conn: usize, d: &Value, now: Instant) {
        if self.links[conn].session.is_some() {
            return self.server_close(conn, 4005, None);
        }
        let Some(token) = d["token"].as_str() else {
            return self.server_close(conn, 4001, None);
        };
        if token != self.options.token {
            return self.server_close(conn, 4004, None);
        }
        let (id, count) = match &d["shard"] {
            Value::Null => (0, 1),
            shard => match (shard[0].as_u64(), shard[1].as_u64()) {
                (Some(id), Some(count)) => (id, count),
                _ => return self.server_close(conn, 4001, None),
            },
        };
        let shards = self.options.shards;
        let Some(id) = u32::try_from(id)
            .ok()
            .filter(|&id| count == u64::from(shards) && id < shards)
        else {
            return self.server_close(conn, 4010, None);
        };
        self.connections[conn].shard = Some(id);
        let invalid = json!({"op": 9, "d": false, "s": null, "t": null});
        if now >= self.reset_at {
            self.remaining = self.options.session_start_total;
            self.reset_at = now + Duration::from_secs(24 * 60 * 60);
        }
        if self.remaining == 0 {
            self.identify_violations.push(format!(
                "connection {conn}: Identify for shard {id} with no session starts left"
            ));
            return self.send(conn, invalid, None);
        }
        let bucket = id % self.options.max_concurrency.max(1);
        if let Some(&last) = self.last_identify.get(&bucket) {
            let since = now.duration_since(last);
            if since < IDENTIFY_WINDOW {
                self.identify_violations.push(format!(
                    "connection {conn}: Identify for shard {id} (bucket {bucket}) {since:?} after the previous \
                     one in that bucket; max_concurrency {} allows one per 5 s",
                    self.options.max_concurrency,
                ));
                return self.send(conn, invalid, None);
            }
        }
        self.last_identify.insert(bucket, now);
        self.remaining -= 1;
        let index = self.sessions.len();
        let session_id = format!("session-{}", index + 1);
        let guilds: Vec<Value> = self
            .guilds
            .iter()
            .filter(|g| crate::shard_for(&g.id, shards) == Some(id))
            .map(|g| json!({"id": g.id, "unavailable": true}))
            .collect();
        let ready = json!({
            "v": 10, "user": bot_user(), "guilds": guilds, "session_id": session_id,
            "resume_gateway_url": self.resume_url, "shard": [id, shards],
            "application": {"id": BOT_ID, "flags": 0},
        });
        self.sessions.push(Session {
            id: session_id,
            shard: id,
            seq: 0,
            events: Vec::new(),
            valid: true,
            connection: Some(conn),
        });
        self.links[conn].session = Some(index);
        self.current.insert(id, index);
        self.dispatch_to(index, "READY", ready, None);
    }

    fn resume(&mut self, conn: usize, d: &Value) {
        if self.links[conn].session.is_some() {
            return self.server_close(conn, 4005, None);
        }
        let (Some(token), Some(session_id)) = (d["token"].as_str(), d["session_id"].as_str()) else {
            return self.server_close(conn, 4001, None);
        };
        if token != self.options.token {
            return self.server_close(conn, 4004, None);
        }
        let seq = d["seq"].as_u64().unwrap_or(0);
        let Some(index) = self.sessions.iter().position(|s| s.id == session_id && s.valid) else {
            return self.send(conn, json!({"op": 9, "d": false, "s": null, "t": null}), None);
        };
        if seq > self.sessions[index].seq {
            self.links[conn].session = Some(index);
            return self.server_close(conn, 4007, None);
        }
        if let Some(old) = self.sessions[index].connection {
            self.links[old].session = None;
        }
        self.sessions[index].connection = Some(conn);
        self.links[conn].session = Some(index);
        self.connections[conn].shard = Some(self.sessions[index].shard);
        let missed: Vec<String> = self.sessions[index]
            .events
            .iter()
            .filter(|(s, _)| *s > seq)
            .map(|(_, text)| text.clone())
            .collect();
        for text in missed {
            self.send_text(conn, text, None);
        }
        self.dispatch_to(index, "RESUMED", json!({"_trace": ["onair-test-server"]}), None);
    }
}

/// One connection's task: writes what the state queues, hands each command to the state.
async fn run_connection(shared: Arc<Shared>, mut socket: WebSocket, path: String, query: String) {
    let mut changes = shared.changed.subscribe();
    while shared.lock().hold_new {
        if changes.changed().await.is_err() {
            return;
        }
    }
    let zlib = query.split('&').any(|pair| pair == "compress=zlib-stream");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (conn, split) = shared.update(|s| (s.open(path, query, tx), s.options.split_frames));
    let mut writer = Writer {
        zlib: zlib.then(|| Compress::new(Compression::default(), true)),
        split,
    };
    let mut closing = false;
    loop {
        tokio::select! {
            out = rx.recv(), if !closing => match out {
                Some(Out::Send(text, ack)) => {
                    if writer.send(&mut socket, &text).await.is_err() {
                        break;
                    }
                    if let Some(ack) = ack {
                        let _ = ack.send(());
                    }
                }
                Some(Out::Close(code, ack)) => {
                    let frame = CloseFrame { code, reason: close_reason(code).into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    closing = true;
                    if let Some(ack) = ack {
                        let _ = ack.send(());
                    }
                }
                Some(Out::Drop(ack)) => {
                    drop(socket);
                    shared.update(|s| s.ended(conn, None));
                    if let Some(ack) = ack {
                        let _ = ack.send(());
                    }
                    return;
                }
                None => break,
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) if !closing => {
                    let now = Instant::now();
                    shared.update(|s| s.command(conn, text.as_str(), now));
                }
                // JSON encoding takes text only: a decode error.
                Some(Ok(Message::Binary(_))) if !closing => {
                    shared.update(|s| s.server_close(conn, 4002, None));
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or(1005, |f| f.code);
                    shared.update(|s| s.ended(conn, Some(code)));
                    // Lets axum write its answering close frame, until the client ends the connection.
                    while let Some(Ok(_)) = socket.recv().await {}
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
        }
    }
    shared.update(|s| s.ended(conn, None));
}

/// Discord's reason text for the close codes the server sends.
fn close_reason(code: u16) -> &'static str {
    match code {
        4000 => "Unknown error",
        4001 => "Unknown opcode",
        4002 => "Decode error",
        4003 => "Not authenticated",
        4004 => "Authentication failed",
        4005 => "Already authenticated",
        4007 => "Invalid seq",
        4008 => "Rate limited",
        4009 => "Session timed out",
        4010 => "Invalid shard",
        _ => "",
    }
}

/// Writes messages to one connection: text frames, or zlib-stream binary frames from one compressor.
struct Writer {
    zlib: Option<Compress>,
    split: bool,
}

impl Writer {
    async fn send(&mut self, socket: &mut WebSocket, text: &str) -> io::Result<()> {
        let Some(zlib) = &mut self.zlib else {
            return socket
                .send(Message::Text(text.to_owned().into()))
                .await
                .map_err(io::Error::other);
        };
        let bytes = deflate(zlib, text.as_bytes())?;
        let mut frames = vec![bytes];
        if self.split {
            let mut bytes = frames.remove(0);
            let mut middle = bytes.len() / 2;
            // The first half must not look like a whole message.
            if bytes[..middle].ends_with(&SUFFIX) {
                middle += 1;
            }
            let second = bytes.split_off(middle);
            frames = vec![bytes, second];
        }
        for frame in frames {
            socket
                .send(Message::Binary(Bytes::from(frame)))
                .await
                .map_err(io::Error::other)?;
        }
        Ok(())
    }
}

/// Compresses one message into the connection's stream, ending with a sync flush (`00 00 ff ff`).
/// `compress_vec` writes only into spare capacity, so it loops until zlib leaves room unused.
fn deflate(zlib: &mut Compress, input: &[u8]) -> io::Result<Vec<u8>> {
    let start = zlib.total_in();
    let mut out = Vec::with_capacity(input.len() + 64);
    loop {
        let read = (zlib.total_in() - start) as usize;
        zlib.compress_vec(&input[read..], &mut out, FlushCompress::Sync)
            .map_err(io::Error::other)?;
        let read = (zlib.total_in() - start) as usize;
        if read >= input.len() && out.len() < out.capacity() {
            return Ok(out);
        }
        out.reserve(out.capacity().max(64));
    }
}

fn authorized(state: &State, headers: &HeaderMap) -> bool {
    let expected = format!("Bot {}", state.options.token);
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        == Some(expected.as_str())
}

fn unauthorized() -> Response {
    let body = json!({"message": "401: Unauthorized", "code": 0});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

fn unknown_guild() -> Response {
    let body = json!({"message": "Unknown Guild", "code": 10004});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

async fn gateway_bot(AxumState(shared): AxumState<Arc<Shared>>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let options = &state.options;
    Json(json!({
        "url": state.gateway_url,
        "shards": options.shards,
        "session_start_limit": {
            "total": options.session_start_total,
            "remaining": state.remaining,
            "reset_after": state.reset_at.saturating_duration_since(Instant::now()).as_millis() as u64,
            "max_concurrency": options.max_concurrency,
        },
    }))
    .into_response()
}

async fn current_user(AxumState(shared): AxumState<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(&shared.lock(), &headers) {
        return unauthorized();
    }
    Json(bot_user()).into_response()
}

async fn guild(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let state = shared.lock();
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    match state.guilds.iter().find(|g| g.id == id) {
        Some(g) => Json(json!({"id": g.id, "name": g.name})).into_response(),
        None => unknown_guild(),
    }
}

async fn current_user_guilds(AxumState(shared): AxumState<Arc<Shared>>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let guilds: Vec<Value> = state
        .guilds
        .iter()
        .map(|g| json!({"id": g.id, "name": g.name, "owner": false, "permissions": "1024"}))
        .collect();
    Json(guilds).into_response()
}

async fn guild_channels(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let state = shared.lock();
    if !authorized(&state, &headers) {
        return unauthorized();
    }
    let Some(g) = state.guilds.iter().find(|g| g.id == id) else {
        return unknown_guild();
    };
    let channels: Vec<Value> = g
        .channels
        .iter()
        .map(|(channel, name)| json!({"id": channel, "name": name, "type": 0, "guild_id": g.id}))
        .collect();
    Json(channels).into_response()
}

async fn gateway(AxumState(shared): AxumState<Arc<Shared>>, uri: Uri, upgrade: WebSocketUpgrade) -> Response {
    accept(shared, &uri, upgrade)
}

async fn resume(AxumState(shared): AxumState<Arc<Shared>>, uri: Uri, upgrade: WebSocketUpgrade) -> Response {
    if shared.lock().refuse_resume {
        return (StatusCode::SERVICE_UNAVAILABLE, "resume URL refused by the test").into_response();
    }
    accept(shared, &uri, upgrade)
}

fn accept(shared: Arc<Shared>, uri: &Uri, upgrade: WebSocketUpgrade) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    upgrade.on_upgrade(move |socket| run_connection(shared, socket, path, query))
}
