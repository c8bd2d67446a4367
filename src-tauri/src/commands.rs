//! The commands the window may call: each a few lines over the hub. Errors reach the UI as sentences.

use onair_core::{EventKind, Offset};
use onair_store::EventQuery;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tauri::State;

use crate::hub::{ConnectionView, Hub};

/// What the dashboard shows at a glance.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// The database file.
    pub database: String,
    /// The connections.
    pub connections: Vec<ConnectionView>,
    /// Whether the simulator runs.
    pub simulating: bool,
}

/// `overview`: the database, the connections, the simulator.
#[tauri::command]
pub async fn overview(hub: State<'_, Hub>) -> Result<Overview, String> {
    Ok(Overview {
        database: hub.store().path().display().to_string(),
        connections: hub.connections().await,
        simulating: hub.simulating().await,
    })
}

/// The feed's filters.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FeedQuery {
    /// Only events after this offset (the live tail); without it, the newest `limit`.
    pub after: Option<i64>,
    /// Only these kinds (their snake_case names).
    pub kinds: Vec<String>,
    /// Only chat matching these words.
    pub search: Option<String>,
    /// At most this many (default 500).
    pub limit: Option<u32>,
}

/// `list_events`: events in the public JSON form (v1), oldest first.
#[tauri::command]
pub async fn list_events(hub: State<'_, Hub>, query: FeedQuery) -> Result<Vec<Box<RawValue>>, String> {
    let kinds = query
        .kinds
        .iter()
        .map(|k| {
            k.parse::<EventKind>()
                .map_err(|_| format!("unknown event kind {k:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let query = EventQuery {
        after: query.after.map(Offset),
        kinds,
        search: query.search.filter(|s| !s.trim().is_empty()),
        limit: Some(query.limit.unwrap_or(500).min(5000)),
        ..EventQuery::default()
    };
    let events = hub.store().events(&query).await.map_err(|e| e.to_string())?;
    events
        .iter()
        .map(|event| RawValue::from_string(event.to_json_line()).map_err(|e| e.to_string()))
        .collect()
}

/// `simulate`: starts (`on`) or stops the simulated Kick stream.
#[tauri::command]
pub async fn simulate(hub: State<'_, Hub>, on: bool, rate: Option<f64>) -> Result<(), String> {
    if on {
        hub.start_simulation(rate.unwrap_or(4.0).clamp(0.1, 1000.0)).await
    } else {
        hub.stop_simulation().await;
        Ok(())
    }
}

/// `reconnect`: every connection reconnects now, with a fresh retry count.
#[tauri::command]
pub async fn reconnect(hub: State<'_, Hub>) -> Result<(), String> {
    hub.reconnect_all().await;
    Ok(())
}
