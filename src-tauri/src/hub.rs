//! The hub inside the app: the store, the channels it watches (one connection each, plus the simulator's),
//! their cards for the dashboard, the settings in force, the notifier fed with every newly committed
//! event, and the throttled signal that tells the window new events were committed.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use onair::notify::{FreshEvents, Notification, Notifier};
use onair::views::{ConnectionView, Connections, DesktopSettings, StatsView};
use onair::watch::{WatchOptions, resolve, watch};
use onair_core::{ConnectionId, ConnectionState, Platform};
use onair_kick::simulator::{Simulator, SimulatorOptions};
use onair_kick::{KickPlatform, KickRest, RestConfig, WatchSpec};
use onair_pusher::PusherConfig;
use onair_store::Store;
use tauri::{AppHandle, Emitter};
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::browser_check::WebviewBrowser;
use crate::lock;
use crate::tray;

/// The most "committed" signals the window gets per second.
const SIGNALS_PER_SECOND: u64 = 20;
/// How long a channel that could not be looked up, or whose connection gave up, waits to try again.
const RETRY_AFTER: Duration = Duration::from_secs(60);
/// The window's event for a card that changed.
pub const CONNECTION_EVENT: &str = "onair://connection";
/// The window's event for a card that is gone (its channel unwatched).
pub const CONNECTION_REMOVED_EVENT: &str = "onair://connection-removed";
/// The window's event for settings changed outside it (the tray's Pause notifications).
pub const SETTINGS_EVENT: &str = "onair://settings";

/// The hub of the app; managed by Tauri.
pub struct Hub {
    app: AppHandle,
    store: Arc<Store>,
    kick: Arc<KickPlatform>,
    connections: Arc<StdMutex<Connections>>,
    notifier: Arc<StdMutex<Notifier>>,
    settings: StdMutex<DesktopSettings>,
    /// The watched channels by their key (`kick:slug`).
    watches: Mutex<BTreeMap<String, Running>>,
    simulation: Mutex<Option<Running>>,
    session_start: DateTime<Utc>,
}

/// A watch that is running, and how to stop it.
struct Running {
    stop: CancellationToken,
    done: tauri::async_runtime::JoinHandle<()>,
    reconnect: Arc<Notify>,
    /// Its card's id.
    card: String,
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        let _ = self.done.await;
    }
}

impl Hub {
    /// Opens the store at `db`, starts telling the window about new events and feeding the notifier.
    /// Watching the saved channels starts with [`Hub::watch_saved`].
    pub async fn start(app: AppHandle, db: PathBuf, settings: DesktopSettings) -> Result<Hub, String> {
        let store = Arc::new(
            Store::open(&db)
                .await
                .map_err(|e| format!("the database {} could not be opened: {e}", db.display()))?,
        );
        let kick = Arc::new(KickPlatform::new(
            KickRest::new(RestConfig::from_env(None))
                .map_err(|e| e.to_string())?
                .with_browser(Arc::new(WebviewBrowser::new(app.clone()))),
            PusherConfig::new(onair_kick::endpoint(None)),
            None,
        ));
        let hub = Hub {
            app,
            store,
            kick,
            connections: Arc::default(),
            notifier: Arc::new(StdMutex::new(Notifier::new(settings.notifications.clone()))),
            settings: StdMutex::new(settings),
            watches: Mutex::default(),
            simulation: Mutex::default(),
            session_start: Utc::now(),
        };
        hub.signal_commits();
        hub.follow_new_events().await.map_err(|e| e.to_string())?;
        Ok(hub)
    }

    /// Tells the window, at most 20 times a second, that events were committed; it then reads what is new.
    fn signal_commits(&self) {
        let mut status = self.store.writer().status();
        let app = self.app.clone();
        tauri::async_runtime::spawn(async move {
            let pause = Duration::from_millis(1000 / SIGNALS_PER_SECOND);
            while status.changed().await.is_ok() {
                let committed = status.borrow_and_update().committed;
                let _ = app.emit("onair://committed", committed);
                tokio::time::sleep(pause).await;
            }
        });
    }

    /// Reads every event committed from now on: each card's "last event", and the notifications. Events
    /// already stored at start-up never notify.
    async fn follow_new_events(&self) -> Result<(), onair_store::StoreError> {
        let mut fresh = FreshEvents::start(&self.store).await?;
        let mut status = self.store.writer().status();
        let store = self.store.clone();
        let connections = self.connections.clone();
        let notifier = self.notifier.clone();
        let app = self.app.clone();
        tauri::async_runtime::spawn(async move {
            let pause = Duration::from_millis(250);
            loop {
                let due = lock(&notifier).next_due();
                tokio::select! {
                    changed = status.changed() => if changed.is_err() { return },
                    () = async { tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)).await }, if due.is_some() => {
                        let due = lock(&notifier).due(tokio::time::Instant::now());
                        show(&app, due);
                        continue;
                    }
                }
                loop {
                    let events = match fresh.next(&store).await {
                        Ok(events) => events,
                        Err(e) => {
                            tracing::warn!(error = %e, "new events could not be read for notifications");
                            break;
                        }
                    };
                    let now = tokio::time::Instant::now();
                    let shown: Vec<Notification> = {
                        let mut notifier = lock(&notifier);
                        events
                            .iter()
                            .filter_map(|e| notifier.offer(e, now, Utc::now()))
                            .collect()
                    };
                    show(&app, shown);
                    let mut seen = BTreeMap::new();
                    for event in &events {
                        seen.insert(
                            format!("{}/{}", event.platform, event.channel.slug),
                            event.received_at,
                        );
                    }
                    let changed: Vec<ConnectionView> = {
                        let mut connections = lock(&connections);
                        seen.into_iter()
                            .filter_map(|(id, at)| connections.saw_event(&id, at))
                            .collect()
                    };
                    for view in changed {
                        let _ = app.emit(CONNECTION_EVENT, view);
                    }
                    if events.len() < FreshEvents::PAGE as usize {
                        break;
                    }
                }
                tokio::time::sleep(pause).await;
            }
        });
        Ok(())
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Every card, for the dashboard.
    pub fn connections(&self) -> Vec<ConnectionView> {
        lock(&self.connections).all()
    }

    /// The settings in force.
    pub fn settings(&self) -> DesktopSettings {
        lock(&self.settings).clone()
    }

    /// Puts `settings` in force and saves them: the notifier's rules, launch at login, the tray, and the
    /// channels (started or stopped to match the list).
    pub async fn apply_settings(&self, mut settings: DesktopSettings) -> Result<DesktopSettings, String> {
        let mut specs = Vec::new();
        for channel in &settings.channels {
            let spec = channel
                .parse::<WatchSpec>()
                .map_err(|e| format!("{channel:?} is not a channel OnAir can watch: {e}"))?;
            if !specs.iter().any(|s: &WatchSpec| s.slug == spec.slug) {
                specs.push(spec);
            }
        }
        settings.channels = specs.iter().map(ToString::to_string).collect();
        crate::settings::save(&self.app, &settings)?;
        lock(&self.notifier).set_rules(settings.notifications.clone());
        crate::autostart::set(&self.app, settings.launch_at_login);
        tray::set_muted(&self.app, settings.notifications.muted);
        *lock(&self.settings) = settings.clone();
        self.sync_watches(&specs).await;
        let _ = self.app.emit(SETTINGS_EVENT, &settings);
        self.refresh_tray();
        Ok(settings)
    }

    /// Starts watching the saved channels.
    pub async fn watch_saved(&self) {
        let specs: Vec<WatchSpec> = self
            .settings()
            .channels
            .iter()
            .filter_map(|c| {
                c.parse()
                    .inspect_err(|e| tracing::warn!(channel = %c, error = %e, "a saved channel is not valid"))
                    .ok()
            })
            .collect();
        self.sync_watches(&specs).await;
    }

    /// Starts the channels of `specs` not yet watched, and stops the ones no longer in it.
    async fn sync_watches(&self, specs: &[WatchSpec]) {
        let mut watches = self.watches.lock().await;
        let wanted: BTreeMap<String, &WatchSpec> = specs.iter().map(|s| (key(s), s)).collect();
        let gone: Vec<String> = watches
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(running) = watches.remove(&key) {
                let card = running.card.clone();
                running.stop().await;
                lock(&self.connections).remove(&card);
                let _ = self.app.emit(CONNECTION_REMOVED_EVENT, card);
            }
        }
        for (key, spec) in wanted {
            watches.entry(key).or_insert_with(|| {
                self.spawn_watch(self.kick.clone(), spec.clone(), Some(spec.to_string()), async {})
            });
        }
        drop(watches);
        self.refresh_tray();
    }

    /// Watches `spec` on `kick` until stopped: looked up (retried every minute while that fails),
    /// connected, recorded; `before_close` runs when asked to stop, before the connection closes.
    fn spawn_watch(
        &self,
        kick: Arc<KickPlatform>,
        spec: WatchSpec,
        card_spec: Option<String>,
        before_close: impl Future<Output = ()> + Send + 'static,
    ) -> Running {
        let stop = CancellationToken::new();
        let reconnect = Arc::new(Notify::new());
        let id = ConnectionId::new(Platform::Kick, spec.slug.clone());
        let card = id.to_string();
        let store = self.store.clone();
        let connections = self.connections.clone();
        let app = self.app.clone();
        let stopping = stop.clone();
        let asked = reconnect.clone();
        let done = tauri::async_runtime::spawn(async move {
            let on_state = |id: &ConnectionId, state: &ConnectionState| {
                let view = lock(&connections).update(id, card_spec.as_deref(), state);
                let _ = app.emit(CONNECTION_EVENT, view);
                refresh_tray(&app, &connections);
            };
            let channel = loop {
                on_state(&id, &ConnectionState::Connecting);
                match resolve(&store, kick.as_ref(), &spec).await {
                    Ok(channel) => break channel,
                    Err(e) => {
                        tracing::warn!(channel = %spec, error = %e, "look-up failed");
                        on_state(
                            &id,
                            &ConnectionState::Failed {
                                reason: format!("{e} (trying again in a minute)"),
                            },
                        );
                        tokio::select! {
                            () = stopping.cancelled() => {
                                on_state(&id, &ConnectionState::Disconnected);
                                return;
                            }
                            () = tokio::time::sleep(RETRY_AFTER) => {}
                            () = asked.notified() => {}
                        }
                    }
                }
            };
            let options = WatchOptions {
                retry_failed_after: RETRY_AFTER,
                reconnect: Some(asked),
            };
            let stop = async move {
                stopping.cancelled().await;
                before_close.await;
            };
            if let Err(e) = watch(store.as_ref(), kick.as_ref(), &[channel], options, stop, on_state).await {
                tracing::error!(channel = %spec, error = %e, "the watch ended");
            }
        });
        Running {
            stop,
            done,
            reconnect,
            card,
        }
    }

    /// Whether the simulator runs.
    pub async fn simulating(&self) -> bool {
        self.simulation.lock().await.is_some()
    }

    /// Starts the simulator and watches its channel like any Kick channel.
    pub async fn start_simulation(&self, events_per_second: f64) -> Result<(), String> {
        let mut simulation = self.simulation.lock().await;
        if simulation.is_some() {
            return Ok(());
        }
        let simulator = Arc::new(
            Simulator::start(SimulatorOptions {
                events_per_second,
                ..SimulatorOptions::default()
            })
            .await
            .map_err(|e| format!("the simulator could not start: {e}"))?,
        );
        let kick = Arc::new(simulator.platform().map_err(|e| e.to_string())?);
        let ending = simulator.clone();
        // The stream goes offline before the connection closes, so that is recorded too.
        let mut running = self.spawn_watch(kick, Simulator::watch_spec(), None, async move {
            ending.end_stream().await;
        });
        // The simulator stops once the watch has closed.
        let watching = running.done;
        running.done = tauri::async_runtime::spawn(async move {
            let _ = watching.await;
            if let Some(simulator) = Arc::into_inner(simulator) {
                simulator.stop().await;
            }
        });
        *simulation = Some(running);
        Ok(())
    }

    /// Stops the simulator; its card stays, disconnected.
    pub async fn stop_simulation(&self) {
        let running = self.simulation.lock().await.take();
        if let Some(running) = running {
            running.stop().await;
        }
    }

    /// Reconnects every connection now, with a fresh retry count (the cards' and the tray's Reconnect).
    pub async fn reconnect_all(&self) {
        if let Some(running) = self.simulation.lock().await.as_ref() {
            running.reconnect.notify_one();
        }
        for running in self.watches.lock().await.values() {
            running.reconnect.notify_one();
        }
    }

    /// Reconnects the connection of the card `id` now.
    pub async fn reconnect(&self, id: &str) {
        if let Some(running) = self.simulation.lock().await.as_ref().filter(|r| r.card == id) {
            running.reconnect.notify_one();
        }
        for running in self.watches.lock().await.values().filter(|r| r.card == id) {
            running.reconnect.notify_one();
        }
    }

    /// Events per minute by kind over the last hour, and this session's totals.
    pub async fn stats(&self) -> Result<StatsView, String> {
        let now = Utc::now();
        let hour_ago = now - chrono::Duration::hours(1);
        let since = hour_ago.min(self.session_start);
        let counts = self
            .store
            .counts_per_minute(since, now + chrono::Duration::minutes(1))
            .await
            .map_err(|e| e.to_string())?;
        let mut session_totals = BTreeMap::new();
        let session_minute = self.session_start.timestamp() / 60 * 60;
        for count in &counts {
            if count.minute.timestamp() >= session_minute {
                *session_totals.entry(count.kind).or_insert(0) += count.count;
            }
        }
        let per_minute = counts
            .into_iter()
            .filter(|c| c.minute >= hour_ago - chrono::Duration::minutes(1))
            .map(|c| onair::views::MinuteCountView {
                minute: c.minute,
                kind: c.kind,
                count: c.count,
            })
            .collect();
        let stored = self.store.stats().await.map_err(|e| e.to_string())?.events;
        Ok(StatsView {
            per_minute,
            session_totals,
            session_start: self.session_start,
            stored,
        })
    }

    /// Shows the tray's overall state.
    pub fn refresh_tray(&self) {
        refresh_tray(&self.app, &self.connections);
    }

    /// Stops every watch (at quit), so what was received is committed.
    pub async fn shutdown(&self) {
        self.stop_simulation().await;
        let watches = std::mem::take(&mut *self.watches.lock().await);
        for running in watches.into_values() {
            running.stop().await;
        }
    }
}

/// A channel's key in the watch list: platform and slug (ids given by hand do not make another channel).
fn key(spec: &WatchSpec) -> String {
    format!("kick:{}", spec.slug)
}

fn refresh_tray(app: &AppHandle, connections: &StdMutex<Connections>) {
    let overall = lock(connections).overall();
    tray::set_overall(app, overall);
}

/// Shows notifications through the system's notification service.
fn show(app: &AppHandle, notifications: Vec<Notification>) {
    use tauri_plugin_notification::NotificationExt;
    for n in notifications {
        if let Err(e) = app.notification().builder().title(&n.title).body(&n.body).show() {
            tracing::warn!(error = %e, "a notification could not be shown");
        }
    }
}
