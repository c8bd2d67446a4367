//! The relay inside the app: started with the hub when the settings have it on, at the port and interface
//! they give, fed with every event the store commits and told every connection's state; restarted when its
//! settings change or its token is replaced (which disconnects the clients holding the old one).

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use onair::views::{RelaySettings, RelayView};
use onair_core::{ConnectionId, ConnectionState};
use onair_relay::{Relay, RelayOptions};
use onair_store::Store;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::lock;

/// How long clients are told to wait before reconnecting when the relay restarts or the app quits.
const RETRY_AFTER: Duration = Duration::from_secs(3);

/// A running relay and the task feeding it.
struct Running {
    relay: Arc<Relay>,
    stop_feed: CancellationToken,
    feed: tauri::async_runtime::JoinHandle<()>,
}

/// The app's relay: at most one running, and why it is not when it should be.
#[derive(Default)]
pub struct RelayHost {
    running: Mutex<Option<Running>>,
    /// The running relay, for the connection states (read from sync callbacks).
    current: StdMutex<Option<Arc<Relay>>>,
    /// Every connection's last state, handed to a relay when it starts.
    states: StdMutex<Vec<(ConnectionId, ConnectionState)>>,
    problem: StdMutex<Option<String>>,
    /// Set at quit: no restart may start a relay after it.
    stopped: std::sync::atomic::AtomicBool,
}

impl RelayHost {
    /// Starts the relay as the settings in force say (`settings`, read once this restart's turn comes, so
    /// restarts asked for in a row end with the latest settings), stopping the one running first; nothing
    /// when it is off or the app is quitting.
    pub async fn restart(&self, settings: impl Fn() -> RelaySettings, store: &Arc<Store>) {
        let mut running = self.running.lock().await;
        if let Some(old) = running.take() {
            self.stop_running(old).await;
        }
        *lock(&self.problem) = None;
        let settings = settings();
        if !settings.enabled || self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        match start(&settings, store).await {
            Ok(relay) => {
                let relay = Arc::new(relay);
                // Published first: a state that changes meanwhile reaches it either way.
                *lock(&self.current) = Some(relay.clone());
                for (id, state) in lock(&self.states).iter() {
                    relay.set_status(id, state);
                }
                let stop_feed = CancellationToken::new();
                let feed = tauri::async_runtime::spawn({
                    let (relay, store, stop) = (relay.clone(), store.clone(), stop_feed.clone());
                    async move {
                        if let Err(e) = onair::relay::feed(&store, &relay, stop.cancelled_owned()).await {
                            tracing::error!(error = %e, "the relay stopped receiving events");
                        }
                    }
                });
                *running = Some(Running {
                    relay,
                    stop_feed,
                    feed,
                });
            }
            Err(problem) => {
                tracing::warn!(%problem, "the relay did not start");
                *lock(&self.problem) = Some(problem);
            }
        }
    }

    /// Stops the relay (at quit): the events committed so far go out, then clients are told to come back.
    pub async fn stop(&self) {
        self.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(old) = self.running.lock().await.take() {
            self.stop_running(old).await;
        }
    }

    async fn stop_running(&self, old: Running) {
        *lock(&self.current) = None;
        old.stop_feed.cancel();
        let _ = old.feed.await;
        old.relay.shutdown(RETRY_AFTER).await;
    }

    /// Records that connection `id` is now in `state`, and tells the relay's clients.
    pub fn set_status(&self, id: &ConnectionId, state: &ConnectionState) {
        {
            let mut states = lock(&self.states);
            match states.iter_mut().find(|(known, _)| known == id) {
                Some(entry) => entry.1 = state.clone(),
                None => states.push((id.clone(), state.clone())),
            }
        }
        if let Some(relay) = lock(&self.current).as_ref() {
            relay.set_status(id, state);
        }
    }

    /// The relay as the app shows it.
    pub fn view(&self) -> RelayView {
        let current = lock(&self.current).clone();
        RelayView {
            address: current.as_ref().map(|r| r.local_addr().to_string()),
            problem: lock(&self.problem).clone(),
            clients: current.map(|r| r.client_list().clients).unwrap_or_default(),
        }
    }
}

/// Starts a relay as `settings` say, replaying from `store`; the error is a sentence for the app.
async fn start(settings: &RelaySettings, store: &Arc<Store>) -> Result<Relay, String> {
    let token = onair::relay::relay_token(&secrets().await?)
        .await
        .map_err(|e| format!("the relay's token could not be read or made ({e})"))?;
    let mut options = RelayOptions::new(token);
    options.addr = settings.addr();
    options.metrics = onair::metrics::install();
    let stored = Arc::new(onair::relay::StoreEvents(store.clone()));
    Relay::start(options, Some(stored))
        .await
        .map_err(|e| e.to_string())
}

/// The secret store the token is kept in.
async fn secrets() -> Result<onair_secrets::Secrets, String> {
    onair::paths::secrets()
        .await
        .ok_or_else(|| "OnAir cannot find your home folder, where the relay's token is kept".to_owned())
}

/// The relay's token, for the app to show and copy.
pub async fn token() -> Result<String, String> {
    let token = onair::relay::relay_token(&secrets().await?)
        .await
        .map_err(|e| format!("the relay's token could not be read ({e})"))?;
    Ok(secrecy::ExposeSecret::expose_secret(&token).to_owned())
}

/// Replaces the kept token with a new one (the relay must restart to use it).
pub async fn rotate_token() -> Result<(), String> {
    onair::relay::rotate_token(&secrets().await?)
        .await
        .map(|_| ())
        .map_err(|e| format!("the relay's token could not be replaced: {e}"))
}
