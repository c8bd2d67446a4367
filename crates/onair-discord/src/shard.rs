//! One Gateway shard, kept up on its own. It owns the connection's life: open the socket with the query
//! parameters (`?v=10&encoding=json&compress=zlib-stream`, never lost on a reconnect) and one inflater;
//! Hello, then a heartbeat after `interval x jitter` and every interval after; a heartbeat that was not
//! acknowledged before the next is due marks a zombie connection, closed with 4000 (keeping the session)
//! and resumed; a heartbeat request answered at once; Identify (in its turn at the [`IdentifyGate`]) or
//! Resume with the last sequence on the `resume_gateway_url` Ready gave; when the resume address refuses
//! the upgrade, or cannot be reached three attempts in a row, and the main one can, a new session there; Reconnect (op 7) resumed; Invalid Session
//! resumed or, when not resumable, a new session after 1 to 5 s; each close code's class (resume,
//! new session, or stop with a reason); backoff with jitter between attempts; outgoing commands paced
//! under the 120 per 60 s limit. Every recorded dispatch goes to the sink, waiting when it is full.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use onair_core::{ConnectionState, EventSink, LiveConnection, StatePublisher, StateReader, state_channel};
use onair_pusher::{Next, Outage};
use secrecy::SecretString;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::close::{AfterClose, after_close};
use crate::config::{DiscordConfig, gateway_query};
use crate::events::{self, Watched};
use crate::frame::{self, Hello, Opcode, Payload, Sequence};
use crate::inflate::ZlibStream;
use crate::limits::{CommandLimiter, IdentifyGate};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Commands callers may have waiting to be sent; more are refused.
const COMMAND_QUEUE: usize = 1000;
/// The close code that ends a connection but keeps its session resumable (1000 and 1001 end the session).
const CLOSE_KEEP_SESSION: u16 = 4000;

/// Attempts in a row whose resume address could not be reached before the main address is tried for a new
/// session: a network blip that resets one attempt must not cost the session and every event its resume
/// would replay (Discord keeps a session resumable for minutes).
const RESUME_MISSES: u32 = 3;

/// A shard: its number among all of the bot's shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardId {
    /// From 0.
    pub id: u32,
    /// The bot's shard count.
    pub total: u32,
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.id, self.total)
    }
}

/// Everything one shard needs (cloned for each start; no `Debug`: it holds the token).
#[derive(Clone)]
pub struct ShardOptions {
    /// Which shard.
    pub shard: ShardId,
    /// Where new sessions connect (without the query: it is added to every URL).
    pub gateway_url: String,
    /// The timeouts and the retry schedule.
    pub config: DiscordConfig,
    /// The bot token: sent in Identify and Resume only.
    pub token: SecretString,
    /// The intents asked for.
    pub intents: u64,
    /// Whose turn it is to Identify, shared by the bot's shards.
    pub gate: Arc<IdentifyGate>,
    /// What to record.
    pub watched: Watched,
}

/// A command that could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Too many are waiting.
    #[error("{COMMAND_QUEUE} Gateway commands are already waiting to be sent; try again later")]
    QueueFull,
    /// The connection has stopped (shut down, or nobody takes its events any more).
    #[error("the Discord connection has stopped; start it again to send commands")]
    Stopped,
}

enum Command {
    ReconnectNow,
    Shutdown,
    Send(String),
}

/// One shard's live connection.
pub struct DiscordShard {
    commands: mpsc::UnboundedSender<Command>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
    state: StateReader,
    warnings: watch::Receiver<Vec<String>>,
    task: JoinHandle<()>,
}

impl DiscordShard {
    /// Connects and keeps connecting; each recorded dispatch is sent to `sink`.
    pub fn start(options: ShardOptions, sink: EventSink) -> DiscordShard {
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (publisher, state) = state_channel();
        let (warnings_tx, warnings) = watch::channel(Vec::new());
        let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let driver = Driver {
            outage: Outage::new(&options.config.backoff),
            options,
            sink,
            commands: commands_rx,
            queued: queued.clone(),
            state: publisher,
            warnings: warnings_tx,
            session: None,
            sequence: Sequence::default(),
            pending: VecDeque::new(),
            next_wait: None,
            resume_misses: 0,
        };
        DiscordShard {
            commands,
            queued,
            state,
            warnings,
            task: tokio::spawn(driver.run()),
        }
    }

    /// Sends a Gateway command (a presence update, a request for guild members) once the limit allows:
    /// at most 115 such commands per 60 s, so heartbeats always fit in Discord's 120.
    pub fn send(&self, command: String) -> Result<(), SendError> {
        use std::sync::atomic::Ordering;
        if self.queued.fetch_add(1, Ordering::SeqCst) >= COMMAND_QUEUE {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(SendError::QueueFull);
        }
        self.commands.send(Command::Send(command)).map_err(|_| {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            SendError::Stopped
        })
    }
}

#[async_trait]
impl LiveConnection for DiscordShard {
    fn state(&self) -> watch::Receiver<ConnectionState> {
        self.state.latest()
    }

    fn state_changes(&mut self) -> broadcast::Receiver<ConnectionState> {
        self.state.changes()
    }

    fn warnings(&self) -> watch::Receiver<Vec<String>> {
        self.warnings.clone()
    }

    fn reconnect_now(&self) {
        let _ = self.commands.send(Command::ReconnectNow);
    }

    async fn shutdown(self: Box<Self>) {
        let _ = self.commands.send(Command::Shutdown);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the Discord connection's task failed");
        }
    }
}

/// A session that can be resumed.
#[derive(Debug, Clone)]
struct Session {
    id: String,
    resume_url: String,
}

/// How a connection ended.
enum Ended {
    /// Asked to stop, or nobody takes events any more.
    Shutdown,
    /// Lost; what to do next.
    Lost(Next),
}

/// What a payload asks of the connection.
enum Step {
    Continue,
    /// Send this heartbeat now.
    Beat,
    /// Close with `code` and end the connection.
    Close(u16, Ended),
}

struct Driver {
    options: ShardOptions,
    outage: Outage,
    sink: EventSink,
    commands: mpsc::UnboundedReceiver<Command>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
    state: StatePublisher,
    warnings: watch::Sender<Vec<String>>,
    session: Option<Session>,
    sequence: Sequence,
    /// Callers' commands waiting for the limit.
    pending: VecDeque<String>,
    /// A wait that replaces the backoff's before the next attempt (Invalid Session's 1 to 5 s).
    next_wait: Option<Duration>,
    /// Attempts in a row whose resume address could not be reached (see [`RESUME_MISSES`]).
    resume_misses: u32,
}

impl Driver {
    async fn run(mut self) {
        loop {
            self.publish(ConnectionState::Connecting);
            // A new session waits for its turn at the Identify gate before the socket opens (a long wait,
            // as when the day's session starts are used up, must not count against the socket's timeouts).
            let opening = open_session(
                self.session.as_ref().map(|s| s.resume_url.clone()),
                self.options.gateway_url.clone(),
                self.options.config.connect_timeout,
                IdentifyTurn {
                    gate: self.options.gate.clone(),
                    warnings: self.warnings.clone(),
                    shard: self.options.shard,
                },
                self.resume_misses + 1 >= RESUME_MISSES,
            );
            tokio::pin!(opening);
            let ended = loop {
                tokio::select! {
                    opened = &mut opening => break match opened {
                        Ok(Opened { socket, inflater, hello, new_session }) => {
                            self.resume_misses = 0;
                            if new_session && self.session.is_some() {
                                tracing::warn!(
                                    shard = %self.options.shard,
                                    "Discord's resume address failed; starting a new session on the main Gateway"
                                );
                                self.forget_session();
                            }
                            self.connection(socket, inflater, hello).await
                        }
                        Err((next, resume_missed)) => {
                            if resume_missed {
                                self.resume_misses += 1;
                            }
                            Ended::Lost(next)
                        }
                    },
                    command = self.commands.recv() => match command {
                        Some(Command::ReconnectNow) => {
                            self.outage.reset();
                            break Ended::Lost(Next::Immediately("Reconnecting, as asked.".to_owned()));
                        }
                        Some(Command::Send(command)) => self.pending.push_back(command),
                        Some(Command::Shutdown) | None => break Ended::Shutdown,
                    },
                }
            };
            let next = match ended {
                Ended::Shutdown => break,
                Ended::Lost(next) => next,
            };
            tracing::warn!(shard = %self.options.shard, reason = next.reason(), "the Discord connection was lost");
            let retry = match &next {
                Next::GiveUp(_) => None,
                Next::Immediately(_) => self.outage.next_retry(true),
                Next::Backoff(_) => self.outage.next_retry(false),
            };
            let wait = match retry {
                Some((attempt, next_in)) => {
                    let next_in = self.next_wait.take().map_or(next_in, |wait| wait.max(next_in));
                    self.publish(ConnectionState::Reconnecting { attempt, next_in });
                    Some(Instant::now() + next_in)
                }
                None => {
                    self.publish(ConnectionState::Failed {
                        reason: next.failure(self.options.config.backoff.max_retries),
                    });
                    None
                }
            };
            let stop = loop {
                tokio::select! {
                    () = sleep_until(wait.unwrap_or_else(Instant::now)), if wait.is_some() => break false,
                    command = self.commands.recv() => match command {
                        Some(Command::ReconnectNow) => {
                            self.outage.reset();
                            break false;
                        }
                        Some(Command::Send(command)) => self.pending.push_back(command),
                        Some(Command::Shutdown) | None => break true,
                    },
                }
            };
            if stop {
                break;
            }
        }
        self.publish(ConnectionState::Disconnected);
    }

    /// Runs one connection until it ends.
    async fn connection(&mut self, mut socket: Socket, mut inflater: ZlibStream, hello: Hello) -> Ended {
        let shard = self.options.shard;
        // Discord's is about 41 s; a nonsense value must not overflow a timer.
        let interval = Duration::from_millis(hello.heartbeat_interval.clamp(1, 600_000));
        let mut next_beat = Instant::now() + interval.mul_f64(fastrand::f64());
        let mut acked = true;
        let mut alive_since_ready = false;
        let limiter = CommandLimiter::new();
        let mut send_at = Instant::now();
        let mut ready_by = Some(Instant::now() + self.options.config.ready_timeout);
        let command = match &self.session {
            Some(session) => {
                tracing::info!(shard = %shard, session = %session.id, "resuming the Discord session");
                frame::resume(&self.options.token, &session.id, self.sequence)
            }
            None => {
                self.options.gate.space_send(shard.id).await;
                tracing::info!(shard = %shard, "identifying to Discord");
                frame::identify(&self.options.token, self.options.intents, shard.id, shard.total)
            }
        };
        if let Err(ended) = send(&mut socket, command).await {
            return ended;
        }
        loop {
            let ready = ready_by.is_none();
            // A heartbeat due is never put off by a socket that always has something to read.
            if Instant::now() >= next_beat {
                let step = heartbeat_due(&mut acked, &mut next_beat, interval);
                if let Some(ended) = self.take_step(&mut socket, step).await {
                    return ended;
                }
            }
            // Biased: what has arrived is read before a timer decides anything (an ACK already received
            // must never be taken for a zombie connection).
            let step = tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Command::Send(command)) => {
                        self.pending.push_back(command);
                        Step::Continue
                    }
                    Some(Command::ReconnectNow) => {
                        self.outage.reset();
                        Step::Close(CLOSE_KEEP_SESSION, Ended::Lost(Next::Immediately("Reconnecting, as asked.".to_owned())))
                    }
                    Some(Command::Shutdown) | None => Step::Close(1000, Ended::Shutdown),
                },
                message = socket.next() => match message {
                    Some(Ok(Message::Binary(bytes))) => match inflater.push(&bytes) {
                        Ok(Some(text)) => self.on_payload(&text, &mut acked, &mut ready_by, &mut alive_since_ready).await,
                        Ok(None) => Step::Continue,
                        Err(e) => Step::Close(CLOSE_KEEP_SESSION, Ended::Lost(Next::Immediately(e.to_string()))),
                    },
                    Some(Ok(Message::Text(text))) => self.on_payload(&text, &mut acked, &mut ready_by, &mut alive_since_ready).await,
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame.map_or((None, String::new()), |f| (Some(u16::from(f.code)), f.reason.to_string()));
                        tracing::info!(shard = %shard, code, %reason, "Discord closed the connection");
                        return Ended::Lost(self.closed(code, &reason));
                    }
                    Some(Ok(_)) => Step::Continue,
                    Some(Err(e)) => return Ended::Lost(Next::Immediately(format!("The connection to Discord broke: {e}."))),
                    None => return Ended::Lost(Next::Immediately("The connection to Discord ended.".to_owned())),
                },
                () = sleep_until(next_beat) => heartbeat_due(&mut acked, &mut next_beat, interval),
                () = sleep_until(ready_by.unwrap_or_else(Instant::now)), if ready_by.is_some() => {
                    Step::Close(CLOSE_KEEP_SESSION, Ended::Lost(Next::Backoff(format!(
                        "Discord did not start the session within {} s.",
                        self.options.config.ready_timeout.as_secs()
                    ))))
                }
                () = sleep_until(send_at), if ready && !self.pending.is_empty() => {
                    match limiter.try_send() {
                        Ok(()) => {
                            if let Some(command) = self.pending.pop_front() {
                                self.queued.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                                if let Err(ended) = send(&mut socket, command).await {
                                    return ended;
                                }
                            }
                        }
                        Err(at) => send_at = at,
                    }
                    Step::Continue
                }
            };
            if let Some(ended) = self.take_step(&mut socket, step).await {
                return ended;
            }
        }
    }

    /// Does what a step asks; `Some` when the connection ends.
    async fn take_step(&self, socket: &mut Socket, step: Step) -> Option<Ended> {
        match step {
            Step::Continue => None,
            Step::Beat => send(socket, frame::heartbeat(self.sequence)).await.err(),
            Step::Close(code, ended) => {
                close(socket, code).await;
                Some(ended)
            }
        }
    }

    /// Handles one payload.
    async fn on_payload(
        &mut self,
        text: &str,
        acked: &mut bool,
        ready_by: &mut Option<Instant>,
        alive: &mut bool,
    ) -> Step {
        let payload = match Payload::parse(text) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::warn!(shard = %self.options.shard, error = %e, "skipped a Gateway payload OnAir cannot read");
                return Step::Continue;
            }
        };
        self.sequence.track(&payload);
        match payload.opcode() {
            Opcode::Dispatch => match payload.event_name() {
                Some("READY") => match payload.ready() {
                    Ok(ready) => {
                        tracing::info!(shard = %self.options.shard, session = %ready.session_id, "Discord session ready");
                        self.session = Some(Session {
                            id: ready.session_id.clone(),
                            resume_url: ready.resume_gateway_url,
                        });
                        *ready_by = None;
                        *alive = false;
                        self.publish(ConnectionState::Connected {
                            session: Some(ready.session_id),
                        });
                        Step::Continue
                    }
                    Err(e) => Step::Close(
                        1000,
                        Ended::Lost(Next::Backoff(format!("Discord's Ready could not be read: {e}."))),
                    ),
                },
                Some("RESUMED") => {
                    tracing::info!(shard = %self.options.shard, "Discord session resumed");
                    *ready_by = None;
                    *alive = false;
                    let session = self.session.as_ref().map(|s| s.id.clone());
                    self.publish(ConnectionState::Connected { session });
                    Step::Continue
                }
                _ => {
                    // A resume's replay may be long: each replayed dispatch shows it is progressing.
                    if ready_by.is_some() {
                        *ready_by = Some(Instant::now() + self.options.config.ready_timeout);
                    }
                    self.on_dispatch(&payload).await
                }
            },
            Opcode::HeartbeatAck => {
                *acked = true;
                // A connection that started its session and answers heartbeats ends the outage's count.
                if ready_by.is_none() && !*alive {
                    *alive = true;
                    self.outage.reset();
                }
                Step::Continue
            }
            Opcode::Heartbeat => Step::Beat,
            Opcode::Reconnect => Step::Close(
                CLOSE_KEEP_SESSION,
                Ended::Lost(Next::Immediately("Discord asked OnAir to reconnect.".to_owned())),
            ),
            Opcode::InvalidSession => {
                let resumable = payload.resumable().unwrap_or(false) && self.session.is_some();
                if resumable {
                    return Step::Close(
                        CLOSE_KEEP_SESSION,
                        Ended::Lost(Next::Immediately(
                            "Discord invalidated the connection; resuming the session.".to_owned(),
                        )),
                    );
                }
                self.forget_session();
                self.next_wait = Some(Duration::from_millis(fastrand::u64(1000..=5000)));
                Step::Close(
                    1000,
                    Ended::Lost(Next::Immediately(
                        "Discord ended the session; starting a new one.".to_owned(),
                    )),
                )
            }
            Opcode::Hello | Opcode::Identify | Opcode::Resume | Opcode::Other(_) => {
                tracing::debug!(shard = %self.options.shard, op = ?payload.opcode(), "an unexpected payload; ignored");
                Step::Continue
            }
        }
    }

    async fn on_dispatch(&mut self, payload: &Payload) -> Step {
        let Some(session) = &self.session else {
            return Step::Continue;
        };
        match events::route(&self.options.watched, payload, &session.id, Utc::now()) {
            Ok(Some(event)) => {
                if self.sink.send(event).await.is_err() {
                    return Step::Close(1000, Ended::Shutdown);
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(shard = %self.options.shard, error = %e, "skipped a dispatch OnAir cannot read")
            }
        }
        Step::Continue
    }

    /// What the server's close code means for the session and the next attempt.
    fn closed(&mut self, code: Option<u16>, reason: &str) -> Next {
        let said = match (code, reason.is_empty()) {
            (Some(code), true) => format!("code {code}"),
            (Some(code), false) => format!("{reason}, code {code}"),
            (None, _) => "no code".to_owned(),
        };
        match after_close(code) {
            AfterClose::Resume if code == Some(4008) => Next::Backoff(format!(
                "Discord closed the connection for sending too fast ({said})."
            )),
            AfterClose::Resume => Next::Immediately(format!("Discord closed the connection ({said}).")),
            AfterClose::Reidentify => {
                self.forget_session();
                Next::Immediately(format!(
                    "Discord closed the connection and ended the session ({said}); starting a new one."
                ))
            }
            AfterClose::Fatal { reason } => Next::GiveUp(reason),
        }
    }

    fn forget_session(&mut self) {
        self.session = None;
        self.sequence = Sequence::default();
    }

    fn publish(&self, state: ConnectionState) {
        self.state.publish(state);
    }
}

/// A connection that said Hello.
struct Opened {
    socket: Socket,
    inflater: ZlibStream,
    hello: Hello,
    /// On the main URL: the session (if any) cannot be resumed there.
    new_session: bool,
}

/// A new session's turn at the Identify gate, with the warning shown while the day's allowance is used up.
struct IdentifyTurn {
    gate: Arc<IdentifyGate>,
    warnings: watch::Sender<Vec<String>>,
    shard: ShardId,
}

impl IdentifyTurn {
    async fn wait(&self) {
        let shard = self.shard;
        self.gate
            .wait_turn(shard.id, |wait| {
                let warning = format!(
                    "Discord allows this bot no more new sessions for now; OnAir connects again in {} min",
                    wait.as_secs().div_ceil(60)
                );
                tracing::warn!(shard = %shard, "{warning}");
                self.warnings.send_replace(vec![warning]);
            })
            .await;
        self.warnings.send_if_modified(|warnings| {
            let had = !warnings.is_empty();
            warnings.clear();
            had
        });
    }
}

/// A heartbeat is due: send it, unless the last one was not acknowledged (a zombie connection, closed
/// keeping the session).
fn heartbeat_due(acked: &mut bool, next_beat: &mut Instant, interval: Duration) -> Step {
    if !*acked {
        return Step::Close(
            CLOSE_KEEP_SESSION,
            Ended::Lost(Next::Immediately(format!(
                "Discord did not acknowledge the last heartbeat within {} s (a zombie connection); resuming.",
                interval.as_secs()
            ))),
        );
    }
    *acked = false;
    *next_beat = Instant::now() + interval;
    Step::Beat
}

/// Opens a socket and waits for Hello: on `resume_url` when there is a session to resume, else on
/// `gateway_url` for a new session once its turn at the Identify gate comes. When the resume URL cannot be
/// reached at all but the main one can, the new session is started there.
async fn open_session(
    resume_url: Option<String>,
    gateway_url: String,
    limit: Duration,
    turn: IdentifyTurn,
    fall_back: bool,
) -> Result<Opened, (Next, bool)> {
    let main = || async {
        turn.wait().await;
        open(&gateway_query(&gateway_url), limit)
            .await
            .map(|(socket, inflater, hello)| Opened {
                socket,
                inflater,
                hello,
                new_session: true,
            })
            .map_err(|(next, _)| (next, false))
    };
    let Some(resume_url) = resume_url else {
        return main().await;
    };
    match open(&gateway_query(&resume_url), limit).await {
        Ok((socket, inflater, hello)) => Ok(Opened {
            socket,
            inflater,
            hello,
            new_session: false,
        }),
        // Reached, but it asked to reconnect or closed before Hello: the session is kept.
        Err((next, Reach::Hello)) => Err((next, false)),
        Err((Next::GiveUp(reason), _)) => Err((Next::GiveUp(reason), false)),
        // It answered and refused the upgrade: the resume address is what fails. A new session on the main
        // address (when it answers; when it does not either, the session is kept for the next attempt).
        Err((refused, Reach::Refused)) => {
            tracing::info!(
                reason = refused.reason(),
                "Discord's resume address refused; trying the main one"
            );
            main().await
        }
        // Not reached at all: the network may be what failed (a reset or a timeout in a blip), and a new
        // session would lose every event the resume replays. The session is kept for the next attempts;
        // only after RESUME_MISSES of them in a row is the main address tried.
        Err((missed, Reach::No)) if !fall_back => {
            tracing::info!(
                reason = missed.reason(),
                "Discord's resume address could not be reached; keeping the session for the next attempt"
            );
            Err((missed, true))
        }
        Err((missed, Reach::No)) => {
            tracing::info!(
                reason = missed.reason(),
                "Discord's resume address could not be reached again; trying the main one"
            );
            main().await.map_err(|(next, _)| (next, true))
        }
    }
}

/// How far an [`open`] got before it failed.
enum Reach {
    /// The server was not reached (refused, reset, timed out before the WebSocket handshake).
    No,
    /// The server answered the upgrade with an HTTP error.
    Refused,
    /// The WebSocket was open; it failed before or at Hello.
    Hello,
}

/// Opens a socket at `url` (with its query) and waits for Hello, each within `limit`. A failure says
/// whether the server was reached (the WebSocket handshake done).
async fn open(url: &str, limit: Duration) -> Result<(Socket, ZlibStream, Hello), (Next, Reach)> {
    let request = url.into_client_request().map_err(|e| {
        (
            Next::GiveUp(format!(
                "The Gateway address is not a valid WebSocket URL ({e}); fix ONAIR_DISCORD_GATEWAY_URL or the \
                 settings."
            )),
            Reach::No,
        )
    })?;
    let connecting = tokio_tungstenite::connect_async_tls_with_config(request, None, true, Some(connector()));
    let (mut socket, _) = timeout(limit, connecting)
        .await
        .map_err(|_| {
            (
                Next::Backoff(format!("Discord did not answer within {} s.", limit.as_secs())),
                Reach::No,
            )
        })?
        .map_err(|e| match e {
            tungstenite::Error::Http(response) => (
                Next::Backoff(format!(
                    "Discord refused the connection (HTTP {}).",
                    response.status()
                )),
                Reach::Refused,
            ),
            other => (
                Next::Backoff(format!("Could not reach Discord: {other}.")),
                Reach::No,
            ),
        })?;
    let mut inflater = ZlibStream::new();
    let hello = async {
        loop {
            let text = match socket.next().await {
                Some(Ok(Message::Binary(bytes))) => match inflater.push(&bytes) {
                    Ok(Some(text)) => text,
                    Ok(None) => continue,
                    Err(e) => return Err(Next::Backoff(e.to_string())),
                },
                Some(Ok(Message::Text(text))) => text.to_string(),
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map(|f| u16::from(f.code));
                    return Err(match after_close(code) {
                        AfterClose::Fatal { reason } => Next::GiveUp(reason),
                        _ => Next::Backoff(format!(
                            "Discord closed the connection before its Hello (code {}).",
                            code.map_or_else(|| "none".to_owned(), |c| c.to_string())
                        )),
                    });
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(Next::Backoff(format!("The connection to Discord broke: {e}."))),
                None => {
                    return Err(Next::Backoff(
                        "Discord closed the connection before its Hello.".to_owned(),
                    ));
                }
            };
            match Payload::parse(&text) {
                Ok(payload) if payload.opcode() == Opcode::Hello => {
                    return payload
                        .hello()
                        .map_err(|e| Next::Backoff(format!("Discord's Hello could not be read: {e}.")));
                }
                Ok(payload) if payload.opcode() == Opcode::Reconnect => {
                    return Err(Next::Immediately("Discord asked OnAir to reconnect.".to_owned()));
                }
                Ok(_) => tracing::warn!("a Gateway payload before Hello; skipped"),
                Err(e) => tracing::warn!(error = %e, "skipped a Gateway payload OnAir cannot read"),
            }
        }
    };
    let hello = timeout(limit, hello)
        .await
        .map_err(|_| {
            Next::Backoff(format!(
                "Discord accepted the connection but sent no Hello within {} s.",
                limit.as_secs()
            ))
        })
        .and_then(|hello| hello)
        .map_err(|next| (next, Reach::Hello))?;
    Ok((socket, inflater, hello))
}

/// Sends one command; a failure ends the connection (the session is kept).
async fn send(socket: &mut Socket, command: String) -> Result<(), Ended> {
    socket.send(Message::text(command)).await.map_err(|e| {
        Ended::Lost(Next::Immediately(format!(
            "The connection to Discord broke while sending: {e}."
        )))
    })
}

/// Closes a socket with `code`, not waiting long for the other side.
async fn close(socket: &mut Socket, code: u16) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: "".into(),
    };
    let _ = timeout(Duration::from_secs(1), socket.close(Some(frame))).await;
}

fn connector() -> Connector {
    match onair_pusher::tls_config() {
        Ok(tls) => Connector::Rustls(tls),
        Err(e) => {
            tracing::error!(error = %e, "TLS setup failed; wss:// connections will fail");
            Connector::Plain
        }
    }
}
