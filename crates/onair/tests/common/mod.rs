//! What the `onair run` end-to-end tests share: the Kick fixture frames and reading the store back through
//! the real `onair events`.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::timeout;

use wiremock::MockServer;

/// The Kick fixtures folder.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/kick");

/// The fixtures that are Kick frames (not protocol frames, REST answers or the facts file), sorted.
pub fn kick_frame_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            n.ends_with(".json")
                && !n.starts_with("pusher_")
                && !n.starts_with("rest_")
                && n != "expected.json"
        })
        .collect();
    files.sort();
    files
}

/// Every event stored in `db`, as `onair events --format jsonl` prints them.
pub fn stored_events(onair: &Path, db: &Path) -> Vec<serde_json::Value> {
    let listed = assert_cmd::Command::new(onair)
        .arg("--db")
        .arg(db)
        .args(["events", "--after", "0", "--limit", "0", "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(listed.status.success());
    String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A home folder of its own for the `onair` binary: data, config and an owner-only secrets file (no
/// keychain), with the Kick and Twitch endpoints pointed at a local server.
pub struct Home {
    /// The folder.
    pub dir: tempfile::TempDir,
}

impl Home {
    /// A fresh, empty home.
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    /// Where the secrets are kept.
    pub fn secrets_file(&self) -> PathBuf {
        self.dir
            .path()
            .join("data")
            .join("app.onair.desktop")
            .join("secrets.toml")
    }
    /// `onair` with this home (and nothing else of the environment but `PATH`), its database in it.
    pub fn onair(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_onair"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("ONAIR_SECRET_STORE", "file")
            .arg("--db")
            .arg(self.db())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// The database file.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("onair.db")
    }

    /// `onair` with this home, talking to `server` for Kick's and Twitch's sign-in and API.
    pub fn command(&self, server: &MockServer) -> tokio::process::Command {
        let mut command = self.onair();
        command
            .env("ONAIR_KICK_AUTH_URL", server.uri())
            .env("ONAIR_KICK_PUBLIC_API_URL", server.uri())
            .env("ONAIR_TWITCH_AUTH_URL", server.uri())
            .env("ONAIR_TWITCH_HELIX_URL", server.uri());
        command
    }
}

/// Whether only the owner may read and write `path`.
#[cfg(unix)]
pub fn owner_only(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777 == 0o600
}

#[cfg(not(unix))]
pub fn owner_only(_: &Path) -> bool {
    true
}

/// A running `onair` whose output is read as it comes: stdout line by line, stderr whole at the end.
pub struct Running {
    child: tokio::process::Child,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    stderr: tokio::task::JoinHandle<String>,
}

impl Running {
    /// Starts `command` (its stdout and stderr piped).
    pub fn spawn(command: &mut tokio::process::Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                let _ = tx.send(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Whether it is still running (has not exited).
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for a stdout line containing `text` (lines before it are kept).
    pub async fn wait_for(&mut self, text: &str) -> String {
        let found = timeout(Duration::from_secs(30), async {
            loop {
                let line = self.lines.recv().await.expect("onair ended early");
                self.seen.push(line.clone());
                if line.contains(text) {
                    return line;
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no line with {text:?} in:\n{}", self.seen.join("\n")))
    }

    /// Stops it as Ctrl-C would; returns whether it ended well, all of stdout and all of stderr.
    pub async fn interrupt(mut self) -> (std::process::ExitStatus, String, String) {
        let pid = self.child.id().unwrap();
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        let status = timeout(Duration::from_secs(30), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        // The reader ends with the pipe.
        while let Some(line) = self.lines.recv().await {
            self.seen.push(line);
        }
        (status, self.seen.join("\n"), self.stderr.await.unwrap())
    }
}

/// Says hello and confirms the five feeds of the watched Kick channel.
pub async fn greet(conn: &mut onair_pusher::server::ServerConn) {
    conn.establish("1.1", 120).await.unwrap();
    for _ in 0..5 {
        timeout(Duration::from_secs(10), conn.accept_subscribe())
            .await
            .unwrap()
            .unwrap();
    }
}

/// A Kick fixture frame, as the server sends it.
pub fn kick_frame(file: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{file}"))
        .unwrap()
        .trim()
        .to_owned()
}

/// A JSONL file in `dir` of `count` Twitch follows whose source ids are `PREFIXN`.
pub fn twitch_follows(dir: &Path, prefix: &str, count: usize) -> PathBuf {
    use onair_core::{Actor, ChannelRef, Empty, Event, EventData, Platform};
    let channel = ChannelRef::new("4242", "imported_channel");
    let lines: Vec<String> = (0..count)
        .map(|n| {
            Event::new(Platform::Twitch, channel.clone(), EventData::Follow(Empty {}))
                .with_actor(Actor::new(format!("{prefix}{n}"), format!("{prefix}viewer{n}")))
                .with_source_id(format!("{prefix}{n}"))
                .to_json_line()
        })
        .collect();
    let path = dir.join(format!("{prefix}follows.jsonl"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// A real socket.io-client (node, `peers/socket.io-client/relay-client.mjs`) on a relay, its lines read
/// as they come.
pub struct RelayClient {
    _child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl RelayClient {
    /// Connects to the relay `onair` announced (its `relay: Socket.IO on URL` line, waited for on
    /// `running`) with `token`, subscribes with `filter`, and returns once the subscription is answered.
    pub async fn subscribe(running: &mut Running, token: &str, filter: &str) -> RelayClient {
        let line = running.wait_for("relay: Socket.IO on ").await;
        let url = line
            .trim_start_matches("relay: Socket.IO on ")
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../peers/socket.io-client/relay-client.mjs");
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .arg(&url)
            .arg(token)
            .arg(filter)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut client = RelayClient { _child: child, lines };
        while client
            .next()
            .await
            .expect("the relay client ended early")
            .get("subscribed")
            .is_none()
        {}
        client
    }

    /// What the client says next; `None` once it has ended. A line cut short (the client exits when the
    /// relay goes, and node writes to a pipe asynchronously) is passed over.
    pub async fn next(&mut self) -> Option<serde_json::Value> {
        loop {
            let line = timeout(Duration::from_secs(60), self.lines.next_line())
                .await
                .expect("the relay client said nothing for 60 s")
                .ok()??;
            if let Ok(value) = serde_json::from_str(&line) {
                return Some(value);
            }
        }
    }

    /// The source id of the next event it receives; `None` once it has ended.
    pub async fn next_event(&mut self) -> Option<String> {
        loop {
            let line = self.next().await?;
            if let Some(event) = line.get("event") {
                return Some(event["source_id"].as_str().unwrap().to_owned());
            }
        }
    }
}
