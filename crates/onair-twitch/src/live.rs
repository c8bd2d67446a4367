//! The EventSub WebSocket connection, kept up on its own: connect and wait for the welcome; create the
//! subscriptions on each new session (through a [`SessionSetup`], so after any drop every subscription is
//! re-created: the silent-loss bug of clients that forget to); a keepalive watchdog; the `session_reconnect`
//! handover (the new socket opened while the old one is still read, the old one closed only after the new
//! welcome, nothing re-created); Twitch's close codes 4000-4007; revocations kept as warnings with their
//! reason; at-least-once delivery deduplicated by message id; backoff with jitter between attempts.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use onair_core::{
    ChannelRef, ConnectionState, Event, EventSink, LiveConnection, PlatformError, StatePublisher,
    StateReader, state_channel,
};
use onair_pusher::{BackoffPolicy, Next, Outage};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::TwitchConfig;
use crate::frame::{self, Frame, Notification, Revocation};
use crate::router;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a message id is remembered for deduplication (Twitch's replay window).
pub const DEDUP_WINDOW: Duration = Duration::from_secs(10 * 60);

/// How long the old socket of a handover is read after the new welcome, at most.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// At most this many message ids are remembered, whatever their age.
const DEDUP_CAPACITY: usize = 50_000;

/// Creates the subscriptions on a new EventSub session.
#[async_trait]
pub trait SessionSetup: Send + Sync {
    /// Creates every subscription on the session `session_id`. Problems that cost only some events (a
    /// permission missing for one type, a type Twitch refused) come back as sentences for people; an
    /// error ends the attempt (`Unauthorized`: the user must sign in again).
    async fn subscribe(&self, session_id: &str) -> Result<Vec<String>, PlatformError>;
}

/// How the connection behaves.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The URL of a fresh connection, keepalive included.
    pub url: String,
    /// The keepalive until a welcome says otherwise.
    pub keepalive: Duration,
    /// Slack on top of the keepalive before the watchdog gives up on the socket.
    pub keepalive_leeway: Duration,
    /// How long opening a socket and receiving its welcome may take, each.
    pub connect_timeout: Duration,
    /// Retries of one outage.
    pub backoff: BackoffPolicy,
}

impl LiveOptions {
    /// The options `config` describes.
    pub fn from_config(config: &TwitchConfig) -> LiveOptions {
        LiveOptions {
            url: config.eventsub_url_with_keepalive(),
            keepalive: config.keepalive,
            keepalive_leeway: config.keepalive_leeway,
            connect_timeout: config.connect_timeout,
            backoff: config.backoff.clone(),
        }
    }
}

enum Command {
    ReconnectNow,
    Shutdown,
}

/// A live EventSub connection for a set of channels.
pub struct TwitchLive {
    commands: mpsc::UnboundedSender<Command>,
    state: StateReader,
    warnings: watch::Receiver<Vec<String>>,
    notices: Arc<Notices>,
    task: JoinHandle<()>,
}

impl TwitchLive {
    /// Connects and keeps connecting: each new session gets its subscriptions from `setup`; every
    /// notification of `channels` (by broadcaster id) is routed and sent to `sink` (waiting when it is
    /// full: back-pressure, never a drop).
    pub fn start(
        options: LiveOptions,
        setup: Arc<dyn SessionSetup>,
        channels: &[ChannelRef],
        sink: EventSink,
    ) -> TwitchLive {
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (publisher, state) = state_channel();
        let (notices, warnings) = Notices::new();
        let driver = Driver {
            outage: Outage::new(&options.backoff),
            options,
            setup,
            channels: channels
                .iter()
                .map(|c| (c.platform_id.clone(), c.clone()))
                .collect(),
            sink,
            commands: commands_rx,
            state: publisher,
            notices: notices.clone(),
            seen: Seen::default(),
            up_since: None,
            delivered: false,
        };
        let task = tokio::spawn(driver.run());
        TwitchLive {
            commands,
            state,
            warnings,
            notices,
            task,
        }
    }

    /// Where the connection's warnings are kept (the polling fallback adds its own).
    pub(crate) fn notices(&self) -> Arc<Notices> {
        self.notices.clone()
    }
}

#[async_trait]
impl LiveConnection for TwitchLive {
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
            tracing::error!(error = %e, "the Twitch connection's task failed");
        }
    }
}

/// How a session ended.
enum Ended {
    /// Asked to stop, or nobody takes events any more.
    Shutdown,
    /// Lost; what to do next.
    Lost(Next),
}

/// A socket being opened to take over (a `session_reconnect`), resolved at its welcome.
type Handover = Pin<Box<dyn Future<Output = Result<(Socket, frame::Session), Next>> + Send>>;

struct Driver {
    options: LiveOptions,
    outage: Outage,
    setup: Arc<dyn SessionSetup>,
    /// Watched channels by broadcaster id.
    channels: HashMap<String, ChannelRef>,
    sink: EventSink,
    commands: mpsc::UnboundedReceiver<Command>,
    state: StatePublisher,
    notices: Arc<Notices>,
    seen: Seen,
    /// Since when the current session has its subscriptions.
    up_since: Option<Instant>,
    /// Whether the current session delivered a notification.
    delivered: bool,
}

impl Driver {
    async fn run(mut self) {
        loop {
            self.publish(ConnectionState::Connecting);
            let ended = tokio::select! {
                opened = open(&self.options.url, self.options.connect_timeout) => match opened {
                    Ok((socket, session)) => {
                        self.delivered = false;
                        let ended = self.session(socket, session).await;
                        // A session that stayed up a keepalive or more, or delivered a notification, ends
                        // the outage's count; one that ends at once (a server closing every new session)
                        // keeps backing off, then fails. (Counting short sessions that worked made a flaky
                        // network end `failed` after five reconnects, each of which had worked.)
                        let stayed = self.up_since.take().is_some_and(|since| since.elapsed() >= self.options.keepalive);
                        if stayed || self.delivered {
                            self.outage.reset();
                        }
                        ended
                    }
                    Err(next) => Ended::Lost(next),
                },
                command = self.commands.recv() => match command {
                    Some(Command::ReconnectNow) => {
                        self.outage.reset();
                        continue;
                    }
                    Some(Command::Shutdown) | None => Ended::Shutdown,
                },
            };
            let next = match ended {
                Ended::Shutdown => break,
                Ended::Lost(next) => next,
            };
            tracing::warn!(reason = next.reason(), "the Twitch connection was lost");
            let retry = match &next {
                Next::GiveUp(_) => None,
                Next::Immediately(_) => self.outage.next_retry(true),
                Next::Backoff(_) => self.outage.next_retry(false),
            };
            let wait = match retry {
                Some((attempt, next_in)) => {
                    self.publish(ConnectionState::Reconnecting { attempt, next_in });
                    Some(Instant::now() + next_in)
                }
                None => {
                    self.publish(ConnectionState::Failed {
                        reason: next.failure(self.options.backoff.max_retries),
                    });
                    None
                }
            };
            let stop = tokio::select! {
                () = sleep_until(wait.unwrap_or_else(Instant::now)), if wait.is_some() => false,
                command = self.commands.recv() => match command {
                    Some(Command::ReconnectNow) => {
                        self.outage.reset();
                        false
                    }
                    Some(Command::Shutdown) | None => true,
                },
            };
            if stop {
                break;
            }
        }
        self.publish(ConnectionState::Disconnected);
    }

    /// Reads one session until it ends: subscriptions created alongside, handovers followed.
    async fn session(&mut self, mut socket: Socket, welcome: frame::Session) -> Ended {
        let mut session_id = welcome.id.clone();
        let mut keepalive = self.keepalive_of(&welcome);
        tracing::info!(session = %session_id, "EventSub session opened; creating the subscriptions");
        let setup = self.setup.clone();
        let id = session_id.clone();
        let mut subscribing: Option<Pin<Box<dyn Future<Output = _> + Send>>> =
            Some(Box::pin(async move { setup.subscribe(&id).await }));
        let mut handover: Option<Handover> = None;
        let mut silent_until = Instant::now() + keepalive + self.options.keepalive_leeway;
        loop {
            tokio::select! {
                command = self.commands.recv() => {
                    // What Twitch already sent is taken before the socket goes (it replays nothing).
                    if self.drain(&mut socket, CloseCode::Normal).await.is_err() {
                        return Ended::Shutdown;
                    }
                    return match command {
                        Some(Command::ReconnectNow) => {
                            self.outage.reset();
                            Ended::Lost(Next::Immediately("Reconnecting, as asked.".to_owned()))
                        }
                        Some(Command::Shutdown) | None => Ended::Shutdown,
                    };
                }
                subscribed = pending_on(&mut subscribing), if subscribing.is_some() => {
                    subscribing = None;
                    match subscribed {
                        Ok(warnings) => {
                            for warning in &warnings {
                                tracing::warn!(%warning, "a Twitch subscription is missing");
                            }
                            self.notices.set_subscriptions(warnings);
                            self.up_since = Some(Instant::now());
                            self.publish(ConnectionState::Connected { session: Some(session_id.clone()) });
                        }
                        Err(e) => {
                            // Notifications of the subscriptions created before the failure may have come.
                            if self.drain(&mut socket, CloseCode::Normal).await.is_err() {
                                return Ended::Shutdown;
                            }
                            let said = e.to_string();
                            return Ended::Lost(match e {
                                PlatformError::Unauthorized { .. } | PlatformError::Refused { .. } => Next::GiveUp(said),
                                _ => Next::Backoff(format!("The subscriptions could not be created: {said}.")),
                            });
                        }
                    }
                }
                () = sleep_until(silent_until) => {
                    close(&mut socket, CloseCode::Away).await;
                    return Ended::Lost(Next::Immediately(format!(
                        "Twitch sent nothing for {} s (it promised a keepalive every {} s).",
                        (keepalive + self.options.keepalive_leeway).as_secs(),
                        keepalive.as_secs()
                    )));
                }
                moved = pending_on(&mut handover), if handover.is_some() => {
                    handover = None;
                    match moved {
                        Ok((new_socket, new_session)) => {
                            if self.drain(&mut socket, CloseCode::Normal).await.is_err() {
                                return Ended::Shutdown;
                            }
                            (socket, session_id, keepalive) = (new_socket, new_session.id.clone(), self.keepalive_of(&new_session));
                            silent_until = Instant::now() + keepalive + self.options.keepalive_leeway;
                            tracing::info!(session = %session_id, "moved to Twitch's new EventSub server");
                            if subscribing.is_none() {
                                self.publish(ConnectionState::Connected { session: Some(session_id.clone()) });
                            }
                        }
                        Err(next) => tracing::warn!(
                            reason = next.reason(),
                            "could not move to Twitch's new server; staying on the old one until it closes"
                        ),
                    }
                }
                message = socket.next() => {
                    let ended = match message {
                        Some(Ok(Message::Text(text))) => {
                            silent_until = Instant::now() + keepalive + self.options.keepalive_leeway;
                            match self.on_text(&text, handover.is_some()).await {
                                Ok(Some(reconnect_url)) => {
                                    tracing::info!("Twitch asked to move to a new server");
                                    let limit = self.options.connect_timeout;
                                    handover = Some(Box::pin(async move { open(&reconnect_url, limit).await }));
                                    continue;
                                }
                                Ok(None) => continue,
                                Err(()) => return Ended::Shutdown,
                            }
                        }
                        Some(Ok(Message::Close(frame))) => {
                            let (code, reason) = frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.to_string()));
                            tracing::info!(code, %reason, "Twitch closed the socket");
                            close_code(code, &reason)
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => Next::Immediately(format!("The connection to Twitch broke: {e}.")),
                        None => Next::Immediately("The connection to Twitch ended.".to_owned()),
                    };
                    // The old socket ended while the new one is opening: the new one carries the session.
                    match handover.take() {
                        Some(moving) => match moving.await {
                            Ok((new_socket, new_session)) => {
                                (socket, session_id, keepalive) = (new_socket, new_session.id.clone(), self.keepalive_of(&new_session));
                                silent_until = Instant::now() + keepalive + self.options.keepalive_leeway;
                                tracing::info!(session = %session_id, "moved to Twitch's new EventSub server");
                                if subscribing.is_none() {
                                    self.publish(ConnectionState::Connected { session: Some(session_id.clone()) });
                                }
                            }
                            // The address came from Twitch: a fresh connection, never "fix the settings".
                            Err(next) => {
                                return Ended::Lost(Next::Immediately(format!(
                                    "Twitch's new server could not be reached ({}); connecting afresh.",
                                    next.reason()
                                )));
                            }
                        },
                        None => return Ended::Lost(ended),
                    }
                }
            }
        }
    }

    /// Closes a socket with `code` while still reading it, until Twitch's answering close (at most
    /// [`DRAIN_LIMIT`]): notifications it sent before it read the close may still be on their way, and
    /// Twitch replays nothing. Used whenever OnAir gives a session up: the old socket of a handover (the
    /// message-id set drops what came on both), a stop, a reconnect asked for, subscriptions that could not
    /// be created. `Err`: nobody takes events.
    async fn drain(&mut self, socket: &mut Socket, code: CloseCode) -> Result<(), ()> {
        let closing = CloseFrame {
            code,
            reason: "".into(),
        };
        if socket.send(Message::Close(Some(closing))).await.is_err() {
            return Ok(());
        }
        let deadline = Instant::now() + DRAIN_LIMIT;
        loop {
            match timeout(deadline.saturating_duration_since(Instant::now()), socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    self.on_text(&text, true).await?;
                }
                Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) | Err(_) => return Ok(()),
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Handles one text frame. `Ok(Some(url))`: Twitch asks to move there. `Err`: nobody takes events.
    async fn on_text(&mut self, text: &str, moving: bool) -> Result<Option<String>, ()> {
        let frame = match frame::parse(text) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(error = %e, "skipped an EventSub frame OnAir cannot read");
                return Ok(None);
            }
        };
        match frame {
            Frame::Notification(notification) => self.on_notification(notification).await?,
            Frame::Keepalive => tracing::trace!("keepalive"),
            Frame::Reconnect(session) if !moving => return Ok(session.reconnect_url),
            Frame::Reconnect(_) => tracing::debug!("a second reconnect message while moving; ignored"),
            Frame::Revocation(revocation) => self.on_revocation(&revocation),
            Frame::Welcome(_) => tracing::warn!("a welcome in the middle of a session; ignored"),
        }
        Ok(None)
    }

    async fn on_notification(&mut self, notification: Notification) -> Result<(), ()> {
        if !self.seen.first_time(&notification.message_id) {
            tracing::debug!(message_id = %notification.message_id, "a resent notification; already handled");
            return Ok(());
        }
        let received_at = Utc::now();
        let skew = received_at - notification.message_timestamp;
        if skew.num_minutes().abs() >= 10 {
            // Recorded all the same: a desktop clock off by minutes must never cost a real event.
            tracing::warn!(
                message_id = %notification.message_id,
                skew_seconds = skew.num_seconds(),
                "a notification's timestamp is far from this computer's clock (is the clock right?)"
            );
        }
        let Some(channel) = self.channel_of(&notification) else {
            tracing::warn!(
                subscription_type = %notification.subscription_type,
                "a notification for a channel OnAir does not watch; skipped"
            );
            return Ok(());
        };
        match router::route(channel, &notification, received_at) {
            Ok(event) => self.deliver(event).await,
            Err(e) => {
                tracing::warn!(error = %e, "skipped a notification OnAir cannot read");
                Ok(())
            }
        }
    }

    async fn deliver(&mut self, event: Event) -> Result<(), ()> {
        self.delivered = true;
        self.sink.send(event).await.map_err(|_| ())
    }

    fn on_revocation(&mut self, revocation: &Revocation) {
        let warning = format!(
            "Twitch ended the {} subscription: {}",
            revocation.subscription_type,
            revocation_reason(&revocation.status)
        );
        tracing::warn!(status = %revocation.status, "{warning}");
        self.notices.add_revoked(warning);
    }

    /// The watched channel a notification is about: its broadcaster, or for raids the side OnAir watches.
    fn channel_of(&self, notification: &Notification) -> Option<&ChannelRef> {
        #[derive(Deserialize)]
        struct Sides {
            broadcaster_user_id: Option<String>,
            to_broadcaster_user_id: Option<String>,
            from_broadcaster_user_id: Option<String>,
        }
        let sides: Sides = serde_json::from_str(notification.event.get()).ok()?;
        [
            sides.broadcaster_user_id,
            sides.to_broadcaster_user_id,
            sides.from_broadcaster_user_id,
        ]
        .into_iter()
        .flatten()
        .find_map(|id| self.channels.get(&id))
    }

    fn keepalive_of(&self, session: &frame::Session) -> Duration {
        keepalive(session, self.options.keepalive)
    }

    fn publish(&self, state: ConnectionState) {
        self.state.publish(state);
    }
}

/// The output of `future` when there is one; never otherwise (a `select!` branch guarded on it).
async fn pending_on<F: Future + Unpin>(future: &mut Option<F>) -> F::Output {
    match future {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

/// Opens a socket at `url` and waits for its welcome, each within `limit`.
async fn open(url: &str, limit: Duration) -> Result<(Socket, frame::Session), Next> {
    let request = url.into_client_request().map_err(|e| {
        Next::GiveUp(format!(
            "The EventSub address is not a valid WebSocket URL ({e}); fix ONAIR_TWITCH_EVENTSUB_URL or the settings."
        ))
    })?;
    let connecting = tokio_tungstenite::connect_async_tls_with_config(request, None, true, Some(connector()));
    let (mut socket, _) = timeout(limit, connecting)
        .await
        .map_err(|_| Next::Backoff(format!("Twitch did not answer within {} s.", limit.as_secs())))?
        .map_err(|e| match e {
            tungstenite::Error::Http(response) => Next::Backoff(format!(
                "Twitch refused the connection (HTTP {}).",
                response.status()
            )),
            other => Next::Backoff(format!("Could not reach Twitch: {other}.")),
        })?;
    let welcome = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => match frame::parse(&text) {
                    Ok(Frame::Welcome(session)) => return Ok(session),
                    Ok(_) => tracing::warn!("a frame before the welcome; skipped"),
                    Err(e) => tracing::warn!(error = %e, "skipped an EventSub frame OnAir cannot read"),
                },
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (u16::from(f.code), f.reason.to_string())
                    });
                    return Err(close_code(code, &reason));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(Next::Backoff(format!("The connection to Twitch broke: {e}."))),
                None => {
                    return Err(Next::Backoff(
                        "Twitch closed the connection before its welcome.".to_owned(),
                    ));
                }
            }
        }
    };
    let session = timeout(limit, welcome).await.map_err(|_| {
        Next::Backoff(format!(
            "Twitch accepted the connection but sent no welcome within {} s.",
            limit.as_secs()
        ))
    })??;
    Ok((socket, session))
}

/// Closes a socket politely, not waiting long for the other side.
async fn close(socket: &mut Socket, code: CloseCode) {
    let frame = CloseFrame {
        code,
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

/// What one of Twitch's close codes means for the next attempt. Every one ends the session: the next is a
/// fresh connection whose subscriptions are created again.
pub fn close_code(code: u16, reason: &str) -> Next {
    let said = if reason.is_empty() {
        format!("code {code}")
    } else {
        format!("{reason}, code {code}")
    };
    match code {
        4000 => Next::Backoff(format!("Twitch had an internal error ({said}).")),
        4001 => Next::Immediately(format!(
            "Twitch says OnAir sent it a message, which it does not accept ({said}); please report this."
        )),
        4002 => Next::Immediately(format!("Twitch says OnAir missed its pings ({said}).")),
        4003 => Next::Backoff(format!(
            "Twitch closed the connection because no subscription was created in time ({said})."
        )),
        4004 => Next::Immediately(format!(
            "The move to Twitch's new server did not finish in time ({said})."
        )),
        4005 => Next::Immediately(format!("A network timeout at Twitch ({said}).")),
        4006 => Next::Immediately(format!("A network error at Twitch ({said}).")),
        4007 => Next::Immediately(format!("Twitch refused the reconnect address ({said}).")),
        _ => Next::Backoff(format!("Twitch closed the connection ({said}).")),
    }
}

/// A revocation's status in words, with what to do.
fn revocation_reason(status: &str) -> String {
    match status {
        "authorization_revoked" => {
            "the sign-in no longer allows it (permission withdrawn); sign in to Twitch again".to_owned()
        }
        "moderator_removed" => "the signed-in account is no longer a moderator of the channel".to_owned(),
        "user_removed" => "the channel's account no longer exists or was suspended".to_owned(),
        "version_removed" => "Twitch retired the version OnAir reads; update OnAir".to_owned(),
        other => format!("status {other}"),
    }
}

/// The connection's warnings by source, published as one list: the polling fallback's mode, the
/// subscriptions a session could not create, those Twitch revoked since.
pub(crate) struct Notices {
    sections: std::sync::Mutex<Sections>,
    published: watch::Sender<Vec<String>>,
}

#[derive(Default)]
struct Sections {
    polling: Option<String>,
    subscriptions: Vec<String>,
    revoked: Vec<String>,
}

impl Notices {
    fn new() -> (Arc<Notices>, watch::Receiver<Vec<String>>) {
        let (published, receiver) = watch::channel(Vec::new());
        let notices = Notices {
            sections: std::sync::Mutex::new(Sections::default()),
            published,
        };
        (Arc::new(notices), receiver)
    }

    /// A new session's subscription problems (revocations of the old session are forgotten).
    fn set_subscriptions(&self, warnings: Vec<String>) {
        self.change(|s| {
            s.subscriptions = warnings;
            s.revoked.clear();
        });
    }

    fn add_revoked(&self, warning: String) {
        self.change(|s| {
            if !s.revoked.contains(&warning) {
                s.revoked.push(warning);
            }
        });
    }

    /// What the polling fallback is doing, when it stands in for the live connection.
    pub(crate) fn set_polling(&self, polling: Option<String>) {
        self.change(|s| s.polling = polling);
    }

    fn change(&self, change: impl FnOnce(&mut Sections)) {
        let mut sections = self.sections.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut sections);
        let all: Vec<String> = sections
            .polling
            .iter()
            .chain(&sections.subscriptions)
            .chain(&sections.revoked)
            .cloned()
            .collect();
        self.published.send_if_modified(|current| {
            let changed = *current != all;
            *current = all;
            changed
        });
    }
}

/// Message ids seen within [`DEDUP_WINDOW`].
#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<(Instant, String)>,
}

impl Seen {
    /// Whether `id` is new (and remembers it).
    fn first_time(&mut self, id: &str) -> bool {
        let now = Instant::now();
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < DEDUP_WINDOW && self.order.len() < DEDUP_CAPACITY {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        if self.ids.contains(id) {
            return false;
        }
        self.ids.insert(id.to_owned());
        self.order.push_back((now, id.to_owned()));
        true
    }
}

/// The longest keepalive EventSub gives (a welcome's `keepalive_timeout_seconds` is 10 to 600).
const MAX_KEEPALIVE: Duration = Duration::from_secs(600);

/// The keepalive of `session`: what its welcome says, else `fallback`; never more than [`MAX_KEEPALIVE`], so
/// a welcome that says more (a frame is outside input) cannot push the watchdog's deadline past what a
/// clock can hold.
fn keepalive(session: &frame::Session, fallback: Duration) -> Duration {
    session
        .keepalive_timeout_seconds
        .map_or(fallback, Duration::from_secs)
        .min(MAX_KEEPALIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_welcome_with_a_huge_keepalive_is_bounded() {
        let welcome = |keepalive: &str| {
            let text = format!(
                r#"{{"metadata":{{"message_id":"m","message_type":"session_welcome","message_timestamp":"2026-11-21T18:21:14Z"}},
                "payload":{{"session":{{"id":"s","status":"connected","keepalive_timeout_seconds":{keepalive}}}}}}}"#
            );
            match frame::parse(&text).unwrap() {
                Frame::Welcome(session) => session,
                other => panic!("{other:?}"),
            }
        };
        let huge = keepalive(&welcome("18446744073709551615"), Duration::from_secs(30));
        assert_eq!(huge, MAX_KEEPALIVE);
        // The watchdog's deadline: this overflowed the clock (a panic) before the bound.
        let _ = Instant::now() + huge + Duration::from_secs(10);
        assert_eq!(
            keepalive(&welcome("10"), Duration::from_secs(30)),
            Duration::from_secs(10)
        );
        assert_eq!(
            keepalive(&welcome("null"), Duration::from_secs(30)),
            Duration::from_secs(30)
        );
        assert_eq!(keepalive(&welcome("null"), Duration::MAX), MAX_KEEPALIVE);
    }

    #[test]
    fn every_close_code_reconnects_and_the_transient_ones_at_once() {
        for code in [4001, 4002, 4004, 4005, 4006, 4007] {
            assert!(matches!(close_code(code, ""), Next::Immediately(_)), "{code}");
        }
        for code in [4000, 4003, 1011] {
            assert!(matches!(close_code(code, ""), Next::Backoff(_)), "{code}");
        }
        assert!(
            close_code(4003, "connection unused")
                .reason()
                .contains("connection unused, code 4003")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn ids_are_remembered_for_the_window() {
        let mut seen = Seen::default();
        assert!(seen.first_time("a"));
        assert!(!seen.first_time("a"));
        tokio::time::advance(DEDUP_WINDOW - Duration::from_secs(1)).await;
        assert!(!seen.first_time("a"));
        assert!(seen.first_time("b"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(seen.first_time("a"), "forgotten after the window");
        assert!(!seen.first_time("b"));
    }
}
