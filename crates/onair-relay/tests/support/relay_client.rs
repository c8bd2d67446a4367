//! A relay client for onair-relay's tests: the real `socket.io-client` from npm in node
//! (`peers/socket.io-client/relay-client.mjs`, installed by `cargo xtask setup`), started with a token, a
//! filter and optionally a position, and what it reports, one JSON line per thing that happens. Shared by
//! `tests/clients.rs` and `tests/positions.rs` (each includes this file).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use onair_relay::Relay;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

/// The token the tests' relays are started with.
pub const TOKEN: &str = "relay-test-token";

/// The client script; socket.io-client must be installed beside it.
pub fn script() -> PathBuf {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../peers/socket.io-client/relay-client.mjs");
    let installed = script.with_file_name("node_modules").join("socket.io-client");
    assert!(
        installed.is_dir(),
        "socket.io-client is not installed: run `cargo xtask setup` (no {})",
        installed.display()
    );
    script
}

/// A socket.io-client in node, and what it prints.
pub struct Client {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Client {
    /// A client that subscribes with `filter` ("-": connects only).
    pub fn start(relay: &Relay, token: &str, filter: &str) -> Client {
        Client::spawn(relay, &[token, filter], &[])
    }

    /// A client that subscribes with `filter` and `after` (one step).
    pub fn start_resuming(relay: &Relay, filter: &str, after: &str) -> Client {
        Client::spawn(relay, &[TOKEN, filter, after], &[])
    }

    /// A client started with `args` after the URL (token, filter, after) and `env`.
    pub fn spawn(relay: &Relay, args: &[&str], env: &[(&str, &str)]) -> Client {
        let mut child = Command::new("node")
            .envs(env.iter().copied())
            .arg(script())
            .arg(format!("http://{}", relay.local_addr()))
            .args(args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Client { _child: child, lines }
    }

    /// The next thing the client reports.
    pub async fn next(&mut self) -> Value {
        let line = timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("the client said nothing for 20 s")
            .unwrap()
            .expect("the client ended");
        serde_json::from_str(&line).unwrap()
    }

    /// Waits until it says `what`, returning its value.
    pub async fn expect(&mut self, what: &str) -> Value {
        let line = self.next().await;
        line.get(what)
            .cloned()
            .unwrap_or_else(|| panic!("expected {what}, got {line}"))
    }
}
