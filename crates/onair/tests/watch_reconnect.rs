//! Asking a watch to reconnect (the dashboard's Reconnect button): the connection closes and comes back
//! at once, against the simulator's real Pusher-protocol server, and the watch goes on recording.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use onair::watch::{WatchOptions, resolve, watch};
use onair_core::{ConnectionState, Platform};
use onair_kick::simulator::{Simulator, SimulatorOptions};
use onair_store::Store;
use tokio::sync::{Notify, mpsc, oneshot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_request_reconnects_at_once_and_recording_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("onair.db")).await.unwrap();
    let simulator = Simulator::start(SimulatorOptions {
        events_per_second: 50.0,
        seed: 3,
    })
    .await
    .unwrap();
    let kick = simulator.platform().unwrap();
    let channel = resolve(&store, &kick, &Simulator::watch_spec()).await.unwrap();
    let reconnect = Arc::new(Notify::new());
    let options = WatchOptions {
        retry_failed_after: Duration::from_secs(60),
        reconnect: Some(reconnect.clone()),
    };
    let (states, mut changes) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();

    let watching = async {
        watch(
            &store,
            &kick,
            &[channel],
            options,
            async {
                let _ = stopped.await;
            },
            |id, state| {
                assert_eq!(id.platform, Platform::Kick);
                let _ = states.send(state.clone());
            },
            |_, warnings| assert!(warnings.is_empty(), "{warnings:?}"),
        )
        .await
        .unwrap()
    };
    let driving = async {
        let connected = |s: &ConnectionState| matches!(s, ConnectionState::Connected { .. });
        let mut seen = Vec::new();
        let mut next = async || {
            let state = tokio::time::timeout(Duration::from_secs(10), changes.recv())
                .await
                .unwrap()
                .unwrap();
            seen.push(state.clone());
            state
        };
        while !connected(&next().await) {}
        // Events flow (the store's writer has committed some) before the reconnect is asked.
        let mut committed = store.writer().status();
        tokio::time::timeout(Duration::from_secs(10), committed.wait_for(|s| s.committed > 0))
            .await
            .unwrap()
            .unwrap();
        let before = committed.borrow().committed;
        reconnect.notify_one();
        // Away from connected, then connected again, with no wait for a backoff.
        while connected(&next().await) {}
        let asked = tokio::time::Instant::now();
        while !connected(&next().await) {}
        assert!(asked.elapsed() < Duration::from_secs(3), "reconnected at once");
        // And events flow again on the new connection.
        tokio::time::timeout(
            Duration::from_secs(10),
            committed.wait_for(|s| s.committed > before),
        )
        .await
        .unwrap()
        .unwrap();
        stop.send(()).unwrap();
        seen
    };
    let (summary, seen) = tokio::join!(watching, driving);
    simulator.stop().await;
    let connects = seen
        .iter()
        .filter(|s| matches!(s, ConnectionState::Connected { .. }))
        .count();
    assert_eq!(connects, 2, "{seen:?}");
    assert!(
        !seen.iter().any(|s| matches!(s, ConnectionState::Failed { .. })),
        "{seen:?}"
    );
    assert!(summary.events > 0, "events were recorded around the reconnect");
    store.close().await;
}
