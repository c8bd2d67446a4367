//! The handle callers hold: subscribe, unsubscribe, client events, `reconnect_now`, the state watch and
//! `shutdown`; and the [`Inbox`] of what the server sent.

use std::sync::Arc;

use onair_core::ConnectionState;
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::PusherError;
use crate::auth::{ChannelAuthorizer, needs_auth};
use crate::config::{Cluster, Endpoint, PusherConfig};
use crate::driver::Driver;
use crate::frame::{Data, PusherFrame};

/// State changes kept for a log reader that fell behind.
const STATE_CHANGES_BUFFER: usize = 256;

/// What the client delivers, in the order it happened on the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// An event on a subscribed channel (or a connection-level event the client does not handle itself).
    Event(PusherFrame),
    /// The server confirmed a subscription (again after every reconnect).
    Subscribed {
        /// The channel.
        channel: String,
        /// What came with the confirmation: the member list on presence channels.
        data: Data,
    },
    /// The server or the authorizer refused a subscription; the client does not retry it on this socket.
    SubscriptionFailed {
        /// The channel.
        channel: String,
        /// What went wrong, in words for people.
        reason: String,
    },
    /// A `pusher:error` that does not end the connection (a refused client event, say).
    ServerError {
        /// The Pusher error code, when given.
        code: Option<u16>,
        /// The server's explanation.
        message: String,
    },
}

/// A caller's request, answered once the task has taken it.
pub(crate) enum Request {
    Subscribe {
        channel: String,
        reply: oneshot::Sender<Result<(), PusherError>>,
    },
    Unsubscribe {
        channel: String,
        reply: oneshot::Sender<Result<(), PusherError>>,
    },
    Trigger {
        channel: String,
        event: String,
        data: serde_json::Value,
        reply: oneshot::Sender<Result<(), PusherError>>,
    },
}

/// What the handle sends its task.
pub(crate) enum Command {
    Request(Request),
    Shutdown { reply: oneshot::Sender<()> },
}

/// A Pusher connection that keeps itself up: reconnects with backoff, resubscribes, pings when quiet.
pub struct PusherClient {
    commands: mpsc::Sender<Command>,
    reconnect: Arc<Notify>,
    state: watch::Receiver<ConnectionState>,
    changes: Option<broadcast::Receiver<ConnectionState>>,
    changes_tx: broadcast::Sender<ConnectionState>,
    config: Arc<PusherConfig>,
    task: JoinHandle<()>,
}

/// The messages of one client, in order. Dropping it discards later messages; the connection stays up.
///
/// The client hands messages over in batches (one channel operation and at most one wake-up per burst of
/// frames); the inbox gives them out one by one or many at a time.
pub struct Inbox {
    batches: mpsc::Receiver<Vec<Inbound>>,
    current: std::vec::IntoIter<Inbound>,
}

impl Inbox {
    /// The next message; `None` once the client has stopped.
    pub async fn recv(&mut self) -> Option<Inbound> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            self.current = self.batches.recv().await?.into_iter();
        }
    }

    /// Waits for at least one message and appends up to `limit` to `buffer`; returns how many (0 once the
    /// client has stopped).
    pub async fn recv_many(&mut self, buffer: &mut Vec<Inbound>, limit: usize) -> usize {
        if self.current.len() == 0 {
            match self.batches.recv().await {
                Some(batch) => self.current = batch.into_iter(),
                None => return 0,
            }
        }
        let before = buffer.len();
        buffer.extend(self.current.by_ref().take(limit));
        buffer.len() - before
    }
}

impl PusherClient {
    /// Starts connecting in a new task (public channels only; see [`PusherClient::start_with_authorizer`]).
    pub fn start(config: PusherConfig) -> (PusherClient, Inbox) {
        Self::spawn(config, None)
    }

    /// Starts connecting; private and presence channels are authorised by `authorizer`.
    pub fn start_with_authorizer(
        config: PusherConfig,
        authorizer: Arc<dyn ChannelAuthorizer>,
    ) -> (PusherClient, Inbox) {
        Self::spawn(config, Some(authorizer))
    }

    fn spawn(config: PusherConfig, authorizer: Option<Arc<dyn ChannelAuthorizer>>) -> (PusherClient, Inbox) {
        let config = Arc::new(config);
        let batches = config.inbound_buffer.div_ceil(crate::driver::DRAIN_LIMIT).max(1);
        let (inbound_tx, inbound_rx) = mpsc::channel(batches);
        let (state_tx, state_rx) = watch::channel(ConnectionState::Connecting);
        // Made before the task starts, so the first taker sees every change from the first.
        let (changes_tx, changes) = broadcast::channel(STATE_CHANGES_BUFFER);
        let (commands_tx, commands_rx) = mpsc::channel(64);
        let reconnect = Arc::new(Notify::new());
        let span = tracing::info_span!("pusher", endpoint = %describe(&config.endpoint));
        let driver = Driver::new(
            Arc::clone(&config),
            authorizer,
            inbound_tx,
            state_tx,
            changes_tx.clone(),
            commands_rx,
            Arc::clone(&reconnect),
        );
        let task = tokio::spawn(tracing::Instrument::instrument(driver.run(), span));
        let client = PusherClient {
            commands: commands_tx,
            reconnect,
            state: state_rx,
            changes: Some(changes),
            changes_tx,
            config,
            task,
        };
        let inbox = Inbox {
            batches: inbound_rx,
            current: Vec::new().into_iter(),
        };
        (client, inbox)
    }

    /// Subscribes to `channel`, now and after every reconnect. `Ok` means queued; the [`Inbox`] says when
    /// the server confirms.
    pub async fn subscribe(&self, channel: &str) -> Result<(), PusherError> {
        check_channel(channel)?;
        self.request(|reply| Request::Subscribe {
            channel: channel.to_owned(),
            reply,
        })
        .await
    }

    /// Stops receiving `channel`.
    pub async fn unsubscribe(&self, channel: &str) -> Result<(), PusherError> {
        self.request(|reply| Request::Unsubscribe {
            channel: channel.to_owned(),
            reply,
        })
        .await
    }

    /// Sends a client event (`client-` prefix, on a private or presence channel) to the other subscribers.
    /// Resolves once the frame is written to the socket (paced like every frame); `NotConnected` when there
    /// is no socket, or the socket dropped before its turn (events are not carried over to a new socket,
    /// whose channels are not subscribed yet).
    pub async fn trigger(
        &self,
        channel: &str,
        event: &str,
        data: serde_json::Value,
    ) -> Result<(), PusherError> {
        if !event.starts_with("client-") {
            return Err(PusherError::Invalid(format!(
                "client events must be named `client-...`, not {event:?}"
            )));
        }
        if !needs_auth(channel) {
            return Err(PusherError::Invalid(format!(
                "client events go to private or presence channels, not {channel:?}"
            )));
        }
        self.request(|reply| Request::Trigger {
            channel: channel.to_owned(),
            event: event.to_owned(),
            data,
            reply,
        })
        .await
    }

    /// Drops the current socket (if any) and connects again now, with a fresh retry count: for when the
    /// network comes back, the computer wakes up, or the user asks.
    pub fn reconnect_now(&self) {
        self.reconnect.notify_one();
    }

    /// The connection's state, updated at every change (a watch: a slow reader sees the latest, not each).
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    /// Every state change, in order, for a log. The first call gets them all since the start; later calls
    /// get those after the call. A reader more than 256 changes behind is told how many it missed.
    pub fn state_changes(&mut self) -> broadcast::Receiver<ConnectionState> {
        self.changes.take().unwrap_or_else(|| self.changes_tx.subscribe())
    }

    /// The cluster detection chose (or the one cached), when the endpoint is detected.
    pub fn cluster(&self) -> Option<Cluster> {
        let Endpoint::Detect { candidates, .. } = &self.config.endpoint else {
            return None;
        };
        let name = self.config.cluster_cache.get()?;
        candidates.iter().find(|c| c.name == name).cloned()
    }

    /// Unsubscribes, closes the socket with 1000 and ends the task, all within the configured bound (the
    /// task is aborted past it).
    pub async fn shutdown(mut self) {
        let (reply, done) = oneshot::channel();
        let bound = self.config.shutdown_timeout;
        let commands = self.commands.clone();
        let graceful = timeout(bound, async {
            if commands.send(Command::Shutdown { reply }).await.is_ok() {
                let _ = done.await;
            }
            let _ = (&mut self.task).await;
        })
        .await;
        if graceful.is_err() {
            tracing::warn!("the Pusher client did not stop within {bound:?}; aborting it");
            self.task.abort();
        }
    }

    async fn request(
        &self,
        request: impl FnOnce(oneshot::Sender<Result<(), PusherError>>) -> Request,
    ) -> Result<(), PusherError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Request(request(reply)))
            .await
            .map_err(|_| PusherError::Stopped)?;
        answer.await.map_err(|_| PusherError::Stopped)?
    }
}

/// A channel name Pusher accepts: 1 to 164 characters of `A-Za-z0-9_-=@,.;`; encrypted channels are not
/// supported (their payloads would arrive as ciphertext).
fn check_channel(channel: &str) -> Result<(), PusherError> {
    if channel.starts_with("private-encrypted-") {
        return Err(PusherError::Invalid(format!(
            "{channel:?} is an end-to-end encrypted channel, which this client does not decrypt"
        )));
    }
    let valid = !channel.is_empty()
        && channel.len() <= 164
        && channel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-=@,.;".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(PusherError::Invalid(format!(
            "{channel:?} is not a Pusher channel name (1-164 characters of letters, digits and _-=@,.;)"
        )))
    }
}

/// The endpoint for logs: the host, or the clusters probed.
fn describe(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Url(url) => crate::connect::host_of(url),
        Endpoint::Detect { candidates, .. } => format!(
            "detect among {}",
            candidates
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_checked() {
        assert!(check_channel("chatrooms.4760932.v2").is_ok());
        assert!(check_channel("private-channel_1").is_ok());
        assert!(check_channel("predictions-channel-1").is_ok());
        assert!(check_channel("").is_err());
        assert!(check_channel("bad channel name!").is_err());
        assert!(check_channel(&"a".repeat(164)).is_ok());
        assert!(check_channel(&"a".repeat(165)).is_err());
        assert!(check_channel("private-encrypted-room").is_err());
    }
}
