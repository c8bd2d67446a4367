//! Watching channels headless (`onair run`): each `kick:` spec resolved to its ids (given by hand, found in
//! the store, or looked up on Kick), one Kick connection for all of them, every event and every state
//! change recorded, and a connection that gave up retried on a slow timer, so a long outage never
//! silently ends the watching.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use onair_core::{
    ChannelRef, ConnectionId, ConnectionState, Event, Lookup, Platform, PlatformError, Realtime,
};
use onair_kick::WatchSpec;
use onair_store::{Store, StoreError};

use crate::claims::{ChannelClaim, Claim, ClaimError, try_claim};
use tokio::sync::{Notify, broadcast, mpsc};
use tokio::time::{Instant, sleep_until};

/// Why watching could not start or stopped early.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A channel could not be resolved to its ids.
    #[error("could not look {spec} up{}", hint(spec))]
    Lookup {
        /// The spec as given.
        spec: String,
        /// What the platform said.
        #[source]
        source: PlatformError,
    },
    /// The platform could not open a connection.
    #[error(transparent)]
    Connect(PlatformError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Who records the channel could not be settled.
    #[error(transparent)]
    Claim(#[from] ClaimError),
}

/// How the watch behaves.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How long a connection that gave up (`failed`) waits before the next try.
    pub retry_failed_after: Duration,
    /// Reconnects at once, with a fresh retry count, each time it is notified (a Reconnect button).
    pub reconnect: Option<Arc<Notify>>,
}

/// What a watch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchSummary {
    /// Events handed to the store (duplicates included; the store keeps one of each).
    pub events: u64,
    /// State changes recorded.
    pub state_changes: u64,
}

/// A channel to watch on any platform: `kick:SLUG[@CHANNEL_ID/CHATROOM_ID]`, `twitch:LOGIN` or
/// `discord:SERVER_ID[/CHANNEL_ID,...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelSpec {
    /// A Kick channel.
    Kick(WatchSpec),
    /// A Twitch channel by its login (lower case).
    Twitch(String),
    /// A Discord server, with the channels whose messages are recorded.
    Discord(crate::discord::DiscordSpec),
}

/// A channel spec that names no platform OnAir watches, or a malformed one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChannelSpecError(String);

impl std::str::FromStr for ChannelSpec {
    type Err = ChannelSpecError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let input = input.trim();
        if let Some(login) = input.strip_prefix("twitch:") {
            let valid = (1..=25).contains(&login.len())
                && login.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(ChannelSpecError(format!(
                    "{input:?} is not a Twitch channel: a login is 1 to 25 letters, digits and `_`; write twitch:LOGIN"
                )));
            }
            return Ok(ChannelSpec::Twitch(login.to_ascii_lowercase()));
        }
        if input.starts_with("discord:") {
            return input
                .parse()
                .map(ChannelSpec::Discord)
                .map_err(|e: crate::discord::DiscordSpecError| ChannelSpecError(e.to_string()));
        }
        if input.starts_with("kick:") {
            return input
                .parse()
                .map(ChannelSpec::Kick)
                .map_err(|e: onair_kick::SpecError| ChannelSpecError(e.to_string()));
        }
        Err(ChannelSpecError(format!(
            "{input:?} names no platform: write kick:SLUG, twitch:LOGIN or discord:SERVER_ID[/CHANNEL_ID,...]"
        )))
    }
}

impl ChannelSpec {
    /// The channel's key in a watch list, `kick:slug` or `twitch:login` (ids given by hand do not make
    /// another channel).
    pub fn key(&self) -> String {
        match self {
            ChannelSpec::Kick(spec) => format!("kick:{}", spec.slug),
            ChannelSpec::Twitch(login) => format!("twitch:{login}"),
            ChannelSpec::Discord(spec) => format!("discord:{}", spec.guild_id),
        }
    }

    /// The platform.
    pub fn platform(&self) -> Platform {
        match self {
            ChannelSpec::Kick(_) => Platform::Kick,
            ChannelSpec::Twitch(_) => Platform::Twitch,
            ChannelSpec::Discord(_) => Platform::Discord,
        }
    }
}

impl std::fmt::Display for ChannelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelSpec::Kick(spec) => spec.fmt(f),
            ChannelSpec::Twitch(login) => write!(f, "twitch:{login}"),
            ChannelSpec::Discord(spec) => spec.fmt(f),
        }
    }
}

/// The Twitch channel `login`, with its broadcaster id: from the store, else looked up through Helix (and
/// then remembered).
pub async fn resolve_twitch(
    store: &Store,
    lookup: &dyn Lookup,
    login: &str,
) -> Result<ChannelRef, WatchError> {
    if let Some(channel) = store.channel_by_slug(Platform::Twitch, login).await? {
        return Ok(channel);
    }
    let channel = lookup
        .channel(login)
        .await
        .map_err(|source| WatchError::Lookup {
            spec: format!("twitch:{login}"),
            source,
        })?
        .channel;
    store
        .writer()
        .remember_channel(Platform::Twitch, channel.clone())
        .await?;
    Ok(channel)
}

/// The channel `spec` names, with both its ids: by hand, from the store, else from Kick's REST API.
pub async fn resolve(store: &Store, lookup: &dyn Lookup, spec: &WatchSpec) -> Result<ChannelRef, WatchError> {
    if let Some(ids) = spec.ids {
        let mut channel = ChannelRef::new(ids.channel_id.to_string(), &spec.slug);
        channel.chatroom_id = Some(ids.chatroom_id.to_string());
        // Remembered, so `kick:SLUG` alone works next time.
        store
            .writer()
            .remember_channel(Platform::Kick, channel.clone())
            .await?;
        return Ok(channel);
    }
    if let Some(channel) = store.channel_by_slug(Platform::Kick, &spec.slug).await?
        && channel.chatroom_id.is_some()
    {
        tracing::debug!(slug = %spec.slug, "ids found in the store");
        return Ok(channel);
    }
    let channel = lookup
        .channel(&spec.slug)
        .await
        .map_err(|source| WatchError::Lookup {
            spec: spec.to_string(),
            source,
        })?
        .channel;
    // Remembered now, not with the first event: a quiet channel must not be looked up again.
    store
        .writer()
        .remember_channel(Platform::Kick, channel.clone())
        .await?;
    Ok(channel)
}

/// Watches `channels` until `stop` completes: records every event and state change through the store's
/// writer, tells `on_state` about each change and `on_warnings` about the events the connection cannot
/// receive (a missing permission, a revoked subscription), and ends with everything received committed.
pub async fn watch(
    store: &Store,
    platform: &dyn Realtime,
    channels: &[ChannelRef],
    options: WatchOptions,
    stop: impl Future<Output = ()>,
    mut on_state: impl FnMut(&ConnectionId, &ConnectionState),
    mut on_warnings: impl FnMut(&ConnectionId, &[String]),
) -> Result<WatchSummary, WatchError> {
    let writer = store.writer();
    let id = ConnectionId::new(platform.platform(), platform.connection_name(channels));
    tokio::pin!(stop);
    // Held until the watch ends: one process records a channel into a database at a time.
    let Some(_claims) = claim_channels(
        store,
        platform.platform(),
        channels,
        &id,
        &mut on_warnings,
        stop.as_mut(),
    )
    .await?
    else {
        return Ok(WatchSummary::default());
    };
    let (sink, mut events) = mpsc::channel::<Event>(1024);
    let mut live = platform
        .connect(channels, sink)
        .await
        .map_err(WatchError::Connect)?;
    // Every change, in order, from the first (a watch would skip the ones in between).
    let mut changes = live.state_changes();
    let mut warnings = live.warnings();
    let mut summary = WatchSummary::default();
    let mut retry_at: Option<Instant> = None;
    loop {
        tokio::select! {
            () = &mut stop => break,
            event = events.recv() => match event {
                Some(event) => {
                    writer.append_detached(event).await?;
                    summary.events += 1;
                }
                // The mapping task ended on its own: nothing more would be recorded, so stop rather
                // than look connected.
                None => {
                    tracing::error!(connection = %id, "the event pipeline stopped; ending the watch");
                    break;
                }
            },
            change = changes.recv() => {
                let state = match change {
                    Ok(state) => state,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(connection = %id, missed, "state changes missed by the log");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                retry_at = matches!(state, ConnectionState::Failed { .. })
                    .then(|| Instant::now() + options.retry_failed_after);
                writer.record_state(&id, &state).await?;
                crate::metrics::record_state(&id, &state);
                on_state(&id, &state);
                summary.state_changes += 1;
            }
            Ok(()) = warnings.changed() => {
                let now = warnings.borrow_and_update().clone();
                for warning in &now {
                    tracing::warn!(connection = %id, %warning, "events missing");
                }
                on_warnings(&id, &now);
            }
            () = asked(options.reconnect.as_deref()) => {
                retry_at = None;
                tracing::info!(connection = %id, "reconnecting, as asked");
                live.reconnect_now();
            }
            () = sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                retry_at = None;
                tracing::info!(connection = %id, "retrying the connection that gave up");
                live.reconnect_now();
            }
        }
    }
    // Close the connection while still taking what it hands over, then commit everything.
    let closing = tokio::spawn(live.shutdown());
    while let Some(event) = events.recv().await {
        writer.append_detached(event).await?;
        summary.events += 1;
    }
    let _ = closing.await;
    let last = ConnectionState::Disconnected;
    writer.record_state(&id, &last).await?;
    crate::metrics::record_state(&id, &last);
    on_state(&id, &last);
    summary.state_changes += 1;
    writer.flush().await?;
    Ok(summary)
}

/// How often a watch waiting for a channel another process records asks again.
const CLAIM_RETRY: Duration = Duration::from_secs(2);

/// Waits until this process may record every one of `channels` (see [`crate::claims`]), telling
/// `on_warnings` meanwhile who records them (and clearing it once they are ours); `None` if `stop` comes
/// first.
async fn claim_channels(
    store: &Store,
    platform: Platform,
    channels: &[ChannelRef],
    id: &ConnectionId,
    on_warnings: &mut impl FnMut(&ConnectionId, &[String]),
    mut stop: std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Result<Option<Vec<ChannelClaim>>, WatchError> {
    let mut told: Vec<String> = Vec::new();
    loop {
        let mut held = Vec::new();
        let mut elsewhere = Vec::new();
        for channel in channels {
            match try_claim(store.path(), platform, channel)? {
                Claim::Held(claim) => held.push(claim),
                Claim::Elsewhere { holder } => elsewhere.push(format!(
                    "{}:{} is recorded into this database by {holder}; its events show here, and this \
                     watch takes over when that one stops",
                    platform.as_str(),
                    channel.slug
                )),
            }
        }
        if elsewhere.is_empty() {
            if !told.is_empty() {
                tracing::info!(connection = %id, "recording here now: the other watch stopped");
                on_warnings(id, &[]);
            }
            return Ok(Some(held));
        }
        // Let go of what was taken, so two watches waiting for each other's channels cannot block forever.
        drop(held);
        if elsewhere != told {
            for warning in &elsewhere {
                tracing::warn!(connection = %id, %warning, "waiting");
            }
            on_warnings(id, &elsewhere);
            told = elsewhere;
        }
        tokio::select! {
            () = &mut stop => return Ok(None),
            () = tokio::time::sleep(CLAIM_RETRY) => {}
        }
    }
}

/// What to do when a look-up fails.
fn hint(spec: &str) -> &'static str {
    if spec.starts_with("kick:") {
        " on kick.com (to skip the look-up, give the ids by hand: kick:SLUG@CHANNEL_ID/CHATROOM_ID)"
    } else if spec.starts_with("discord:") {
        " on Discord"
    } else {
        " on Twitch"
    }
}

/// Completes when `reconnect` is notified (a permit left while nobody waited counts); never without one.
async fn asked(reconnect: Option<&Notify>) {
    match reconnect {
        Some(reconnect) => reconnect.notified().await,
        None => std::future::pending().await,
    }
}
