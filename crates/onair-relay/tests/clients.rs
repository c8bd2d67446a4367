//! The relay against the real `socket.io-client` from npm (node, `peers/socket.io-client`, installed by
//! `cargo xtask setup`): a wrong or missing token is refused with `connect_error` "unauthorized"; each
//! client receives exactly the events its filter asks for, in order, in the public JSON form with their
//! offsets; a graceful shutdown tells every client when to come back before it closes them.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use onair_core::{Event, EventKind, Offset, Platform, sample};
use onair_relay::{Relay, RelayOptions};
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

const TOKEN: &str = "relay-test-token";

fn script() -> PathBuf {
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
struct Client {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Client {
    fn start(relay: &Relay, token: &str, filter: &str) -> Client {
        let mut child = Command::new("node")
            .arg(script())
            .arg(format!("http://{}", relay.local_addr()))
            .arg(token)
            .arg(filter)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Client { _child: child, lines }
    }

    /// The next thing the client reports.
    async fn next(&mut self) -> Value {
        let line = timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("the client said nothing for 20 s")
            .unwrap()
            .expect("the client ended");
        serde_json::from_str(&line).unwrap()
    }

    /// Waits until it says `what`, returning its value.
    async fn expect(&mut self, what: &str) -> Value {
        let line = self.next().await;
        line.get(what)
            .cloned()
            .unwrap_or_else(|| panic!("expected {what}, got {line}"))
    }
}

/// Every kind of event once, committed (offsets 1, 2, ...).
fn committed() -> Vec<Event> {
    sample::every_kind(Platform::Twitch)
        .into_iter()
        .enumerate()
        .map(|(i, mut event)| {
            event.offset = Some(Offset(i as i64 + 1));
            event
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_get_exactly_what_they_subscribed_to_and_a_shutdown_notice() {
    let mut options = RelayOptions::new(SecretString::from(TOKEN));
    options.addr = "127.0.0.1:0".parse().unwrap();
    let relay = Relay::start(options).await.unwrap();

    // Wrong or missing tokens are refused.
    for token in ["wrong-token", "-"] {
        let mut refused = Client::start(&relay, token, "-");
        assert_eq!(refused.expect("connect_error").await, "unauthorized", "{token}");
    }

    let mut follows = Client::start(&relay, TOKEN, r#"{"kinds": ["follow", "raid"]}"#);
    let mut channel = Client::start(
        &relay,
        TOKEN,
        &format!(
            r#"{{"platforms": ["twitch"], "channels": ["{}"]}}"#,
            sample::channel().slug.to_uppercase()
        ),
    );
    let mut elsewhere = Client::start(&relay, TOKEN, r#"{"platforms": ["kick"]}"#);
    let mut silent = Client::start(&relay, TOKEN, "-");
    for client in [&mut follows, &mut channel, &mut elsewhere] {
        client.expect("connected").await;
        assert_eq!(client.expect("subscribed").await["ok"], true);
    }
    silent.expect("connected").await;
    assert_eq!(relay.clients(), 4);

    let events = committed();
    for event in &events {
        relay.publish(event);
    }
    relay.shutdown(Duration::from_millis(1500)).await;

    // Each gets its events in order, then the notice, then the end; nothing else.
    let offsets = |want: &dyn Fn(&Event) -> bool| -> Vec<i64> {
        events
            .iter()
            .filter(|e| want(e))
            .map(|e| e.offset.unwrap().0)
            .collect()
    };
    let cases: [(&mut Client, Vec<i64>); 4] = [
        (
            &mut follows,
            offsets(&|e| matches!(e.kind(), EventKind::Follow | EventKind::Raid)),
        ),
        (&mut channel, offsets(&|_| true)),
        (&mut elsewhere, Vec::new()),
        (&mut silent, Vec::new()),
    ];
    for (client, want) in cases {
        let mut got = Vec::new();
        let notice = loop {
            let line = client.next().await;
            if let Some(event) = line.get("event") {
                let offset = event["offset"].as_i64().unwrap();
                // The public JSON form (v1), whole.
                let sent = events.iter().find(|e| e.offset == Some(Offset(offset))).unwrap();
                let sent: Value = serde_json::from_str(&sent.to_json_line()).unwrap();
                assert_eq!(event, &sent);
                got.push(offset);
            } else {
                break line;
            }
        };
        assert_eq!(got, want);
        assert_eq!(notice["shutdown"]["retry_after_ms"], 1500, "{notice}");
        assert!(client.expect("disconnect").await.is_string());
    }
}
