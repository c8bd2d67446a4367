//! The hub inside the app: the store, the connections it watches (today: the simulator's), their status
//! for the dashboard, and the throttled signal that tells the window new events were committed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use onair::watch::{WatchOptions, resolve, watch};
use onair_core::{ConnectionId, ConnectionState};
use onair_kick::simulator::{Simulator, SimulatorOptions};
use onair_store::Store;
use serde::Serialize;
use tauri::{AppHandle, Emitter};
use tokio::sync::{Mutex, Notify, oneshot};

/// The most "committed" signals the window gets per second.
const SIGNALS_PER_SECOND: u64 = 20;

/// A connection as the dashboard shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// `kick:onair-demo`.
    pub id: String,
    /// kick, twitch or discord.
    pub platform: String,
    /// The channels it serves.
    pub name: String,
    /// The state, as the JSON form of `ConnectionState`.
    pub state: ConnectionState,
    /// When it entered that state.
    pub since: DateTime<Utc>,
    /// How many times it lost the connection.
    pub reconnects: u32,
    /// The last failure, in words.
    pub last_error: Option<String>,
}

/// The hub of the app; managed by Tauri.
pub struct Hub {
    app: AppHandle,
    store: Arc<Store>,
    connections: Arc<std::sync::Mutex<BTreeMap<String, ConnectionView>>>,
    simulation: Mutex<Option<Running>>,
}

/// A watch that is running, and how to stop it.
struct Running {
    stop: oneshot::Sender<()>,
    done: tauri::async_runtime::JoinHandle<()>,
    reconnect: Arc<Notify>,
}

impl Hub {
    /// Opens the store at `db` and starts telling the window about new events.
    pub async fn start(app: AppHandle, db: PathBuf) -> Result<Hub, onair_store::StoreError> {
        let store = Store::open(db).await?;
        let mut status = store.writer().status();
        let signal = app.clone();
        tauri::async_runtime::spawn(async move {
            let pause = Duration::from_millis(1000 / SIGNALS_PER_SECOND);
            while status.changed().await.is_ok() {
                let committed = status.borrow_and_update().committed;
                let _ = signal.emit("onair://committed", committed);
                tokio::time::sleep(pause).await;
            }
        });
        Ok(Hub {
            app,
            store: Arc::new(store),
            connections: Arc::default(),
            simulation: Mutex::new(None),
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Every connection, for the dashboard.
    pub async fn connections(&self) -> Vec<ConnectionView> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
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
        let simulator = Simulator::start(SimulatorOptions {
            events_per_second,
            ..SimulatorOptions::default()
        })
        .await
        .map_err(|e| format!("the simulator could not start: {e}"))?;
        let kick = simulator.platform().map_err(|e| e.to_string())?;
        let channel = resolve(&self.store, &kick, &Simulator::watch_spec())
            .await
            .map_err(|e| e.to_string())?;
        let (stop, stopped) = oneshot::channel::<()>();
        let reconnect = Arc::new(Notify::new());
        let asked = reconnect.clone();
        let store = self.store.clone();
        let connections = self.connections.clone();
        let app = self.app.clone();
        let done = tauri::async_runtime::spawn(async move {
            let options = WatchOptions {
                retry_failed_after: Duration::from_secs(10),
                reconnect: Some(asked),
            };
            let stop = async {
                let _ = stopped.await;
                // The stream goes offline before the connection closes, so that is recorded too.
                simulator.end_stream().await;
            };
            let on_state = |id: &ConnectionId, state: &ConnectionState| {
                let view = update(&connections, id, state);
                let _ = app.emit("onair://connection", view);
            };
            if let Err(e) = watch(store.as_ref(), &kick, &[channel], options, stop, on_state).await {
                tracing::error!(error = %e, "the simulated watch ended");
            }
            simulator.stop().await;
        });
        *simulation = Some(Running {
            stop,
            done,
            reconnect,
        });
        Ok(())
    }

    /// Reconnects every connection now, with a fresh retry count (the cards' and the tray's Reconnect).
    pub async fn reconnect_all(&self) {
        if let Some(running) = self.simulation.lock().await.as_ref() {
            running.reconnect.notify_one();
        }
    }

    /// Stops the simulator.
    pub async fn stop_simulation(&self) {
        let running = self.simulation.lock().await.take();
        if let Some(running) = running {
            let _ = running.stop.send(());
            let _ = running.done.await;
        }
    }
}

/// Records a state change in the views, keeping the time, reconnect count and last error.
fn update(
    connections: &std::sync::Mutex<BTreeMap<String, ConnectionView>>,
    id: &ConnectionId,
    state: &ConnectionState,
) -> ConnectionView {
    let key = id.to_string();
    let mut connections = connections
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let view = connections.entry(key.clone()).or_insert_with(|| ConnectionView {
        id: key,
        platform: id.platform.to_string(),
        name: id.name.clone(),
        state: state.clone(),
        since: Utc::now(),
        reconnects: 0,
        last_error: None,
    });
    // A connection lost (then retried), or asked to reconnect, counts once.
    let was_connected = matches!(view.state, ConnectionState::Connected { .. });
    if was_connected
        && matches!(
            state,
            ConnectionState::Reconnecting { .. } | ConnectionState::Connecting
        )
    {
        view.reconnects += 1;
    }
    if let ConnectionState::Failed { reason } = state {
        view.last_error = Some(reason.clone());
    }
    view.state = state.clone();
    view.since = Utc::now();
    view.clone()
}
