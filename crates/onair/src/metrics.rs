//! The hub's metrics: the process's Prometheus recorder (installed once, at the edge that serves
//! `/metrics`), and each watched connection's state and reconnects. The crates record the rest through the
//! `metrics` facade (the store's writer, the relay).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use onair_core::{ConnectionId, ConnectionState};

/// Gauge: 1 for the state each connection is in, 0 for the others (`platform`, `connection`, `state`).
pub const CONNECTION_STATE: &str = "onair_connection_state";
/// Counter: times a connection was lost and began reconnecting (`platform`, `connection`).
pub const RECONNECTS: &str = "onair_connection_reconnects_total";

/// How often the recorder folds the histograms' samples in.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Every state's name, for the gauge's labels.
const STATES: [&str; 5] = [
    "connecting",
    "connected",
    "reconnecting",
    "failed",
    "disconnected",
];

/// The process's recorder, installed on first use; `None` (with a warning in the log) when another one
/// was installed first.
pub fn install() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => {
                // Histograms gather their samples until upkeep folds them in; without a scrape they would
                // grow for as long as the process runs.
                let upkeep = handle.clone();
                let spawned = std::thread::Builder::new()
                    .name("metrics-upkeep".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(UPKEEP_EVERY);
                            upkeep.run_upkeep();
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "the metrics' upkeep could not start; histograms grow until scraped");
                }
                Some(handle)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics are off: the recorder could not be installed");
                None
            }
        })
        .clone()
}

/// Records that connection `id` is now in `state`.
pub fn record_state(id: &ConnectionId, state: &ConnectionState) {
    let platform = id.platform.as_str();
    for name in STATES {
        let value = if name == state.name() { 1.0 } else { 0.0 };
        metrics::gauge!(CONNECTION_STATE, "platform" => platform, "connection" => id.name.clone(), "state" => name)
            .set(value);
    }
    if let ConnectionState::Reconnecting { attempt: 1, .. } = state {
        metrics::counter!(RECONNECTS, "platform" => platform, "connection" => id.name.clone()).increment(1);
    }
}
