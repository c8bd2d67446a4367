//! What a client is told: where to connect (a URL, or candidate clusters to choose among), and the timing,
//! retry and pacing rules, with pusher-js's defaults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The protocol version this client speaks.
pub const PROTOCOL: u32 = 7;

/// The clusters probed when none is given: the cluster Kick uses first, then Pusher's other public clusters.
pub const DEFAULT_CLUSTERS: &[&str] = &["us2", "mt1", "us3", "eu", "ap1", "ap2", "ap3", "ap4", "sa1"];

/// The cluster used when no candidate accepts the key (for example when the network is down during detection).
pub const FALLBACK_CLUSTER: &str = "us2";

/// Where the client connects.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// A full `ws://` or `wss://` URL (tests, self-hosted servers): no detection.
    Url(String),
    /// Probe these clusters at the same time and keep the fastest one that accepts the app key.
    Detect {
        /// The clusters to probe.
        candidates: Vec<Cluster>,
        /// Used when no candidate accepts the key.
        fallback: Cluster,
    },
}

impl Endpoint {
    /// Detection among [`DEFAULT_CLUSTERS`] for the app `key`, falling back to [`FALLBACK_CLUSTER`].
    pub fn detect(key: &str) -> Self {
        Endpoint::Detect {
            candidates: DEFAULT_CLUSTERS
                .iter()
                .map(|name| Cluster::pusher(name, key))
                .collect(),
            fallback: Cluster::pusher(FALLBACK_CLUSTER, key),
        }
    }

    /// One Pusher cluster, no detection.
    pub fn cluster(name: &str, key: &str) -> Self {
        Endpoint::Url(Cluster::pusher(name, key).url)
    }
}

/// A named cluster and the URL that reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The cluster's name, e.g. `us2`.
    pub name: String,
    /// The WebSocket URL, app key and protocol parameters included.
    pub url: String,
}

impl Cluster {
    /// Pusher's hosted cluster `name` for the app `key`.
    pub fn pusher(name: &str, key: &str) -> Self {
        Cluster {
            name: name.to_owned(),
            url: format!("wss://ws-{name}.pusher.com{}", app_path(key)),
        }
    }
}

/// The path and query of the connection URL for `key`, as pusher-js sends it.
pub fn app_path(key: &str) -> String {
    format!("/app/{key}?protocol={PROTOCOL}&client=js&version=8.4.0&flash=false")
}

/// The name of the cluster chosen by detection, kept for reconnects and shareable between clients of the
/// same app (and with settings, so the next start can skip detection). Only the name is kept: the URL is
/// rebuilt from the current candidates, so a changed app key never goes to an old URL.
#[derive(Debug, Clone, Default)]
pub struct ClusterCache(Arc<Mutex<Option<String>>>);

impl ClusterCache {
    /// A cache that already holds the cluster `name`.
    pub fn with(name: &str) -> Self {
        ClusterCache(Arc::new(Mutex::new(Some(name.to_owned()))))
    }

    /// The cached choice.
    pub fn get(&self) -> Option<String> {
        self.0
            .lock()
            .map(|c| c.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Replaces the cached choice.
    pub fn set(&self, cluster: Option<String>) {
        match self.0.lock() {
            Ok(mut slot) => *slot = cluster,
            Err(poisoned) => *poisoned.into_inner() = cluster,
        }
    }
}

/// Retries of one outage: exponential with jitter, capped, at most `max_retries` before giving up.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffPolicy {
    /// The first delay (before jitter).
    pub initial: Duration,
    /// The largest delay (before jitter).
    pub max: Duration,
    /// Retries per outage before the state becomes `failed`.
    pub max_retries: u32,
    /// Adds a random part of up to the delay itself, so clients that lost the same server do not return
    /// together.
    pub jitter: bool,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            max_retries: 5,
            jitter: true,
        }
    }
}

/// Everything a [`crate::PusherClient`] needs.
#[derive(Debug, Clone)]
pub struct PusherConfig {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// The detected cluster, shared and reused (only used with [`Endpoint::Detect`]).
    pub cluster_cache: ClusterCache,
    /// Silence after which the client pings; the server's `activity_timeout` is used when it is shorter.
    pub activity_timeout: Duration,
    /// How long to wait for any frame after a ping before calling the socket dead.
    pub pong_timeout: Duration,
    /// Limit for opening the socket and for receiving `pusher:connection_established`, each.
    pub connect_timeout: Duration,
    /// Reconnection rules.
    pub backoff: BackoffPolicy,
    /// Frames the client may send per second (subscribes, pings, client events alike).
    pub send_per_second: u32,
    /// Frames callers may have waiting to be sent; one more is refused with [`crate::PusherError::QueueFull`].
    pub send_queue: usize,
    /// Received frames larger than this are skipped (logged), the connection stays up.
    pub max_frame_bytes: usize,
    /// Received messages buffered for the consumer (in batches of up to 512, so about this many, at most
    /// twice) before the client stops reading the socket.
    pub inbound_buffer: usize,
    /// How long [`crate::PusherClient::shutdown`] may take in all.
    pub shutdown_timeout: Duration,
}

impl PusherConfig {
    /// The defaults (pusher-js's timeouts, OnAir's retry and pacing rules) for `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        PusherConfig {
            endpoint,
            cluster_cache: ClusterCache::default(),
            activity_timeout: Duration::from_secs(120),
            pong_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            backoff: BackoffPolicy::default(),
            send_per_second: 5,
            send_queue: 1024,
            max_frame_bytes: 1 << 20,
            inbound_buffer: 4096,
            shutdown_timeout: Duration::from_secs(3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pusher_urls_are_what_pusher_js_opens() {
        let Endpoint::Url(url) = Endpoint::cluster("us2", "32cbd69e4b950bf97679") else {
            panic!("a cluster is a URL");
        };
        assert_eq!(
            url,
            "wss://ws-us2.pusher.com/app/32cbd69e4b950bf97679?protocol=7&client=js&version=8.4.0&flash=false"
        );
    }

    #[test]
    fn detection_probes_every_default_cluster_and_falls_back_to_us2() {
        let Endpoint::Detect { candidates, fallback } = Endpoint::detect("k") else {
            panic!("detect is detection");
        };
        assert_eq!(
            candidates.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            DEFAULT_CLUSTERS
        );
        assert_eq!(
            fallback.url,
            "wss://ws-us2.pusher.com/app/k?protocol=7&client=js&version=8.4.0&flash=false"
        );
    }

    #[test]
    fn the_cluster_cache_is_shared_between_clones() {
        let cache = ClusterCache::default();
        let other = cache.clone();
        assert_eq!(cache.get(), None);
        other.set(Some("eu".to_owned()));
        assert_eq!(cache.get().as_deref(), Some("eu"));
        assert_eq!(ClusterCache::with("us2").get().as_deref(), Some("us2"));
    }
}
