//! The proxy: a loopback listener that opens one upstream connection per client connection, applies the
//! conditions in force, and keeps each connection's tap.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::{Instant, timeout};

use crate::conditions::{Conditions, Direction};
use crate::error::ProxyError;
use crate::pump;
use crate::schedule::{Playing, Schedule};
use crate::tap::{Traffic, WsFrame};

/// How long a mid-frame cut waits for the server to send a frame to cut inside; then it cuts as things are.
pub(crate) const CUT_WAIT: Duration = Duration::from_millis(300);

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Both sides closed their direction (FIN), and the proxy passed it on.
    Closed,
    /// The proxy cut it with a TCP reset on both sockets; `mid_frame` when the client had received part of
    /// a frame and not the rest.
    Cut {
        /// Whether the client's stream stopped inside a frame.
        mid_frame: bool,
    },
    /// One side failed (a reset, an error, the server unreachable); the proxy reset the other.
    Broken(String),
}

/// A cut asked of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CutKind {
    /// Inside the next frame the server sends (or at once if none comes within [`CUT_WAIT`]).
    MidFrame,
    /// At once.
    Now,
}

#[derive(Default)]
pub(crate) struct TapState {
    pub(crate) frames: Vec<WsFrame>,
    /// Where each of `frames` ends in the server-to-client byte stream.
    pub(crate) frame_ends: Vec<u64>,
    pub(crate) traffic: Traffic,
    pub(crate) end: Option<End>,
}

pub(crate) struct ConnShared {
    pub(crate) id: usize,
    pub(crate) opened_at: Instant,
    pub(crate) conditions: watch::Sender<Conditions>,
    pub(crate) cut: watch::Sender<Option<CutKind>>,
    tap: Mutex<TapState>,
    /// Bumped at every write (bytes, complete frames) and at the end.
    changed: watch::Sender<u64>,
}

impl ConnShared {
    pub(crate) fn tap(&self) -> MutexGuard<'_, TapState> {
        self.tap.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `bytes` written in `direction`; frames the tracker completed go to the tap.
    pub(crate) fn record(
        &self,
        direction: Direction,
        bytes: &[u8],
        tracker: Option<&mut crate::tap::Tracker>,
    ) {
        let length = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        {
            let mut tap = self.tap();
            match direction {
                Direction::Upstream => tap.traffic.upstream += length,
                Direction::Downstream => tap.traffic.downstream += length,
            }
            if let Some(tracker) = tracker {
                let TapState {
                    frames, frame_ends, ..
                } = &mut *tap;
                tracker.feed(bytes, frames, frame_ends);
            }
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Takes back the last `unsent` bytes written to the client: the system still held them when the
    /// connection was reset, so they never reached it (and neither did a frame that ends in them).
    pub(crate) fn withdraw(&self, unsent: u64) {
        if unsent == 0 {
            return;
        }
        let mut tap = self.tap();
        tap.traffic.downstream = tap.traffic.downstream.saturating_sub(unsent);
        let reached = tap.traffic.downstream;
        let kept = tap.frame_ends.partition_point(|&end| end <= reached);
        tap.frames.truncate(kept);
        tap.frame_ends.truncate(kept);
        tracing::debug!(
            connection = self.id,
            unsent,
            "fault proxy: bytes the reset kept from the client"
        );
    }

    pub(crate) fn finish(&self, end: End) {
        tracing::debug!(connection = self.id, ?end, "fault proxy: connection ended");
        self.tap().end = Some(end);
        self.changed.send_modify(|n| *n += 1);
    }
}

/// One proxied connection (cheap to clone): its faults, its cut, its tap.
#[derive(Clone)]
pub struct Connection(pub(crate) Arc<ConnShared>);

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.0.id)
            .field("end", &self.end())
            .finish()
    }
}

impl Connection {
    fn new(id: usize, conditions: Conditions) -> Connection {
        Connection(Arc::new(ConnShared {
            id,
            opened_at: Instant::now(),
            conditions: watch::Sender::new(conditions),
            cut: watch::Sender::new(None),
            tap: Mutex::new(TapState::default()),
            changed: watch::Sender::new(0),
        }))
    }

    /// Its number: 0 for the proxy's first connection, then in the order they arrived.
    pub fn id(&self) -> usize {
        self.0.id
    }

    /// When the client connected.
    pub fn opened_at(&self) -> Instant {
        self.0.opened_at
    }

    /// Puts `conditions` in force on this connection alone (until the next [`FaultProxy::set`]).
    pub fn set(&self, conditions: Conditions) {
        self.0.conditions.send_replace(conditions);
    }

    /// The conditions in force.
    pub fn conditions(&self) -> Conditions {
        self.0.conditions.borrow().clone()
    }

    /// Cuts the connection with a TCP reset on both sockets, inside the next frame the server sends (the
    /// client then holds part of a frame); if none comes within 300 ms, or the way to the client is blocked,
    /// as things are. Returns how it ended (at once if it already had).
    pub async fn cut(&self) -> End {
        if let Some(end) = self.end() {
            return end;
        }
        self.0.cut.send_replace(Some(CutKind::MidFrame));
        match timeout(CUT_WAIT * 2, self.ended()).await {
            Ok(end) => end,
            Err(_) => self.reset().await,
        }
    }

    /// Cuts the connection with a TCP reset on both sockets at once; returns how it ended.
    pub async fn reset(&self) -> End {
        self.0.cut.send_replace(Some(CutKind::Now));
        self.ended().await
    }

    /// The complete WebSocket frames written to the client so far (none if it is not a WebSocket).
    pub fn frames(&self) -> Vec<WsFrame> {
        self.0.tap().frames.clone()
    }

    /// The bytes forwarded so far.
    pub fn traffic(&self) -> Traffic {
        self.0.tap().traffic
    }

    /// How it ended, if it has.
    pub fn end(&self) -> Option<End> {
        self.0.tap().end.clone()
    }

    /// Waits until it ends.
    pub async fn ended(&self) -> End {
        let mut changed = self.0.changed.subscribe();
        loop {
            if let Some(end) = self.end() {
                return end;
            }
            // The sender lives in `self`: `changed` cannot fail.
            let _ = changed.changed().await;
        }
    }

    /// Waits until `what` holds for the bytes forwarded so far (checked now, at every write and at the end).
    pub async fn wait_traffic(&self, what: impl Fn(Traffic) -> bool) -> Traffic {
        let mut changed = self.0.changed.subscribe();
        loop {
            let traffic = self.traffic();
            if what(traffic) {
                return traffic;
            }
            let _ = changed.changed().await;
        }
    }

    /// Waits until `what` holds for the frames written to the client so far (checked now, at every write
    /// and at the end); returns them.
    pub async fn wait_frames(&self, what: impl Fn(&[WsFrame]) -> bool) -> Vec<WsFrame> {
        let mut changed = self.0.changed.subscribe();
        loop {
            {
                let tap = self.0.tap();
                if what(&tap.frames) {
                    return tap.frames.clone();
                }
            }
            let _ = changed.changed().await;
        }
    }
}

pub(crate) struct Shared {
    addr: SocketAddr,
    upstream: SocketAddr,
    seed: u64,
    conditions: Mutex<Conditions>,
    /// Whether new connections are refused (what is asked).
    refuse: watch::Sender<bool>,
    /// Whether the listener is open (what is).
    listening: watch::Sender<bool>,
    connections: Mutex<Vec<Connection>>,
    tasks: Mutex<Vec<AbortHandle>>,
    /// The number of connections accepted so far.
    opened: watch::Sender<usize>,
}

impl Shared {
    fn connections(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.connections.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set(&self, conditions: Conditions) {
        *self.conditions.lock().unwrap_or_else(PoisonError::into_inner) = conditions.clone();
        for connection in self.connections().iter().filter(|c| c.end().is_none()) {
            connection.set(conditions.clone());
        }
    }

    pub(crate) async fn refuse(&self, refuse: bool) {
        self.refuse.send_replace(refuse);
        let mut listening = self.listening.subscribe();
        // The sender lives in `self`.
        let _ = listening.wait_for(|open| *open != refuse).await;
    }

    pub(crate) fn open_connections(&self) -> Vec<Connection> {
        self.connections()
            .iter()
            .filter(|c| c.end().is_none())
            .cloned()
            .collect()
    }
}

/// The fault proxy: listens on a free loopback port and forwards each connection to `upstream`.
/// Dropping it stops the listener and resets every connection still open.
pub struct FaultProxy {
    shared: Arc<Shared>,
    acceptor: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`, with a fixed seed for its randomness
    /// (jitter, write sizes), so a run can be repeated.
    pub async fn start(upstream: SocketAddr) -> Result<FaultProxy, ProxyError> {
        FaultProxy::start_seeded(upstream, 17).await
    }

    /// As [`FaultProxy::start`], with `seed` for its randomness.
    pub async fn start_seeded(upstream: SocketAddr, seed: u64) -> Result<FaultProxy, ProxyError> {
        let wanted = SocketAddr::from(([127, 0, 0, 1], 0));
        let listener = TcpListener::bind(wanted)
            .await
            .map_err(|source| ProxyError::Listen { addr: wanted, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ProxyError::Listen { addr: wanted, source })?;
        let shared = Arc::new(Shared {
            addr,
            upstream,
            seed,
            conditions: Mutex::new(Conditions::default()),
            refuse: watch::Sender::new(false),
            listening: watch::Sender::new(true),
            connections: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            opened: watch::Sender::new(0),
        });
        let acceptor = tokio::spawn(accept_loop(Arc::clone(&shared), listener));
        Ok(FaultProxy { shared, acceptor })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The address it forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// Puts `conditions` in force on every open connection and on the ones to come.
    pub fn set(&self, conditions: Conditions) {
        self.shared.set(conditions);
    }

    /// The conditions new connections get.
    pub fn conditions(&self) -> Conditions {
        self.shared
            .conditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// While `refuse` is set the listener is closed, so connecting fails (`ECONNREFUSED`); connections
    /// already open are not touched. Returns once the listener is closed (or open again).
    pub async fn refuse(&self, refuse: bool) {
        self.shared.refuse(refuse).await;
    }

    /// Cuts every open connection as [`Connection::cut`] does; returns how each ended.
    pub async fn cut_all(&self) -> Vec<End> {
        let open = self.shared.open_connections();
        let mut ends = Vec::with_capacity(open.len());
        for connection in open {
            ends.push(connection.cut().await);
        }
        ends
    }

    /// Every connection so far, in the order they arrived.
    pub fn connections(&self) -> Vec<Connection> {
        self.shared.connections().clone()
    }

    /// The connections still open.
    pub fn open_connections(&self) -> Vec<Connection> {
        self.shared.open_connections()
    }

    /// Waits until the `n`-th connection (counting from 1) has arrived, and returns it.
    pub async fn connection(&self, n: usize) -> Connection {
        let mut opened = self.shared.opened.subscribe();
        // The sender lives in `self`.
        let _ = opened.wait_for(|count| *count >= n).await;
        self.shared.connections()[n.saturating_sub(1)].clone()
    }

    /// Every complete WebSocket frame written to clients, connection after connection.
    pub fn frames(&self) -> Vec<WsFrame> {
        self.connections().iter().flat_map(Connection::frames).collect()
    }

    /// Plays `schedule` from now on (see [`Schedule`]); dropping the returned [`Playing`] stops it.
    pub fn play(&self, schedule: Schedule) -> Playing {
        Playing::start(Arc::clone(&self.shared), schedule)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        for task in self
            .shared
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            task.abort();
        }
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut listener = Some(listener);
    let mut refuse = shared.refuse.subscribe();
    loop {
        let refusing = *refuse.borrow_and_update();
        if refusing && listener.take().is_some() {
            shared.listening.send_replace(false);
        }
        if !refusing && listener.is_none() {
            // The port was ours a moment ago; tokio binds with SO_REUSEADDR, so it is free again at once
            // unless another program took it meanwhile.
            match TcpListener::bind(shared.addr).await {
                Ok(open) => {
                    listener = Some(open);
                    shared.listening.send_replace(true);
                }
                Err(e) => {
                    tracing::warn!(addr = %shared.addr, error = %e, "fault proxy: cannot listen again yet");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            }
        }
        match &listener {
            None => {
                if refuse.changed().await.is_err() {
                    return;
                }
            }
            Some(open) => tokio::select! {
                accepted = open.accept() => match accepted {
                    Ok((client, _)) => {
                        let task = tokio::spawn(serve(Arc::clone(&shared), client));
                        shared.tasks.lock().unwrap_or_else(PoisonError::into_inner).push(task.abort_handle());
                    }
                    Err(e) => tracing::warn!(error = %e, "fault proxy: accept failed"),
                },
                changed = refuse.changed() => if changed.is_err() {
                    return;
                },
            },
        }
    }
}

async fn serve(shared: Arc<Shared>, client: TcpStream) {
    let _ = client.set_nodelay(true);
    let conditions = shared
        .conditions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let connection = {
        let mut connections = shared.connections();
        let connection = Connection::new(connections.len(), conditions);
        connections.push(connection.clone());
        connection
    };
    shared.opened.send_modify(|n| *n += 1);
    let id = connection.id();
    match TcpStream::connect(shared.upstream).await {
        Ok(server) => {
            let _ = server.set_nodelay(true);
            let seed = shared.seed.wrapping_mul(1_000_003).wrapping_add(id as u64);
            pump::run(&connection.0, client, server, seed).await;
        }
        Err(e) => {
            let _ = client.set_zero_linger();
            connection
                .0
                .finish(End::Broken(format!("the server could not be reached: {e}")));
        }
    }
}
