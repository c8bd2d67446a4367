//! The connection task: one per client. It owns the channel list, the outbox and the socket, runs the life
//! cycle (connect, session, retry or give up), keeps the connection alive with pings, and publishes every
//! state change.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use onair_core::ConnectionState;
use secrecy::ExposeSecret;
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tracing::Instrument;

use crate::PusherError;
use crate::auth::{ChannelAuth, ChannelAuthorizer, needs_auth};
use crate::client::{Command, Inbound, Request};
use crate::config::PusherConfig;
use crate::connect::{self, Socket};
use crate::frame::{self, ErrorData, PusherFrame, SubscriptionErrorData, outgoing};
use crate::outbox::{Ack, Outbox, Outgoing};
use crate::policy::{self, Next, Outage};

/// Frames handled in one go before the task looks at its timers and commands again. The socket is not
/// read while this many messages wait for the consumer, so a batch handed over holds fewer than twice this.
pub(crate) const DRAIN_LIMIT: usize = 256;

/// A session that lasted this long was a success: the next outage counts its retries from 1 again. So was
/// one that delivered an event on a wanted channel, however short (on a flaky network every reconnect
/// works and each socket breaks a few seconds later: counting those as one outage ended in `failed` after
/// five of them, and events were lost until someone retried). Resetting at every hello would let a server
/// that greets and then asks for an immediate reconnect cause a tight loop; such a server delivers nothing.
const STABLE_AFTER: Duration = Duration::from_secs(10);

/// Where a wanted channel stands on the current socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChannelStatus {
    /// Not yet subscribed on this socket (its subscribe is queued).
    Pending,
    /// Waiting for the authorizer's answer to request number `n`.
    Authorising(u64),
    /// The server confirmed it.
    Subscribed,
    /// The server or the authorizer refused it.
    Refused,
}

/// How a session or an attempt ended.
enum End {
    /// Apply the reconnection policy.
    Next(Next),
    /// `reconnect_now()` was called: connect again at once, with a fresh retry count.
    Asked,
    /// `shutdown()` was called; answer it once closed.
    Shutdown(Option<oneshot::Sender<()>>),
}

/// How a wait between attempts ended.
enum Wake {
    /// The delay passed.
    Retry,
    /// `reconnect_now()` was called: a fresh retry count.
    Asked,
    /// `shutdown()` was called (or the handle dropped).
    Shutdown(Option<oneshot::Sender<()>>),
}

/// An authorizer's answer for a channel on a socket.
struct AuthResult {
    serial: u64,
    socket_id: String,
    channel: String,
    result: Result<ChannelAuth, String>,
}

/// The task's state.
pub(crate) struct Driver {
    config: Arc<PusherConfig>,
    authorizer: Option<Arc<dyn ChannelAuthorizer>>,
    channels: BTreeMap<String, ChannelStatus>,
    outbox: Outbox,
    inbound: mpsc::Sender<Vec<Inbound>>,
    pending: Vec<Inbound>,
    state: watch::Sender<ConnectionState>,
    changes: broadcast::Sender<ConnectionState>,
    commands: mpsc::Receiver<Command>,
    reconnect: Arc<Notify>,
    auth_results: (mpsc::Sender<AuthResult>, mpsc::Receiver<AuthResult>),
    auth_requests: u64,
    /// Whether the current socket delivered an event on a wanted channel (see [`STABLE_AFTER`]).
    delivered: bool,
}

impl Driver {
    pub(crate) fn new(
        config: Arc<PusherConfig>,
        authorizer: Option<Arc<dyn ChannelAuthorizer>>,
        inbound: mpsc::Sender<Vec<Inbound>>,
        state: watch::Sender<ConnectionState>,
        changes: broadcast::Sender<ConnectionState>,
        commands: mpsc::Receiver<Command>,
        reconnect: Arc<Notify>,
    ) -> Self {
        Driver {
            outbox: Outbox::new(config.send_per_second, config.send_queue),
            config,
            authorizer,
            channels: BTreeMap::new(),
            inbound,
            pending: Vec::with_capacity(DRAIN_LIMIT),
            state,
            changes,
            commands,
            reconnect,
            auth_results: mpsc::channel(64),
            auth_requests: 0,
            delivered: false,
        }
    }

    /// Runs until shutdown.
    pub(crate) async fn run(mut self) {
        let mut outage = Outage::new(&self.config.backoff);
        loop {
            self.publish(ConnectionState::Connecting);
            let end = match self.open().await {
                Ok(Ok(opened)) => {
                    let span = tracing::info_span!("socket", socket_id = %opened.established.socket_id);
                    let since = Instant::now();
                    self.delivered = false;
                    let end = self
                        .session(opened.socket, opened.established)
                        .instrument(span)
                        .await;
                    if since.elapsed() >= STABLE_AFTER || self.delivered {
                        outage.reset();
                    }
                    // Nothing queued for that socket goes to another; waiting callers hear so now.
                    self.outbox.forget();
                    end
                }
                Ok(Err(next)) => End::Next(next),
                Err(reply) => End::Shutdown(reply),
            };
            let next = match end {
                End::Shutdown(reply) => return self.stopped(reply).await,
                End::Asked => {
                    outage.reset();
                    continue;
                }
                End::Next(next) => next,
            };
            let retry = match &next {
                Next::GiveUp(_) => None,
                Next::Backoff(_) => outage.next_retry(false),
                Next::Immediately(_) => outage.next_retry(true),
            };
            let wake = match retry {
                Some((attempt, next_in)) => {
                    tracing::info!(
                        attempt,
                        next_in_ms = next_in.as_millis() as u64,
                        reason = next.reason(),
                        "reconnecting"
                    );
                    self.publish(ConnectionState::Reconnecting { attempt, next_in });
                    self.wait(Some(Instant::now() + next_in)).await
                }
                None => {
                    let reason = next.failure(self.config.backoff.max_retries);
                    tracing::warn!(%reason, "connection failed");
                    self.publish(ConnectionState::Failed { reason });
                    self.wait(None).await
                }
            };
            match wake {
                Wake::Shutdown(reply) => return self.stopped(reply).await,
                Wake::Asked => outage.reset(),
                Wake::Retry => {}
            }
        }
    }

    /// Hands over what was received and not yet delivered (the consumer gets every frame read, even at
    /// shutdown), then says the connection is closed.
    async fn stopped(&mut self, reply: Option<oneshot::Sender<()>>) {
        if !self.pending.is_empty() {
            let batch = std::mem::take(&mut self.pending);
            // Bounded by shutdown(): a consumer that never reads gets the task aborted.
            let _ = self.inbound.send(batch).await;
        }
        self.publish(ConnectionState::Disconnected);
        if let Some(reply) = reply {
            let _ = reply.send(());
        }
    }

    fn publish(&self, state: ConnectionState) {
        // Every change, for logs (nobody listening is fine); the watch keeps the latest, for displays.
        let _ = self.changes.send(state.clone());
        self.state.send_replace(state);
    }

    /// Opens a connection while still answering commands. `Err` means shutdown was asked for meanwhile.
    async fn open(&mut self) -> Result<Result<connect::Opened, Next>, Option<oneshot::Sender<()>>> {
        let config = Arc::clone(&self.config);
        let opening = connect::open(&config);
        tokio::pin!(opening);
        let inbound = self.inbound.clone();
        loop {
            tokio::select! {
                opened = opening.as_mut() => return Ok(opened),
                permit = inbound.reserve(), if !self.pending.is_empty() => hand_over(&mut self.pending, permit),
                command = self.commands.recv() => {
                    if let Some(reply) = self.offline_command(command) {
                        return Err(reply);
                    }
                }
                // Asked to reconnect now while an attempt hangs (a dead route, say): start over.
                () = self.reconnect.notified() => opening.set(connect::open(&config)),
            }
        }
    }

    /// Waits until `deadline` (forever when `None`) or `reconnect_now()`, answering commands meanwhile.
    async fn wait(&mut self, deadline: Option<Instant>) -> Wake {
        let inbound = self.inbound.clone();
        loop {
            tokio::select! {
                permit = inbound.reserve(), if !self.pending.is_empty() => hand_over(&mut self.pending, permit),
                () = sleep_until(deadline.unwrap_or_else(far_future)), if deadline.is_some() => return Wake::Retry,
                () = self.reconnect.notified() => return Wake::Asked,
                command = self.commands.recv() => {
                    if let Some(reply) = self.offline_command(command) {
                        return Wake::Shutdown(reply);
                    }
                }
            }
        }
    }

    /// Handles a command while there is no socket. Returns the shutdown reply when the command is shutdown
    /// (`Some(None)` when the handle is gone).
    fn offline_command(&mut self, command: Option<Command>) -> Option<Option<oneshot::Sender<()>>> {
        match command {
            None => Some(None),
            Some(Command::Shutdown { reply }) => Some(Some(reply)),
            Some(Command::Request(Request::Subscribe { channel, reply })) => {
                self.channels.entry(channel).or_insert(ChannelStatus::Pending);
                let _ = reply.send(Ok(()));
                None
            }
            Some(Command::Request(Request::Unsubscribe { channel, reply })) => {
                self.channels.remove(&channel);
                let _ = reply.send(Ok(()));
                None
            }
            Some(Command::Request(Request::Trigger { reply, .. })) => {
                let _ = reply.send(Err(PusherError::NotConnected));
                None
            }
        }
    }

    /// One connected socket, from the hello to its end.
    async fn session(&mut self, socket: Socket, established: frame::Established) -> End {
        let (mut sink, mut stream) = socket.split();
        let socket_id = established.socket_id;
        let activity = match established.activity_timeout {
            Some(server) if server > 0 => self.config.activity_timeout.min(Duration::from_secs(server)),
            _ => self.config.activity_timeout,
        };
        self.outbox.forget();
        let channels: Vec<String> = self.channels.keys().cloned().collect();
        for channel in channels {
            self.request_subscribe(channel, &socket_id);
        }
        tracing::info!(
            activity_s = activity.as_secs(),
            channels = self.channels.len(),
            "connected"
        );
        self.publish(ConnectionState::Connected {
            session: Some(socket_id.clone()),
        });

        // One timer does both liveness jobs, re-armed lazily (never per frame): when it fires it checks what
        // was heard since, then pings, or calls the socket dead when a ping went unanswered.
        let mut last_heard = Instant::now();
        let mut ping_sent: Option<Instant> = None;
        let liveness = sleep_until(last_heard + activity);
        tokio::pin!(liveness);
        let inbound = self.inbound.clone();
        let mut frames = (&mut stream).ready_chunks(DRAIN_LIMIT);
        loop {
            tokio::select! {
                // Every frame that is already here, in one go; not while the consumer is a chunk behind
                // (back-pressure: the socket waits, nothing is dropped, and the task stays responsive).
                messages = frames.next(), if self.pending.len() < DRAIN_LIMIT => {
                    let Some(messages) = messages else {
                        return End::Next(Next::Backoff("The Pusher server closed the connection.".to_owned()));
                    };
                    for message in messages {
                        if let Some(end) = self.on_message(message, &mut sink).await {
                            return end;
                        }
                    }
                    last_heard = Instant::now();
                }
                command = self.commands.recv() => match command {
                    None => {
                        self.send_close(&mut sink, "client stopped").await;
                        return End::Shutdown(None);
                    }
                    Some(Command::Shutdown { reply }) => {
                        drop(frames);
                        let mut socket = sink.reunite(stream).ok();
                        if let Some(socket) = socket.as_mut() {
                            self.close_gracefully(socket).await;
                        }
                        return End::Shutdown(Some(reply));
                    }
                    Some(Command::Request(request)) => self.online_request(request, &socket_id),
                },
                () = self.reconnect.notified() => {
                    self.send_close(&mut sink, "reconnecting").await;
                    return End::Asked;
                }
                Some(auth) = self.auth_results.1.recv() => self.on_auth(auth, &socket_id),
                permit = inbound.reserve(), if !self.pending.is_empty() => hand_over(&mut self.pending, permit),
                () = &mut liveness => {
                    let now = Instant::now();
                    match ping_sent {
                        // Not reading (the consumer is behind): silence says nothing about the server.
                        _ if self.pending.len() >= DRAIN_LIMIT => {
                            ping_sent = None;
                            last_heard = now;
                            liveness.as_mut().reset(now + activity);
                        }
                        Some(sent) if last_heard <= sent => {
                            return End::Next(Next::Immediately(format!(
                                "No reply from the Pusher server within {} s of a ping: the connection is dead.",
                                self.config.pong_timeout.as_secs_f64()
                            )));
                        }
                        Some(_) => {
                            ping_sent = None;
                            liveness.as_mut().reset(last_heard + activity);
                        }
                        None if last_heard + activity > now => liveness.as_mut().reset(last_heard + activity),
                        None => {
                            tracing::debug!("quiet for {} s: pinging", activity.as_secs_f64());
                            self.outbox.push_front(Outgoing::Ping);
                            ping_sent = Some(now);
                            liveness.as_mut().reset(now + self.config.pong_timeout);
                        }
                    }
                }
                () = sleep_until(self.outbox.wake_at()), if !self.outbox.is_empty() => {
                    if let Some(frame) = self.outbox.pop_if_due() {
                        let (text, ack) = encode(frame);
                        let sent = timeout(self.config.pong_timeout, sink.send(Message::text(text))).await;
                        let failure = match sent {
                            Ok(Ok(())) => None,
                            Ok(Err(e)) => Some(format!("The connection to the Pusher server was lost while sending: {e}.")),
                            Err(_) => Some(format!(
                                "The Pusher server took no data for {} s: the connection is stuck.",
                                self.config.pong_timeout.as_secs_f64()
                            )),
                        };
                        if let Some(ack) = ack {
                            ack.send(if failure.is_none() { Ok(()) } else { Err(PusherError::NotConnected) });
                        }
                        if let Some(reason) = failure {
                            return End::Next(Next::Immediately(reason));
                        }
                    }
                }
            }
            self.offer_inbound();
        }
    }

    /// Handles one received message; `Some` ends the session.
    async fn on_message(
        &mut self,
        message: Result<Message, tungstenite::Error>,
        sink: &mut SplitSink<Socket, Message>,
    ) -> Option<End> {
        match message {
            Ok(Message::Text(text)) => {
                let next = self.on_text(&text)?;
                self.send_close(sink, "closing").await;
                Some(End::Next(next))
            }
            Ok(Message::Binary(bytes)) => {
                tracing::warn!(
                    bytes = bytes.len(),
                    "skipping a binary frame: Pusher frames are text"
                );
                None
            }
            Ok(Message::Close(frame)) => Some(End::Next(connect::closed(frame))),
            Ok(_) => None,
            Err(e) => Some(End::Next(Next::Backoff(format!(
                "The connection to the Pusher server was lost: {e}."
            )))),
        }
    }

    /// Sends a close frame, giving up after the pong timeout (a stuck socket must not hold the task).
    async fn send_close(&self, sink: &mut SplitSink<Socket, Message>, reason: &'static str) {
        let frame = Message::Close(Some(close(CloseCode::Normal, reason)));
        let _ = timeout(self.config.pong_timeout, sink.send(frame)).await;
    }

    /// Handles a caller's request on a live socket.
    fn online_request(&mut self, request: Request, socket_id: &str) {
        match request {
            Request::Subscribe { channel, reply } => {
                // Subscribed or on its way: nothing to send. A refused channel is tried again.
                if matches!(
                    self.channels.get(&channel),
                    Some(ChannelStatus::Subscribed | ChannelStatus::Pending | ChannelStatus::Authorising(_))
                ) {
                    let _ = reply.send(Ok(()));
                    return;
                }
                let result = if needs_auth(&channel) {
                    // Its subscribe joins the queue once authorised; the room is checked now.
                    self.outbox
                        .check_room()
                        .map(|()| self.request_subscribe(channel, socket_id))
                } else {
                    self.outbox
                        .push_for_caller(Outgoing::Subscribe {
                            channel: channel.clone(),
                            auth: None,
                        })
                        .map(|()| {
                            self.channels.insert(channel, ChannelStatus::Pending);
                        })
                };
                let _ = reply.send(result);
            }
            Request::Unsubscribe { channel, reply } => {
                let result = match self.channels.get(&channel) {
                    None => Ok(()),
                    Some(_) => self
                        .outbox
                        .push_for_caller(Outgoing::Unsubscribe(channel.clone()))
                        .map(|()| {
                            self.channels.remove(&channel);
                        }),
                };
                let _ = reply.send(result);
            }
            Request::Trigger {
                channel,
                event,
                data,
                reply,
            } => {
                let text = outgoing::client_event(&channel, &event, &data);
                // Answered once written (or not: the socket dropped first).
                if let Err(e) = self.outbox.check_room() {
                    let _ = reply.send(Err(e));
                } else {
                    let _ = self
                        .outbox
                        .push_for_caller(Outgoing::ClientEvent(text, Ack::new(reply)));
                }
            }
        }
    }

    /// Queues the subscribe of `channel`; private and presence channels first get their auth (in a task,
    /// so a slow authorizer never stalls the socket).
    fn request_subscribe(&mut self, channel: String, socket_id: &str) {
        if !needs_auth(&channel) {
            self.channels.insert(channel.clone(), ChannelStatus::Pending);
            self.outbox.push(Outgoing::Subscribe { channel, auth: None });
            return;
        }
        self.auth_requests += 1;
        let serial = self.auth_requests;
        self.channels
            .insert(channel.clone(), ChannelStatus::Authorising(serial));
        let results = self.auth_results.0.clone();
        let socket_id = socket_id.to_owned();
        let authorizer = self.authorizer.clone();
        tokio::spawn(async move {
            let result = match authorizer {
                Some(authorizer) => authorizer
                    .authorize(&socket_id, &channel)
                    .await
                    .map_err(|e| e.to_string()),
                None => Err("it is private and no authorizer is configured".to_owned()),
            };
            let _ = results
                .send(AuthResult {
                    serial,
                    socket_id,
                    channel,
                    result,
                })
                .await;
        });
    }

    /// Queues an authorised subscribe, or reports the refusal. Answers for another socket, or for a request
    /// since replaced (unsubscribed and subscribed again), are dropped.
    fn on_auth(&mut self, auth: AuthResult, socket_id: &str) {
        if auth.socket_id != socket_id
            || self.channels.get(&auth.channel) != Some(&ChannelStatus::Authorising(auth.serial))
        {
            return;
        }
        match auth.result {
            Ok(ChannelAuth {
                auth: secret,
                channel_data,
            }) => {
                self.channels.insert(auth.channel.clone(), ChannelStatus::Pending);
                self.outbox.push(Outgoing::Subscribe {
                    channel: auth.channel,
                    auth: Some((secret.expose_secret().to_owned(), channel_data)),
                });
            }
            Err(reason) => {
                tracing::warn!(channel = %auth.channel, %reason, "channel not authorised");
                self.channels.insert(auth.channel.clone(), ChannelStatus::Refused);
                self.deliver(Inbound::SubscriptionFailed {
                    channel: auth.channel,
                    reason: format!("Could not authorise the channel: {reason}"),
                });
            }
        }
    }

    /// Handles one text frame; `Some` ends the session.
    fn on_text(&mut self, text: &str) -> Option<Next> {
        let frame = match frame::parse(text, self.config.max_frame_bytes) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(error = %e, start = preview(text), "skipping a frame");
                return None;
            }
        };
        match frame.event.as_str() {
            "pusher:ping" => self.outbox.push_front(Outgoing::Pong),
            "pusher:pong" => {}
            "pusher:connection_established" => tracing::debug!("ignoring a second hello"),
            "pusher:error" => {
                let error: ErrorData = frame.data.decode().unwrap_or_default();
                if let Some(next) = policy::pusher_error(&error) {
                    return Some(next);
                }
                let message = error.message.unwrap_or_default();
                tracing::warn!(code = error.code, %message, "the Pusher server reported an error");
                self.deliver(Inbound::ServerError {
                    code: error.code,
                    message,
                });
            }
            "pusher_internal:subscription_succeeded" => self.on_subscribed(frame),
            "pusher:subscription_error" => self.on_subscription_error(frame),
            _ => self.on_event(frame),
        }
        None
    }

    /// Marks a wanted channel subscribed and says so.
    fn on_subscribed(&mut self, frame: PusherFrame) {
        let Some(channel) = frame.channel else { return };
        if let Some(status) = self.channels.get_mut(&channel) {
            *status = ChannelStatus::Subscribed;
            tracing::debug!(%channel, "subscribed");
            self.deliver(Inbound::Subscribed {
                channel,
                data: frame.data,
            });
        }
    }

    /// Marks a wanted channel refused and says why.
    fn on_subscription_error(&mut self, frame: PusherFrame) {
        let Some(channel) = frame.channel else { return };
        let data: SubscriptionErrorData = frame.data.decode().unwrap_or_default();
        if let Some(status) = self.channels.get_mut(&channel) {
            *status = ChannelStatus::Refused;
            tracing::warn!(%channel, reason = %data, "subscription refused");
            self.deliver(Inbound::SubscriptionFailed {
                channel,
                reason: data.to_string(),
            });
        }
    }

    /// Delivers an event on a wanted channel (or a connection-level one); events for channels given up
    /// meanwhile are dropped.
    fn on_event(&mut self, frame: PusherFrame) {
        if let Some(channel) = &frame.channel
            && !self.channels.contains_key(channel)
        {
            tracing::trace!(%channel, event = %frame.event, "event for a channel no longer wanted");
            return;
        }
        self.delivered |= frame.channel.is_some();
        self.deliver(Inbound::Event(frame));
    }

    /// Queues `item` for the consumer; [`Driver::offer_inbound`] hands the queue over in batches.
    fn deliver(&mut self, item: Inbound) {
        self.pending.push(item);
    }

    /// Hands what is queued to the consumer if its inbox has room, without waiting: what stays queued goes
    /// out through the `reserve` branches as soon as there is room (and the socket is not read while a
    /// whole chunk waits).
    fn offer_inbound(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.inbound.try_reserve() {
            Ok(permit) => hand_over(&mut self.pending, Ok(permit)),
            Err(mpsc::error::TrySendError::Full(())) => {}
            Err(mpsc::error::TrySendError::Closed(())) => {
                hand_over(&mut self.pending, Err(mpsc::error::SendError(())))
            }
        }
    }

    /// Unsubscribes (paced, within part of the shutdown bound), sends close 1000 and waits for the server's
    /// close, all within the shutdown bound.
    async fn close_gracefully(&mut self, socket: &mut Socket) {
        let deadline = Instant::now() + self.config.shutdown_timeout.mul_f64(0.8);
        let unsubscribe_until = Instant::now() + self.config.shutdown_timeout.mul_f64(0.4);
        self.outbox.forget();
        let subscribed: Vec<String> = self.channels.keys().cloned().collect();
        for channel in subscribed {
            self.outbox.push(Outgoing::Unsubscribe(channel));
        }
        while !self.outbox.is_empty() && Instant::now() < unsubscribe_until {
            match self.outbox.pop_if_due() {
                Some(frame) => {
                    let (text, _) = encode(frame);
                    if timeout_at(deadline, socket.send(Message::text(text)))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                None => sleep_until(self.outbox.wake_at().min(unsubscribe_until)).await,
            }
        }
        if !self.outbox.is_empty() {
            tracing::debug!("shutdown bound reached before every unsubscribe was sent");
        }
        let _ = timeout_at(
            deadline,
            socket.close(Some(close(CloseCode::Normal, "client shutting down"))),
        )
        .await;
        // Frames still arriving before the server's close are delivered, not dropped.
        let _ = timeout_at(deadline, async {
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    let _ = self.on_text(&text);
                }
            }
        })
        .await;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Ended however (aborted past the shutdown bound included): watchers must not see a live state.
        let changed = self.state.send_if_modified(|state| {
            let changed = *state != ConnectionState::Disconnected;
            *state = ConnectionState::Disconnected;
            changed
        });
        if changed {
            let _ = self.changes.send(ConnectionState::Disconnected);
        }
    }
}

/// The frame's text, and who to tell once it is written. Auth strings only ever exist here and on the wire.
fn encode(frame: Outgoing) -> (String, Option<Ack>) {
    let text = match frame {
        Outgoing::Subscribe { channel, auth } => match auth {
            None => outgoing::subscribe(&channel, None, None),
            Some((auth, data)) => outgoing::subscribe(&channel, Some(&auth), data.as_deref()),
        },
        Outgoing::Unsubscribe(channel) => outgoing::unsubscribe(&channel),
        Outgoing::Ping => outgoing::ping(),
        Outgoing::Pong => outgoing::pong(),
        Outgoing::ClientEvent(text, ack) => return (text, Some(ack)),
    };
    (text, None)
}

/// Sends the `pending` messages through `permit`; drops them when the consumer dropped its inbox (it no
/// longer wants them; the connection lives on regardless).
fn hand_over(
    pending: &mut Vec<Inbound>,
    permit: Result<mpsc::Permit<'_, Vec<Inbound>>, mpsc::error::SendError<()>>,
) {
    let batch = std::mem::replace(pending, Vec::with_capacity(DRAIN_LIMIT));
    if let Ok(permit) = permit {
        permit.send(batch);
    }
}

fn close(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// A point in time no test or session reaches (timers that are off).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// The first characters of a skipped frame, for the log.
fn preview(text: &str) -> &str {
    let mut end = text.len().min(120);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
