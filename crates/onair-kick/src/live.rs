//! Watching Kick channels live: one Pusher connection subscribed to every feed of every watched channel,
//! each frame routed to its channel by the feed's name, mapped, and sent on to the hub.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use onair_core::{ChannelRef, ConnectionState, Event, LiveConnection};
use onair_pusher::{Endpoint, Inbound, Inbox, PusherClient, PusherConfig};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::events::{EventMap, Mapped};
use crate::spec::KickIds;

/// Kick's Pusher app key (public: every Kick web client uses it).
pub const PUSHER_APP_KEY: &str = "32cbd69e4b950bf97679";

/// The environment variable with a full WebSocket URL (app key included) that replaces Kick's Pusher
/// endpoint and skips cluster detection: a local server in tests, the simulator.
pub const PUSHER_URL_ENV: &str = "ONAIR_KICK_PUSHER_URL";

/// The Pusher endpoint: [`PUSHER_URL_ENV`] when set, else `configured` (a settings file's URL), else
/// detection among Pusher's clusters for Kick's key.
pub fn endpoint(configured: Option<&str>) -> Endpoint {
    let from_env = std::env::var(PUSHER_URL_ENV).ok();
    match from_env.as_deref().or(configured).map(str::trim) {
        Some(url) if !url.is_empty() => Endpoint::Url(url.to_owned()),
        _ => Endpoint::detect(PUSHER_APP_KEY),
    }
}

/// The Pusher channels ("feeds") a Kick channel's events arrive on.
pub fn feeds(ids: KickIds) -> [String; 5] {
    let KickIds {
        channel_id,
        chatroom_id,
    } = ids;
    [
        format!("chatrooms.{chatroom_id}.v2"),
        format!("chatroom_{chatroom_id}"),
        format!("channel.{channel_id}"),
        format!("channel_{channel_id}"),
        format!("predictions-channel-{channel_id}"),
    ]
}

/// The ids of a channel reference that carries both (as the look-up and `kick:SLUG@CHANNEL/CHATROOM` give).
pub fn ids_of(channel: &ChannelRef) -> Option<KickIds> {
    Some(KickIds {
        channel_id: channel.platform_id.parse().ok()?,
        chatroom_id: channel.chatroom_id.as_deref()?.parse().ok()?,
    })
}

/// A live connection to Kick for a set of channels.
pub struct KickLive {
    client: PusherClient,
    pump: JoinHandle<()>,
}

impl KickLive {
    /// Connects and subscribes every feed of `channels` (each must carry its chatroom id), sending every
    /// event to `sink` (waiting when it is full: back-pressure, never a drop).
    pub async fn start(config: PusherConfig, channels: &[ChannelRef], sink: mpsc::Sender<Event>) -> KickLive {
        let mut routes = HashMap::new();
        for channel in channels {
            match ids_of(channel) {
                Some(ids) => {
                    for feed in feeds(ids) {
                        routes.insert(feed, channel.clone());
                    }
                }
                None => {
                    tracing::error!(slug = %channel.slug, "a Kick channel without its two ids cannot be watched")
                }
            }
        }
        let (client, inbox) = PusherClient::start(config);
        for feed in routes.keys() {
            // The client's own queue holds every feed (subscribes of a new client are never refused).
            if let Err(e) = client.subscribe(feed).await {
                tracing::error!(%feed, error = %e, "could not subscribe");
            }
        }
        let pump = tokio::spawn(pump(inbox, Arc::new(routes), sink));
        KickLive { client, pump }
    }
}

#[async_trait]
impl LiveConnection for KickLive {
    fn state(&self) -> watch::Receiver<ConnectionState> {
        self.client.state()
    }

    fn state_changes(&mut self) -> broadcast::Receiver<ConnectionState> {
        self.client.state_changes()
    }

    fn reconnect_now(&self) {
        self.client.reconnect_now();
    }

    async fn shutdown(self: Box<Self>) {
        let KickLive { client, pump } = *self;
        client.shutdown().await;
        let _ = pump.await;
    }
}

/// Maps what the client delivers and hands it to the sink, until the client stops.
async fn pump(mut inbox: Inbox, routes: Arc<HashMap<String, ChannelRef>>, sink: mpsc::Sender<Event>) {
    let mut map = EventMap::new();
    // Each subscription of a feed gets its own arrival name (`feed#n`, n counting the confirmations): a
    // frame repeated within one subscription is a real repeat; the same frame after the client
    // subscribed again on a new socket is a replay, a twin for the map.
    let mut arrivals: HashMap<String, (u32, String)> = HashMap::new();
    let mut batch = Vec::with_capacity(256);
    while inbox.recv_many(&mut batch, 256).await > 0 {
        for item in batch.drain(..) {
            match item {
                Inbound::Event(frame) => {
                    let Some((feed, channel)) = frame
                        .channel
                        .as_deref()
                        .and_then(|feed| Some((feed, routes.get(feed)?)))
                    else {
                        tracing::debug!(event = %frame.event, "an event outside the watched feeds");
                        continue;
                    };
                    let data = frame.data.text().unwrap_or("null");
                    let arrival = arrivals.get(feed).map_or(feed, |(_, name)| name.as_str());
                    match map.map(channel, arrival, &frame.event, data, Utc::now()) {
                        Mapped::Events(events) => {
                            for event in events {
                                if sink.send(event).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Mapped::Ignored(why) => tracing::trace!(event = %frame.event, why, "not recorded"),
                    }
                }
                Inbound::Subscribed { channel, .. } => {
                    tracing::debug!(feed = %channel, "subscribed");
                    let (count, name) = arrivals.entry(channel.clone()).or_default();
                    *count += 1;
                    *name = format!("{channel}#{count}");
                }
                Inbound::SubscriptionFailed { channel, reason } => {
                    tracing::warn!(feed = %channel, %reason, "Kick refused a feed")
                }
                Inbound::ServerError { code, message } => {
                    tracing::warn!(?code, %message, "the Pusher server reported an error")
                }
            }
        }
    }
}
