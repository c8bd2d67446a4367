//! A real Pusher-protocol server for tests: soketi 1.6.1 (installed from npm into `peers/soketi` by
//! `cargo xtask setup`), one process per [`Soketi`], on loopback only.
//!
//! Each instance gets its own free ports (WebSocket/HTTP, the `/usage` server soketi always opens, the UDP
//! port of its node discovery, kept on loopback and talking only to itself), its own app credentials and its
//! own temporary folder (config and log), so tests can run several in parallel. uWebSockets listens with
//! `SO_REUSEPORT`: two soketis on one port would both start and share the traffic silently, so ports handed
//! out here are never handed out again in this process, and distinct credentials make any clash with another
//! process fail loudly (4001, "app not found") instead of mixing traffic.
//!
//! Works on real time only: do not start it under tokio's paused clock.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use tempfile::TempDir;
use tokio::process::{Child, Command};

/// How long soketi may take from spawn to answering `GET /ready` (it takes 1–7 s on a loaded machine).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often `GET /ready` is polled while starting.
const READY_POLL: Duration = Duration::from_millis(50);

/// How many lines of soketi's log a panic message shows.
const LOG_TAIL_LINES: usize = 40;

/// Ports handed out in this process, never handed out twice (see the module doc).
static TAKEN_PORTS: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Numbers the instances of this process, for distinct credentials.
static INSTANCES: AtomicU32 = AtomicU32::new(0);

/// A running soketi on `127.0.0.1:port` with one app (`app_id`, `key`, `secret`, client events enabled).
/// Killed (SIGKILL) when dropped.
pub struct Soketi {
    /// The WebSocket and HTTP API port, on 127.0.0.1.
    pub port: u16,
    /// The app's id, as in `/apps/{app_id}/events`.
    pub app_id: String,
    /// The app's key, as in `/app/{key}`.
    pub key: String,
    /// The app's secret, which signs API requests and channel authorisations.
    pub secret: String,
    /// `peers/soketi/node_modules/@soketi/soketi/bin/server.js`.
    server_js: PathBuf,
    /// The config file, in `dir`.
    config: PathBuf,
    /// The log (stdout and stderr of every run, appended), in `dir`.
    log: PathBuf,
    /// The HTTP client for `/ready` and the API (no proxy: loopback only).
    http: reqwest::Client,
    /// The running process; `None` after [`Soketi::kill`]. Declared before `dir` so it is killed first.
    child: Option<Child>,
    /// The temporary folder holding the config and the log.
    dir: TempDir,
}

impl Soketi {
    /// Starts a soketi on free loopback ports and waits until it is ready.
    ///
    /// Panics when soketi is not installed, cannot start, or is not ready within 30 s (showing its log).
    pub async fn start() -> Soketi {
        let server_js = server_js();
        assert!(
            server_js.is_file(),
            "soketi is not installed: run `cargo xtask setup` (no {})",
            server_js.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("onair-soketi-")
            .tempdir()
            .expect("a temporary folder for soketi");
        let instance = format!(
            "{}-{}",
            std::process::id(),
            INSTANCES.fetch_add(1, Ordering::Relaxed)
        );
        let port = free_port(Transport::Tcp);
        let usage_port = free_port(Transport::Tcp);
        let cluster_port = free_port(Transport::Udp);
        let mut soketi = Soketi {
            port,
            app_id: format!("app-{instance}"),
            key: format!("key-{instance}"),
            secret: format!("secret-{instance}"),
            server_js,
            config: dir.path().join("config.json"),
            log: dir.path().join("soketi.log"),
            http: {
                // Where reqwest is built with rustls but no provider (the hub's tests), it needs a default.
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::builder()
                    .no_proxy()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .expect("an HTTP client")
            },
            child: None,
            dir,
        };
        let config = soketi.config_json(usage_port, cluster_port);
        fs::write(&soketi.config, config.to_string()).expect("write soketi's config");
        soketi.spawn().await;
        soketi
    }

    /// The URL a Pusher client connects to, as pusher-js builds it.
    pub fn ws_url(&self) -> String {
        self.ws_url_with_key(&self.key)
    }

    /// The URL a Pusher client connects to with another app key (soketi answers an unknown one with 4001).
    pub fn ws_url_with_key(&self, key: &str) -> String {
        format!(
            "ws://127.0.0.1:{}/app/{key}?protocol=7&client=js&version=8.4.0&flash=false",
            self.port
        )
    }

    /// Publishes `event` with `data` (sent as is: usually a JSON text) on `channel` through the HTTP API.
    ///
    /// Panics unless soketi accepts it: an HTTP status other than 2xx, or a body holding `"error"` (this
    /// soketi build answers its errors with HTTP 200).
    pub async fn trigger(&self, channel: &str, event: &str, data: &str) {
        let body = serde_json::json!({ "name": event, "channels": [channel], "data": data }).to_string();
        let path = format!("/apps/{}/events", self.app_id);
        let query = signed_query(&self.key, &self.secret, "POST", &path, &body, unix_seconds());
        let response = self
            .http
            .post(format!("http://127.0.0.1:{}{path}?{query}", self.port))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("triggering {event} on {channel}: {e}\n{}", self.log_tail()));
        let status = response.status();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| format!("(no body: {e})"));
        assert!(
            status.is_success() && !text.contains("\"error\""),
            "soketi refused {event} on {channel}: HTTP {status} {text}"
        );
    }

    /// Whether `channel` has a subscriber now (soketi's signed channel API).
    pub async fn occupied(&self, channel: &str) -> bool {
        let path = format!("/apps/{}/channels/{channel}", self.app_id);
        let query = signed_query(&self.key, &self.secret, "GET", &path, "", unix_seconds());
        let Ok(response) = self
            .http
            .get(format!("http://127.0.0.1:{}{path}?{query}", self.port))
            .send()
            .await
        else {
            return false;
        };
        let body = response.text().await.unwrap_or_default();
        serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|info| info["occupied"] == true)
    }

    /// The `auth` of a `pusher:subscribe` to the private channel `channel` for the connection `socket_id`:
    /// `key:hex(HMAC-SHA256(secret, "socket_id:channel"))`.
    pub fn private_auth(&self, socket_id: &str, channel: &str) -> String {
        sign(&self.key, &self.secret, socket_id, channel)
    }

    /// Kills soketi with SIGKILL (clients see their connection drop, no close frame) and waits for it to
    /// exit. Does nothing when it is not running.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill soketi");
        }
    }

    /// Starts soketi again on the same port with the same config and app, killing it first if it still
    /// runs, and waits until it is ready. Connections made before do not survive.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }

    /// Spawns `node server.js start --config=...` with its output appended to the log, then waits until
    /// it is ready.
    async fn spawn(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open soketi's log");
        let mut command = Command::new("node");
        command
            .arg(&self.server_js)
            .arg("start")
            .arg(format!("--config={}", self.config.display()))
            // soketi reads a `.env` in its working directory: keep it in the empty temporary folder.
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("share soketi's log"))
            .stderr(log)
            .kill_on_drop(true);
        // `SOKETI_*` variables would override the config.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SOKETI_") {
                command.env_remove(name);
            }
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `node` for soketi (is Node.js 20+ on PATH?): {e}"));
        self.child = Some(child);
        self.wait_ready().await;
    }

    /// Polls `GET /ready` until it answers 200; panics with the log's tail when soketi exits or the time
    /// runs out.
    async fn wait_ready(&mut self) {
        let url = format!("http://127.0.0.1:{}/ready", self.port);
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait().expect("poll soketi")
            {
                panic!(
                    "soketi exited ({status}) before it was ready on port {}\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            let ready = self.http.get(&url).timeout(Duration::from_secs(1)).send().await;
            if ready.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) {
                return;
            }
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "soketi was not ready on port {} within {READY_TIMEOUT:?}\n{}",
                self.port,
                self.log_tail()
            );
            tokio::time::sleep(READY_POLL).await;
        }
    }

    /// soketi's config: the dot-separated keys are merged into its defaults. Everything listens on
    /// 127.0.0.1; `debug` stays off (it logs every frame).
    fn config_json(&self, usage_port: u16, cluster_port: u16) -> serde_json::Value {
        serde_json::json!({
            "debug": false,
            "host": "127.0.0.1",
            "port": self.port,
            "appManager.array.apps": [{
                "id": self.app_id,
                "key": self.key,
                "secret": self.secret,
                "enabled": true,
                "enableClientMessages": true,
                "maxConnections": -1,
                "maxBackendEventsPerSecond": -1,
                "maxClientEventsPerSecond": -1,
                "maxReadRequestsPerSecond": -1,
                "webhooks": [],
            }],
            "eventLimits.maxBatchSize": 100,
            // node-discover always runs: by default on UDP 0.0.0.0:11002, broadcasting to 255.255.255.255.
            "cluster.address": "127.0.0.1",
            "cluster.hostname": "127.0.0.1",
            "cluster.port": cluster_port,
            "cluster.unicast": format!("127.0.0.1:{cluster_port}"),
            // The `/usage` server listens on `metrics.port` even with metrics disabled.
            "metrics.enabled": false,
            "metrics.host": "127.0.0.1",
            "metrics.port": usage_port,
        })
    }

    /// The last lines of soketi's log, headed by its path, for panic messages.
    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(cannot read it: {e})"));
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        format!("--- end of {} ---\n{tail}", self.log.display())
    }
}

/// soketi's entry point in the repository: `peers/soketi/node_modules/@soketi/soketi/bin/server.js`.
fn server_js() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.join("peers/soketi/node_modules/@soketi/soketi/bin/server.js")
}

/// A kind of socket to find a free port for.
#[derive(Clone, Copy)]
enum Transport {
    /// A TCP listener.
    Tcp,
    /// A UDP socket.
    Udp,
}

/// A loopback port the system reports free for `transport` and this process has not handed out before.
fn free_port(transport: Transport) -> u16 {
    let mut taken = TAKEN_PORTS.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let address = match transport {
            Transport::Tcp => TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|s| s.local_addr()),
            Transport::Udp => UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|s| s.local_addr()),
        };
        let port = address.expect("a free loopback port").port();
        if taken.insert(port) {
            return port;
        }
    }
}

/// The query string of a signed Pusher HTTP API request: `auth_key`, `auth_timestamp`, `auth_version=1.0`,
/// `body_md5`, then `auth_signature` = hex HMAC-SHA256(secret, "METHOD\nPATH\n<the others, sorted>").
fn signed_query(key: &str, secret: &str, method: &str, path: &str, body: &str, timestamp: u64) -> String {
    let body_md5 = hex::encode(Md5::digest(body.as_bytes()));
    // Already in the key order the signature needs.
    let query = format!("auth_key={key}&auth_timestamp={timestamp}&auth_version=1.0&body_md5={body_md5}");
    let signature = hmac_sha256_hex(secret, &format!("{method}\n{path}\n{query}"));
    format!("{query}&auth_signature={signature}")
}

/// Lowercase hex of HMAC-SHA256(`secret`, `message`).
fn hmac_sha256_hex(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Seconds since the Unix epoch, now.
fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// The `auth` an app backend with `key` and `secret` gives the connection `socket_id` for the private
/// channel `channel`: `key:hex(HMAC-SHA256(secret, "socket_id:channel"))`.
pub fn sign(key: &str, secret: &str, socket_id: &str, channel: &str) -> String {
    let signature = hmac_sha256_hex(secret, &format!("{socket_id}:{channel}"));
    format!("{key}:{signature}")
}
