//! The relay against the real `socket.io-client` from npm (node, `peers/socket.io-client`, installed by
//! `cargo xtask setup`): a wrong or missing token is refused with `connect_error` "unauthorized"; each
//! client receives exactly the events its filter asks for, in order, in the public JSON form with their
//! offsets; a graceful shutdown tells every client when to come back before it closes them; a client that
//! resumes gets every stored event after its offset and then the live ones, with events published during
//! its replay neither lost nor doubled; a client flooding the relay with requests is limited, told so, and
//! disconnected when it keeps on; the hub sees every client (address, user agent, filter, events sent) and
//! every client sees the watched connections' status; an address that keeps giving wrong tokens is
//! throttled; `/metrics` counts what the relay did.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use onair_core::{Event, EventKind, Offset, Platform, sample};
use onair_relay::{Relay, RelayOptions, StoredEvents};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};

#[path = "support/relay_client.rs"]
mod relay_client;
use relay_client::{Client, TOKEN};

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

/// A committed follow at `offset`.
fn follow(offset: i64) -> Event {
    let mut event = committed()
        .into_iter()
        .find(|e| e.kind() == EventKind::Follow)
        .unwrap();
    event.offset = Some(Offset(offset));
    event
}

/// Stored events whose every read waits for the test: it says when a read is asked for, and answers only
/// when the test lets it (so the test can publish in the middle of a replay).
struct Gated {
    events: Mutex<Vec<Event>>,
    asked: mpsc::UnboundedSender<i64>,
    gate: Semaphore,
}

#[async_trait]
impl StoredEvents for Gated {
    async fn after(&self, after: Offset, limit: u32) -> Result<Vec<Event>, String> {
        let _ = self.asked.send(after.0);
        self.gate.acquire().await.map_err(|e| e.to_string())?.forget();
        let events = self.events.lock().unwrap();
        Ok(events
            .iter()
            .filter(|e| e.offset.unwrap() > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_with_after_replays_then_goes_live_with_nothing_lost_or_doubled_at_the_seam() {
    replay_then_live(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_replays_then_goes_live_with_nothing_lost_or_doubled_at_the_seam() {
    replay_then_live(true).await;
}

/// A client resumes from offset 5 (in its subscribe, or by a resume after it: `separate`) while events are
/// published in the middle of the replay; it gets 6 to 24, each once, in order.
async fn replay_then_live(separate: bool) {
    let (asked_tx, mut asked) = mpsc::unbounded_channel();
    let stored = Arc::new(Gated {
        events: Mutex::new((1..=20).map(follow).collect()),
        asked: asked_tx,
        gate: Semaphore::new(0),
    });
    let mut options = RelayOptions::new(SecretString::from(TOKEN));
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.replay_page = 4;
    let relay = Arc::new(Relay::start(options, Some(stored.clone())).await.unwrap());
    let mut client = Client::spawn(
        &relay,
        &[TOKEN, r#"{"kinds": ["follow"]}"#, "5"],
        &[("ONAIR_TEST_SEPARATE_RESUME", if separate { "1" } else { "0" })],
    );

    // Each read of the replay is let through; during the first three, an event is committed and published
    // (it waits in the client's cursor, and is also in the store the replay reads next).
    let driver = tokio::spawn({
        let (relay, stored) = (relay.clone(), stored.clone());
        async move {
            let mut reads = 0;
            while asked.recv().await.is_some() {
                reads += 1;
                if reads <= 3 {
                    let event = follow(20 + reads);
                    stored.events.lock().unwrap().push(event.clone());
                    relay.publish(&event);
                }
                stored.gate.add_permits(1);
            }
        }
    });
    let mut got = Vec::new();
    let done = loop {
        let line = client.next().await;
        if let Some(event) = line.get("event") {
            got.push(event["offset"].as_i64().unwrap());
        } else if let Some(done) = line.get("replay_done") {
            break done.clone();
        } else {
            assert!(
                line.get("subscribed")
                    .or(line.get("resumed"))
                    .or(line.get("connected"))
                    .is_some(),
                "{line}"
            );
        }
    };
    assert_eq!(done["last_offset"], 23);
    // Live from here.
    relay.publish(&follow(24));
    relay.publish(&follow(24));
    driver.abort();
    let _ = driver.await;
    let relay = Arc::into_inner(relay).unwrap_or_else(|| panic!("the driver still holds the relay"));
    relay.shutdown(Duration::from_millis(100)).await;
    let end = loop {
        let line = client.next().await;
        match line.get("event") {
            Some(event) => got.push(event["offset"].as_i64().unwrap()),
            // The client prints the answers when their promises settle, which may be after events.
            None if line.get("resumed").or(line.get("subscribed")).is_some() => {}
            None => break line,
        }
    };
    assert_eq!(
        got,
        (6..=24).collect::<Vec<_>>(),
        "each event once, in order (then {end})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_get_exactly_what_they_subscribed_to_and_a_shutdown_notice() {
    let mut options = RelayOptions::new(SecretString::from(TOKEN));
    options.addr = "127.0.0.1:0".parse().unwrap();
    let relay = Relay::start(options, None).await.unwrap();

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_requests_is_limited_then_disconnected() {
    let mut options = RelayOptions::new(SecretString::from(TOKEN));
    options.addr = "127.0.0.1:0".parse().unwrap();
    let (allowed, strikes) = (options.requests_per_minute as usize, options.strikes as usize);
    let relay = Relay::start(options, None).await.unwrap();
    let mut client = Client::spawn(&relay, &[TOKEN, "-"], &[("ONAIR_TEST_FLOOD", "45")]);
    client.expect("connected").await;
    let mut notices = 0;
    let mut disconnected = None;
    let answers = loop {
        let line = client.next().await;
        if line.get("rate_limit").is_some() {
            assert_eq!(line["rate_limit"]["event"], "subscribe");
            assert!(line["rate_limit"]["retry_after_ms"].as_u64().unwrap() > 0);
            notices += 1;
        } else if let Some(reason) = line.get("disconnect") {
            disconnected = Some(reason.clone());
        } else if let Some(answers) = line.get("flood") {
            break answers.as_array().unwrap().clone();
        }
    };
    let count = |what: &str| answers.iter().filter(|a| *a == what).count();
    // The requests are handled concurrently, so which ones pass is not their order; and the limit gives back
    // one request every two seconds, so a slow machine may see one or two more pass. An answer can also be
    // cut by the disconnect ("no answer").
    assert!(count("ok") <= allowed + 2, "{answers:?}");
    assert!(count("ok") + count("no answer") >= allowed, "{answers:?}");
    assert!(
        count("rate_limited") + count("no answer") > strikes,
        "{answers:?}"
    );
    // Each refusal comes with rate:limit (one whose answer was cut by the disconnect too).
    assert!(
        notices >= count("rate_limited") && notices <= count("rate_limited") + count("no answer"),
        "{notices} notices for {answers:?}"
    );
    assert_eq!(count("ok") + count("rate_limited") + count("no answer"), 45);
    assert_eq!(
        disconnected,
        Some(Value::from("io server disconnect")),
        "disconnected for persisting"
    );
    relay.shutdown(Duration::from_millis(100)).await;
}

/// The process's Prometheus recorder (one per test binary: the facade takes one global recorder).
fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .unwrap()
        })
        .clone()
}

/// `GET path` on the relay with `token` (none: no Authorization header): the status and the body.
async fn http_get(relay: &Relay, path: &str, token: Option<&str>) -> (u16, String) {
    // Plain HTTP; reqwest still wants its TLS set up (the workspace builds it without a default provider).
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap();
    let mut request = http.get(format!("http://{}{path}", relay.local_addr()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The value of the unlabelled sample `name` in a Prometheus text page.
fn sample_value(page: &str, name: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{page}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_sees_each_client_and_each_client_sees_the_connections_status() {
    let mut options = RelayOptions::new(SecretString::from(TOKEN));
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.metrics = Some(metrics_handle());
    let relay = Relay::start(options, None).await.unwrap();
    let twitch = onair_core::ConnectionId::new(Platform::Twitch, "nebulacast");
    relay.set_status(&twitch, &onair_core::ConnectionState::Connecting);

    let mut client = Client::spawn(
        &relay,
        &[TOKEN, r#"{"kinds": ["follow"]}"#],
        &[
            ("ONAIR_TEST_STATUS", "1"),
            ("ONAIR_TEST_USER_AGENT", "StreamDeck-Plugin/2.1"),
        ],
    );
    // The status comes at once, before the subscription's answer.
    client.expect("connected").await;
    let status = client.expect("status").await;
    assert_eq!(
        status,
        serde_json::json!({ "connections": [
            { "id": { "platform": "twitch", "name": "nebulacast" }, "state": { "state": "connecting" } }
        ] })
    );
    let subscribed = client.expect("subscribed").await;
    assert_eq!(subscribed["ok"], true);
    assert!(
        subscribed.get("head").is_none(),
        "no head before anything is known: {subscribed}"
    );
    relay.set_status(
        &twitch,
        &onair_core::ConnectionState::Connected {
            session: Some("s1".into()),
        },
    );
    assert_eq!(
        client.expect("status").await["connections"][0]["state"],
        serde_json::json!({ "state": "connected", "session": "s1" })
    );
    let events = committed();
    for event in &events {
        relay.publish(event);
    }
    let follows = events.iter().filter(|e| e.kind() == EventKind::Follow).count();
    for _ in 0..follows {
        client.expect("event").await;
    }

    // The hub's list, and the same over HTTP with the token.
    let listed = relay.client_list().clients;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let seen = &listed[0];
    assert_eq!(seen.user_agent.as_deref(), Some("StreamDeck-Plugin/2.1"));
    assert!(
        seen.address.as_deref().unwrap().starts_with("127.0.0.1:"),
        "{seen:?}"
    );
    assert_eq!(seen.filter.as_ref().unwrap().kinds, vec![EventKind::Follow]);
    assert_eq!(seen.events_sent, follows as u64);
    assert!(seen.connected_at <= chrono::Utc::now());
    let (code, body) = http_get(&relay, "/clients", Some(TOKEN)).await;
    assert_eq!(code, 200, "{body}");
    let over_http: onair_relay::RelayClients = serde_json::from_str(&body).unwrap();
    assert_eq!(over_http.clients, listed);
    for token in [None, Some("wrong-token")] {
        let (code, body) = http_get(&relay, "/clients", token).await;
        assert_eq!(code, 401, "{token:?}: {body}");
        assert!(body.contains("Authorization: Bearer"), "{body}");
    }

    // The metrics page counts what happened (other tests of this binary may add to the counters).
    let (code, page) = http_get(&relay, "/metrics", Some(TOKEN)).await;
    assert_eq!(code, 200, "{page}");
    assert!(sample_value(&page, "onair_relay_clients") >= 1.0, "{page}");
    assert!(
        sample_value(&page, "onair_relay_events_sent_total") >= follows as f64,
        "{page}"
    );
    assert_eq!(http_get(&relay, "/metrics", None).await.0, 401);

    // A client subscribing now learns where the log stands, to resume from there later.
    let mut later = Client::start(&relay, TOKEN, "{}");
    later.expect("connected").await;
    let last = events.last().unwrap().offset.unwrap().0;
    assert_eq!(later.expect("subscribed").await["head"], last);
    relay.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_keeps_giving_wrong_tokens_is_slowed_down_but_the_right_token_gets_in() {
    let mut options = RelayOptions::new(SecretString::from(TOKEN));
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.wrong_tokens_per_minute = 3;
    let relay = Relay::start(options, None).await.unwrap();
    for attempt in 1..=3 {
        let mut refused = Client::start(&relay, "guess", "-");
        assert_eq!(
            refused.expect("connect_error").await,
            "unauthorized",
            "attempt {attempt}"
        );
    }
    let mut throttled = Client::start(&relay, "guess", "-");
    let said = throttled.expect("connect_error").await;
    assert!(
        said.as_str()
            .unwrap()
            .starts_with("unauthorized: too many wrong tokens from this address"),
        "{said}"
    );
    // The right token still gets in at once: a stale client cannot lock the others on its machine out.
    let mut right = Client::start(&relay, TOKEN, "-");
    right.expect("connected").await;
    assert_eq!(relay.clients(), 1);
    relay.shutdown(Duration::from_millis(100)).await;
}

/// Stored events that cannot be read.
struct Unreadable;

#[async_trait]
impl StoredEvents for Unreadable {
    async fn after(&self, _: Offset, _: u32) -> Result<Vec<Event>, String> {
        Err("disk I/O error".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_that_cannot_read_the_store_disconnects_rather_than_skip() {
    let mut options = RelayOptions::new(SecretString::from(TOKEN));
    options.addr = "127.0.0.1:0".parse().unwrap();
    let relay = Relay::start(options, Some(Arc::new(Unreadable))).await.unwrap();
    relay.set_head(Offset(10));
    // Within the log (the replay's first read fails), and past the relay's head (the read that checks the
    // position fails).
    for after in ["3", "30"] {
        let mut client = Client::start_resuming(&relay, "{}", after);
        client.expect("connected").await;
        // The error, then the disconnect: no replay:done (it would claim a position past the unread events),
        // and no event.
        let mut seen = Vec::new();
        let reason = loop {
            let line = client.next().await;
            if let Some(reason) = line.get("disconnect") {
                break reason.clone();
            }
            assert!(
                line.get("event").is_none() && line.get("replay_done").is_none(),
                "after {after}: {line}"
            );
            seen.push(line);
        };
        assert_eq!(reason, "io server disconnect", "after {after}");
        assert!(
            seen.iter().any(|l| l["error"]["code"] == "replay_failed"
                && l["error"]["message"].as_str().unwrap().contains("disk I/O error")),
            "after {after}: {seen:?}"
        );
    }
    relay.shutdown(Duration::from_millis(100)).await;
}
