//! The hub inside the app: the store, the channels it watches (one connection each, plus the simulator's;
//! a Discord server is one shard's connection), their cards for the dashboard, the settings in force, the
//! notifier fed with every newly committed event, the relay for overlays and bots, the throttled
//! signal that tells the window new events were committed, and the store's health (writes held up, and
//! recording again) for the window's banner, the tray and the log.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use onair::config::{DiscordSettings, TwitchSettings};
use onair::discord::DiscordSpec;
use onair::health::HealthNotice;
use onair::notify::{FreshEvents, Notification, Notifier};
use onair::twitch_signin::{RecordedInStore, TwitchAccess, TwitchAccessError, twitch_access};
use onair::views::{ConnectionView, Connections, DesktopSettings, StatsView, StoreHealthView};
use onair::watch::{ChannelSpec, WatchError, WatchOptions, resolve, resolve_twitch, watch};
use onair_core::{ChannelRef, ConnectionId, ConnectionState, Event, Platform, Realtime};
use onair_discord::{DiscordConfig, DiscordPlatform, Watched};
use onair_kick::simulator::{Simulator, SimulatorOptions};
use onair_kick::{KickPlatform, KickRest, RestConfig, WatchSpec};
use onair_pusher::PusherConfig;
use onair_store::Store;
use onair_twitch::TwitchConfig;
use tauri::{AppHandle, Emitter};
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::browser_check::WebviewBrowser;
use crate::lock;
use crate::relay::RelayHost;
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
/// The window's event for a change of the store's health (writes held up, recording again).
pub const HEALTH_EVENT: &str = "onair://store-health";
/// Twitch allows a sign-in this many EventSub connections (OnAir opens one per channel).
const TWITCH_CHANNELS: usize = 3;

/// The hub of the app; managed by Tauri.
pub struct Hub {
    app: AppHandle,
    store: Arc<Store>,
    kick: Arc<KickPlatform>,
    /// Twitch with the signed-in account, when there is one (replaced at each sign-in and sign-out).
    twitch: Arc<StdMutex<Option<Arc<TwitchAccess>>>>,
    /// Why Twitch cannot be used, when it cannot (not signed in is no problem).
    twitch_problem: Arc<StdMutex<Option<String>>>,
    /// Stops the hourly validation of the Twitch token in force.
    twitch_validation: StdMutex<Option<CancellationToken>>,
    /// Discord with the bot's token, when there is one (replaced whenever the token changes).
    discord: Arc<StdMutex<Option<Arc<DiscordPlatform>>>>,
    /// Why Discord cannot be used, when it cannot (no token is no problem).
    discord_problem: StdMutex<Option<String>>,
    connections: Arc<StdMutex<Connections>>,
    /// Whether events reach the database (the writer's health, one change at a time).
    health: Arc<StdMutex<StoreHealthView>>,
    notifier: Arc<StdMutex<Notifier>>,
    settings: StdMutex<DesktopSettings>,
    /// The watched channels by their key (`kick:slug`, `twitch:login`, `discord:SERVER_ID`).
    watches: Mutex<BTreeMap<String, Running>>,
    simulation: Mutex<Option<Running>>,
    /// The relay for overlays and bots.
    relay: Arc<RelayHost>,
    session_start: DateTime<Utc>,
}

/// A watch that is running, and how to stop it.
struct Running {
    stop: CancellationToken,
    done: tauri::async_runtime::JoinHandle<()>,
    reconnect: Arc<Notify>,
    /// Its card's id.
    card: String,
    /// The spec it watches (a Discord server's chosen channels, a Kick channel's ids), so a change
    /// restarts it.
    spec: Option<String>,
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        let _ = self.done.await;
    }
}

impl Hub {
    /// Runs on the opened `store`: starts telling the window about new events and the store's health, and
    /// feeding the notifier. Watching the saved channels starts with [`Hub::watch_saved`].
    pub async fn start(app: AppHandle, store: Store, settings: DesktopSettings) -> Result<Hub, String> {
        let store = Arc::new(store);
        let kick = Arc::new(KickPlatform::new(
            KickRest::new(RestConfig::from_env(None))
                .map_err(|e| e.to_string())?
                .with_browser(Arc::new(WebviewBrowser::new(app.clone()))),
            PusherConfig::new(onair_kick::endpoint(None)),
            None,
        ));
        let relay_settings = settings.relay.clone();
        let hub = Hub {
            app,
            store,
            kick,
            twitch: Arc::default(),
            twitch_problem: Arc::default(),
            twitch_validation: StdMutex::default(),
            discord: Arc::default(),
            discord_problem: StdMutex::default(),
            connections: Arc::default(),
            health: Arc::default(),
            notifier: Arc::new(StdMutex::new(Notifier::new(settings.notifications.clone()))),
            settings: StdMutex::new(settings),
            watches: Mutex::default(),
            simulation: Mutex::default(),
            relay: Arc::default(),
            session_start: Utc::now(),
        };
        hub.relay
            .restart(move || relay_settings.clone(), &hub.store)
            .await;
        hub.signal_commits();
        hub.follow_health();
        hub.follow_new_events().await.map_err(|e| e.to_string())?;
        Ok(hub)
    }

    /// Tells the window, at most 20 times a second, that events were committed (by the app or another
    /// process writing its database); it then reads what is new.
    fn signal_commits(&self) {
        let mut commits = self.store.commits();
        let app = self.app.clone();
        tauri::async_runtime::spawn(async move {
            let pause = Duration::from_millis(1000 / SIGNALS_PER_SECOND);
            while commits.changed().await.is_ok() {
                let generation = *commits.borrow_and_update();
                let _ = app.emit("onair://committed", generation);
                tokio::time::sleep(pause).await;
            }
        });
    }

    /// Follows the writer's health ([`onair::health::follow`]: one notice per change): the log says it,
    /// the window's banner shows it, and the tray's dot turns red while writes are held up.
    fn follow_health(&self) {
        let status = self.store.writer().status();
        let (health, connections, app) = (self.health.clone(), self.connections.clone(), self.app.clone());
        tauri::async_runtime::spawn(onair::health::follow(status, move |notice| {
            match &notice {
                HealthNotice::HeldUp(_) => tracing::error!("store: {notice}"),
                HealthNotice::Recovered => tracing::info!("store: {notice}"),
            }
            let view = StoreHealthView::after(&notice);
            *lock(&health) = view.clone();
            let _ = app.emit(HEALTH_EVENT, view);
            refresh_tray(&app, &connections, &health);
        }));
    }

    /// Reads every event committed from now on, by the app or another process writing its database: each
    /// card's "last event", and the notifications. Events already stored at start-up never notify.
    async fn follow_new_events(&self) -> Result<(), onair_store::StoreError> {
        let mut fresh = FreshEvents::start(&self.store).await?;
        let mut commits = self.store.commits();
        let store = self.store.clone();
        let connections = self.connections.clone();
        let notifier = self.notifier.clone();
        let app = self.app.clone();
        tauri::async_runtime::spawn(async move {
            let pause = Duration::from_millis(250);
            loop {
                let due = lock(&notifier).next_due();
                tokio::select! {
                    changed = commits.changed() => if changed.is_err() { return },
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
                        seen.insert(card_of(event), event.received_at);
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

    /// Whether events reach the database.
    pub fn health(&self) -> StoreHealthView {
        lock(&self.health).clone()
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
                .parse::<ChannelSpec>()
                .map_err(|e| format!("{channel:?} is not a channel OnAir can watch: {e}"))?;
            if !specs.iter().any(|s: &ChannelSpec| s.key() == spec.key()) {
                specs.push(spec);
            }
        }
        let twitch = specs.iter().filter(|s| s.platform() == Platform::Twitch).count();
        if twitch > TWITCH_CHANNELS {
            return Err(format!(
                "Twitch allows one sign-in {TWITCH_CHANNELS} live connections, and OnAir opens one per channel: \
                 watch at most {TWITCH_CHANNELS} Twitch channels"
            ));
        }
        settings.channels = specs.iter().map(ToString::to_string).collect();
        let twitch_app_changed = lock(&self.settings).twitch_client_id != settings.twitch_client_id;
        let relay_changed = lock(&self.settings).relay != settings.relay;
        crate::settings::save(&self.app, &settings)?;
        lock(&self.notifier).set_rules(settings.notifications.clone());
        crate::autostart::set(&self.app, settings.launch_at_login);
        tray::set_muted(&self.app, settings.notifications.muted);
        *lock(&self.settings) = settings.clone();
        if twitch_app_changed {
            self.load_twitch().await;
            self.stop_twitch_watches().await;
        }
        if relay_changed {
            self.relay.restart(|| self.settings().relay, &self.store).await;
        }
        self.sync_watches(&specs).await;
        let _ = self.app.emit(SETTINGS_EVENT, &settings);
        self.refresh_tray();
        Ok(settings)
    }

    /// Twitch's settings in force: the app's client id from the settings, the endpoints from the
    /// environment (local servers in tests).
    pub fn twitch_config(&self) -> TwitchConfig {
        TwitchSettings {
            client_id: self.settings().twitch_client_id,
            ..TwitchSettings::default()
        }
        .config()
    }

    /// Why Twitch cannot be used, when it cannot.
    pub fn twitch_problem(&self) -> Option<String> {
        lock(&self.twitch_problem).clone()
    }

    /// Takes up the Twitch sign-in as it now is (after a sign-in, a sign-out, another app) and restarts the
    /// Twitch channels with it.
    pub async fn twitch_signed_in_or_out(&self) {
        self.load_twitch().await;
        self.stop_twitch_watches().await;
        self.sync_saved().await;
    }

    /// Stops the Twitch channels' watches (their cards stay), for the next sync to start them afresh.
    async fn stop_twitch_watches(&self) {
        self.stop_watches(Platform::Twitch).await;
    }

    /// Stops the watches of `platform`'s channels (their cards stay), for the next sync to start them
    /// afresh.
    async fn stop_watches(&self, platform: Platform) {
        let prefix = format!("{platform}:");
        let mut watches = self.watches.lock().await;
        let stopped: Vec<String> = watches
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for key in stopped {
            if let Some(running) = watches.remove(&key) {
                running.stop().await;
            }
        }
    }

    /// Builds Twitch access from the saved sign-in (with the polling fallback on the store).
    async fn load_twitch(&self) {
        let config = self.twitch_config();
        let access = match onair::paths::secrets().await {
            Some(secrets) => {
                let accounts = onair::accounts::Accounts::new(secrets);
                let recorded = Arc::new(RecordedInStore(self.store.community_reader()));
                twitch_access(&config, &accounts, Some(recorded)).await
            }
            None => Err(TwitchAccessError::NotSignedIn),
        };
        if let Some(old) = lock(&self.twitch_validation).take() {
            old.cancel();
        }
        let (access, problem) = match access {
            Ok(access) => {
                let access = Arc::new(access);
                self.validate_hourly(&access);
                (Some(access), None)
            }
            Err(TwitchAccessError::NotSignedIn | TwitchAccessError::NoClientId) => (None, None),
            Err(e) => {
                tracing::warn!(error = %e, "Twitch cannot be used");
                (None, Some(e.to_string()))
            }
        };
        *lock(&self.twitch) = access;
        *lock(&self.twitch_problem) = problem;
    }

    /// Validates the Twitch token now and hourly, as Twitch requires; a refusal that renewing cannot mend
    /// is shown in the Login section.
    fn validate_hourly(&self, access: &Arc<TwitchAccess>) {
        let stop = CancellationToken::new();
        *lock(&self.twitch_validation) = Some(stop.clone());
        let (login, helix) = (access.login.clone(), access.helix().clone());
        let problem = self.twitch_problem.clone();
        let app = self.app.clone();
        tauri::async_runtime::spawn(async move {
            if let Err(e) = onair_twitch::platform::keep_valid(&login, &helix, stop.cancelled_owned()).await {
                tracing::warn!(error = %e, "the Twitch sign-in is no longer valid");
                *lock(&problem) = Some(e.to_string());
                let _ = app.emit(crate::signin::ACCOUNTS_EVENT, ());
            }
        });
    }

    /// Discord's settings in force: its endpoints from the environment (local servers in tests).
    pub fn discord_config(&self) -> DiscordConfig {
        DiscordSettings::default().config()
    }

    /// Discord with the bot's token, when OnAir has one.
    pub fn discord(&self) -> Option<Arc<DiscordPlatform>> {
        lock(&self.discord).clone()
    }

    /// Why Discord cannot be used, when it cannot.
    pub fn discord_problem(&self) -> Option<String> {
        lock(&self.discord_problem).clone()
    }

    /// Takes up the bot's token as it now is (kept, forgotten) and restarts the Discord servers' watches
    /// with it.
    pub async fn discord_token_changed(&self) {
        self.load_discord().await;
        self.stop_watches(Platform::Discord).await;
        self.sync_saved().await;
    }

    /// Builds Discord with the bot's token: `ONAIR_DISCORD_BOT_TOKEN`, else the keychain's.
    async fn load_discord(&self) {
        let token = match onair::paths::secrets().await {
            Some(secrets) => onair::discord::bot_token(&onair::accounts::Accounts::new(secrets))
                .await
                .map_err(|e| format!("the Discord bot's token could not be read: {e}")),
            None => Ok(None),
        };
        let (platform, problem) = match token {
            Ok(Some(token)) => match DiscordPlatform::new(self.discord_config(), token) {
                Ok(platform) => (Some(Arc::new(platform)), None),
                Err(e) => (None, Some(e.to_string())),
            },
            Ok(None) => (None, None),
            Err(e) => (None, Some(e)),
        };
        if let Some(problem) = &problem {
            tracing::warn!(%problem, "Discord cannot be used");
        }
        *lock(&self.discord) = platform;
        *lock(&self.discord_problem) = problem;
    }

    /// Takes up the saved Twitch sign-in and the Discord bot's token, and starts watching the saved
    /// channels (at start-up).
    pub async fn watch_saved(&self) {
        self.load_twitch().await;
        self.load_discord().await;
        self.sync_saved().await;
    }

    /// Starts the saved channels not yet watched, and stops the others.
    async fn sync_saved(&self) {
        let specs: Vec<ChannelSpec> = self
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

    /// Starts the channels of `specs` not yet watched, restarts those whose spec changed (a Discord
    /// server's channels), and stops the ones no longer in it.
    async fn sync_watches(&self, specs: &[ChannelSpec]) {
        let mut watches = self.watches.lock().await;
        let wanted: BTreeMap<String, &ChannelSpec> = specs.iter().map(|s| (s.key(), s)).collect();
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
        let changed: Vec<String> = watches
            .iter()
            .filter(|(key, running)| {
                wanted
                    .get(*key)
                    .is_some_and(|spec| running.spec.as_deref() != Some(spec.to_string().as_str()))
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in changed {
            // Its card stays, and takes the new spec when the watch starts again below.
            if let Some(running) = watches.remove(&key) {
                running.stop().await;
            }
        }
        for (key, spec) in wanted {
            let target = match spec {
                ChannelSpec::Kick(kick) => Target::Kick(self.kick.clone(), kick.clone()),
                ChannelSpec::Twitch(login) => Target::Twitch(self.twitch.clone(), login.clone()),
                ChannelSpec::Discord(discord) => Target::Discord(self.discord.clone(), discord.clone()),
            };
            watches
                .entry(key)
                .or_insert_with(|| self.spawn_watch(target, Some(spec.to_string()), async {}));
        }
        drop(watches);
        self.refresh_tray();
    }

    /// Watches `target` until stopped: looked up (retried every minute while that fails), connected,
    /// recorded; `before_close` runs when asked to stop, before the connection closes.
    fn spawn_watch(
        &self,
        target: Target,
        card_spec: Option<String>,
        before_close: impl Future<Output = ()> + Send + 'static,
    ) -> Running {
        let stop = CancellationToken::new();
        let reconnect = Arc::new(Notify::new());
        // The card is keyed by what is watched, known before the look-up; the connection may name itself
        // otherwise once it runs (a Discord shard: the server's name and the shard), which then becomes
        // the card's visible name and the name recorded in the store.
        let id = target.id();
        let card = id.to_string();
        let spec = card_spec.clone();
        let store = self.store.clone();
        let connections = self.connections.clone();
        let health = self.health.clone();
        let relay = self.relay.clone();
        let app = self.app.clone();
        let stopping = stop.clone();
        let asked = reconnect.clone();
        let card_id = id.clone();
        let done = tauri::async_runtime::spawn(async move {
            let on_state = |named: &ConnectionId, state: &ConnectionState| {
                let view = {
                    let mut connections = lock(&connections);
                    let view = connections.update(&card_id, card_spec.as_deref(), state);
                    if *named == card_id {
                        view
                    } else {
                        connections.rename(&view.id, &named.name).unwrap_or(view)
                    }
                };
                let _ = app.emit(CONNECTION_EVENT, view);
                refresh_tray(&app, &connections, &health);
                // The relay's clients follow the card's stable id too.
                relay.set_status(&card_id, state);
            };
            let (platform, channel) = loop {
                on_state(&id, &ConnectionState::Connecting);
                match target.resolve(&store).await {
                    Ok(found) => break found,
                    Err(e) => {
                        tracing::warn!(channel = %id, error = %e, "look-up failed");
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
            let card = id.to_string();
            let on_warnings = |_: &ConnectionId, warnings: &[String]| {
                if let Some(view) = lock(&connections).warn(&card, warnings) {
                    let _ = app.emit(CONNECTION_EVENT, view);
                }
            };
            if let Err(e) = watch(
                store.as_ref(),
                platform.as_ref(),
                &[channel],
                options,
                stop,
                on_state,
                on_warnings,
            )
            .await
            {
                tracing::error!(channel = %id, error = %e, "the watch ended");
            }
        });
        Running {
            stop,
            done,
            reconnect,
            card,
            spec,
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
        let target = Target::Kick(kick, Simulator::watch_spec());
        let mut running = self.spawn_watch(target, None, async move {
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
        refresh_tray(&self.app, &self.connections, &self.health);
    }

    /// Stops every watch (at quit), so what was received is committed.
    pub async fn shutdown(&self) {
        self.stop_simulation().await;
        let watches = std::mem::take(&mut *self.watches.lock().await);
        for running in watches.into_values() {
            running.stop().await;
        }
        self.relay.stop().await;
    }

    /// The relay as the app shows it: where it listens, who is connected, or why it does not run.
    pub fn relay(&self) -> onair::views::RelayView {
        self.relay.view()
    }

    /// The relay's token, for the app to show and copy.
    pub async fn relay_token(&self) -> Result<String, String> {
        crate::relay::token().await
    }

    /// Replaces the relay's token and restarts the relay with it: every client with the old token is
    /// disconnected and refused from now on.
    pub async fn rotate_relay_token(&self) -> Result<(), String> {
        crate::relay::rotate_token().await?;
        self.relay.restart(|| self.settings().relay, &self.store).await;
        Ok(())
    }
}

/// What a watch watches: a Kick channel on a Kick platform (the real one, or the simulator's), a Twitch
/// channel through whatever Twitch sign-in is in force when it connects, or a Discord server through the
/// bot's token in force when it connects.
enum Target {
    Kick(Arc<KickPlatform>, WatchSpec),
    Twitch(Arc<StdMutex<Option<Arc<TwitchAccess>>>>, String),
    Discord(Arc<StdMutex<Option<Arc<DiscordPlatform>>>>, DiscordSpec),
}

impl Target {
    /// The card's id: `kick/slug`, `twitch/login`, `discord/SERVER_ID` (what [`card_of`] finds for its
    /// events).
    fn id(&self) -> ConnectionId {
        match self {
            Target::Kick(_, spec) => ConnectionId::new(Platform::Kick, spec.slug.clone()),
            Target::Twitch(_, login) => ConnectionId::new(Platform::Twitch, login.clone()),
            Target::Discord(_, spec) => ConnectionId::new(Platform::Discord, spec.guild_id.clone()),
        }
    }

    /// The channel, looked up (or found in the store), and the platform to watch it on.
    async fn resolve(&self, store: &Store) -> Result<(Arc<dyn Realtime>, ChannelRef), String> {
        match self {
            Target::Kick(kick, spec) => {
                let channel = resolve(store, kick.as_ref(), spec)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok((kick.clone(), channel))
            }
            Target::Twitch(access, login) => {
                let access = lock(access).clone().ok_or_else(|| {
                    format!("sign in to Twitch (Settings, Accounts) to watch twitch:{login}")
                })?;
                let platform = access.platform.clone();
                let channel = resolve_twitch(store, platform.as_ref(), login)
                    .await
                    .map_err(|e: WatchError| e.to_string())?;
                Ok((platform, channel))
            }
            Target::Discord(discord, spec) => {
                let discord = lock(discord).clone().ok_or_else(|| {
                    format!(
                        "paste your Discord bot's token (Settings, Discord bot) to watch {spec}; create the bot \
                         at https://discord.com/developers/applications"
                    )
                })?;
                let (guild, _) = onair::discord::resolve(store, &discord, spec)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut watched = Watched::default();
                watched.add(guild.clone(), spec.channels.iter().cloned());
                let plan = discord
                    .plan(&watched)
                    .await
                    .map_err(|e| format!("Discord cannot be watched: {e}"))?;
                let starts = plan.starts_left();
                let shard = plan
                    .shards
                    .into_iter()
                    .next()
                    .ok_or_else(|| format!("no shard serves {spec}: please report it, with the log"))?;
                tracing::info!(
                    server = %guild.slug,
                    shard = %shard.shard(),
                    sessions_left = starts.remaining,
                    "watching a Discord server"
                );
                Ok((Arc::new(shard), guild))
            }
        }
    }
}

/// The card an event belongs to: `platform/slug`, or `discord/SERVER_ID` (a Discord card is keyed by the
/// server's id, its name being known only after the look-up).
fn card_of(event: &Event) -> String {
    match event.platform {
        Platform::Discord => format!("{}/{}", event.platform, event.channel.platform_id),
        _ => format!("{}/{}", event.platform, event.channel.slug),
    }
}

/// Shows the connections' and the store's state together on the tray.
fn refresh_tray(app: &AppHandle, connections: &StdMutex<Connections>, health: &StdMutex<StoreHealthView>) {
    let overall = lock(connections).overall().with_store(&lock(health));
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
