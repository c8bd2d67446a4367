//! Discord through network faults: the real shard connection (`DiscordPlatform` -> `DiscordShard`) against
//! the fake Discord (`onair-discord`'s feature `test-server`: REST and the Gateway on one port, zlib-stream,
//! sessions that replay on resume), a fault proxy in front of all of it (the server announces the proxy in
//! `/gateway/bot` and READY, so resumes go through it too), every event into a real store. The server
//! dispatches a message about every 8 ms; heartbeats every 250 ms. Then: latency with jitter and writes of
//! 1-7 bytes; a connection half-open both ways, then one whose heartbeats never reach the server (both must
//! be found by the missing heartbeat ACK and resumed); a TCP reset inside a frame; refusals while the client
//! retries; a seeded chaos schedule. Checked: every message the proxy delivered (a dispatch inflated from
//! the tapped zlib stream, keyed `session:seq` as the client keys it) is stored exactly once and nothing
//! else is; every retry waits within the backoff's bounds and the connection never ends `failed`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Recorder, States, assert_backoff, assert_stored_once, quick_backoff};
use onair_core::{ChannelRef, ConnectionState, LiveConnection};
use onair_discord::testing::{GatewayServer, ServerOptions};
use onair_discord::{DiscordConfig, DiscordPlatform, DiscordShard, Watched};
use onair_faultproxy::{Chaos, Conditions, Connection, End, FaultProxy, Schedule, Stall};
use onair_pusher::BackoffPolicy;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::time::{Instant, timeout};

const TOKEN: &str = "test-token";
const GUILD: &str = "1085131932938797063";
const GENERAL: &str = "1085131964526100482";
const HEARTBEAT: Duration = Duration::from_millis(250);

fn message(n: u64) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/discord/04_message_create.json"
    );
    let payload: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut d = payload["d"].clone();
    d["id"] = json!(format!("{}", 1_300_000_000_000_000_000u64 + n));
    d["channel_id"] = json!(GENERAL);
    d["guild_id"] = json!(GUILD);
    d["content"] = json!(format!("message {n}"));
    d
}

/// The messages delivered on every connection, keyed `session:seq` as the client keys them: a connection
/// after READY belongs to that session, one after RESUMED to the session before it.
fn delivered(proxy: &FaultProxy) -> Vec<String> {
    let mut session = String::new();
    let mut keys = Vec::new();
    for connection in proxy.connections() {
        for payload in onair_tests::gateway_payloads(&connection.frames()) {
            if payload["t"] == "READY" {
                session = payload["d"]["session_id"].as_str().unwrap().to_owned();
            }
            if payload["t"] == "MESSAGE_CREATE" {
                keys.push(format!("{session}:{}", payload["s"]));
            }
        }
    }
    keys
}

/// The open Gateway connections (REST's are not WebSockets and carry no frames).
fn gateways(proxy: &FaultProxy) -> Vec<Connection> {
    proxy
        .open_connections()
        .into_iter()
        .filter(|c| !c.frames().is_empty())
        .collect()
}

/// Waits until `at_least` messages were delivered in all (checked at each frame of the newest connection,
/// which is where they arrive).
async fn delivered_at_least(proxy: &FaultProxy, at_least: usize) {
    let wait = async {
        loop {
            if delivered(proxy).len() >= at_least {
                return;
            }
            let newest = proxy.connection(proxy.connections().len()).await;
            let frames = newest.frames().len();
            let next = newest.wait_frames(|f| f.len() > frames);
            let more = proxy.connection(proxy.connections().len() + 1);
            tokio::select! {
                _ = next => {}
                _ = more => {}
            }
        }
    };
    timeout(Duration::from_secs(8), wait).await.unwrap_or_else(|_| {
        panic!(
            "fewer than {at_least} messages delivered: {}",
            delivered(proxy).len()
        )
    });
}

struct Rig {
    server: Arc<GatewayServer>,
    proxy: FaultProxy,
    policy: BackoffPolicy,
    recorder: Recorder,
    shard: DiscordShard,
    states: States,
    sending: Arc<AtomicBool>,
    dispatcher: tokio::task::JoinHandle<Vec<u64>>,
}

/// The fake Discord behind the proxy, the shard connected (through it; REST too when `rest_through_proxy`),
/// and a message dispatched about every 8 ms until `sending` is cleared (the dispatcher returns their
/// sequence numbers).
async fn rig(rest_through_proxy: bool) -> Rig {
    common::logs();
    let server = Arc::new(
        GatewayServer::start(ServerOptions {
            token: TOKEN.to_owned(),
            heartbeat_interval: HEARTBEAT,
            ..ServerOptions::default()
        })
        .await
        .unwrap(),
    );
    server.add_guild(GUILD, "Nova's Den", &[(GENERAL, "general")]);
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    server.announce(proxy.addr());

    let policy = BackoffPolicy {
        max_retries: 8,
        ..quick_backoff()
    };
    let config = DiscordConfig {
        api_url: if rest_through_proxy {
            format!("http://{}/api/v10", proxy.addr())
        } else {
            server.api_url()
        },
        connect_timeout: Duration::from_secs(1),
        ready_timeout: Duration::from_secs(2),
        backoff: policy.clone(),
        ..DiscordConfig::default()
    };
    let platform = DiscordPlatform::new(config, SecretString::from(TOKEN)).unwrap();
    let mut watched = Watched::default();
    watched.add(ChannelRef::new(GUILD, "Nova's Den"), [GENERAL.to_owned()]);
    let plan = platform.plan(&watched).await.unwrap();
    let (recorder, sink) = Recorder::open().await;
    let mut shard = plan.shards[0].start(sink);
    let states = States::follow(shard.state_changes());
    shard
        .state()
        .wait_for(|s| matches!(s, ConnectionState::Connected { .. }))
        .await
        .unwrap();
    let sending = Arc::new(AtomicBool::new(true));
    let dispatcher = {
        let (server, sending) = (Arc::clone(&server), Arc::clone(&sending));
        tokio::spawn(async move {
            let mut seqs = Vec::new();
            while sending.load(Ordering::SeqCst) {
                let n = seqs.len() as u64 + 1;
                seqs.push(server.dispatch(GUILD, "MESSAGE_CREATE", message(n)).await);
                tokio::time::sleep(Duration::from_millis(8)).await;
            }
            seqs
        })
    };
    Rig {
        server,
        proxy,
        policy,
        recorder,
        shard,
        states,
        sending,
        dispatcher,
    }
}

impl Rig {
    /// Stops the messages, dispatches the last one and waits until it is stored; returns the session the
    /// shard ended on and the sequence numbers of every message dispatched.
    async fn finish(&mut self) -> (String, Vec<u64>) {
        self.sending.store(false, Ordering::SeqCst);
        let mut seqs = (&mut self.dispatcher).await.unwrap();
        let seq = self.server.dispatch(GUILD, "MESSAGE_CREATE", message(0)).await;
        let ConnectionState::Connected {
            session: Some(session),
        } = self.shard.state().borrow().clone()
        else {
            panic!("not connected at the end");
        };
        timeout(
            Duration::from_secs(10),
            self.recorder.wait_stored(&format!("{session}:{seq}")),
        )
        .await
        .expect("the last message was not stored");
        seqs.push(seq);
        (session, seqs)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_messages_delivered_through_network_faults_are_stored_once() {
    let mut rig = rig(true).await;
    let started = Instant::now();
    delivered_at_least(&rig.proxy, 30).await;

    // Latency with jitter, and the server's bytes in pieces of 1 to 7.
    rig.proxy.set(
        Conditions::clean()
            .with_latency(Duration::from_millis(10), Duration::from_millis(10))
            .with_split(1, 7),
    );
    delivered_at_least(&rig.proxy, delivered(&rig.proxy).len() + 30).await;

    // Half-open both ways, then only the way to the server: no heartbeat ACK comes back, so the client
    // must call the connection a zombie within two heartbeats and resume elsewhere.
    for stall in [Stall::Both, Stall::Upstream] {
        let [gateway] = gateways(&rig.proxy).try_into().unwrap();
        let stalled_at = Instant::now();
        gateway.set(rig.proxy.conditions().with_stall(stall));
        let noticed = rig
            .states
            .wait(stalled_at, Duration::from_secs(3), |s| {
                matches!(s, ConnectionState::Reconnecting { .. })
            })
            .await;
        let detection = noticed - stalled_at;
        assert!(
            detection <= HEARTBEAT * 2 + Duration::from_millis(300),
            "{stall:?}: the zombie was noticed after {detection:?}"
        );
        rig.states.connected_after(noticed, Duration::from_secs(3)).await;
        gateway.reset().await;
        delivered_at_least(&rig.proxy, delivered(&rig.proxy).len() + 20).await;
    }

    // A TCP reset inside a frame.
    let [gateway] = gateways(&rig.proxy).try_into().unwrap();
    let cut_at = Instant::now();
    assert_eq!(gateway.cut().await, End::Cut { mid_frame: true });
    rig.states.connected_after(cut_at, Duration::from_secs(3)).await;
    delivered_at_least(&rig.proxy, delivered(&rig.proxy).len() + 20).await;

    // Cut, and refused while the client retries (both the resume and the main address).
    rig.proxy.refuse(true).await;
    let refused_at = Instant::now();
    rig.proxy.cut_all().await;
    let is_retry = |s: &ConnectionState| matches!(s, ConnectionState::Reconnecting { .. });
    let first_retry = rig
        .states
        .wait(refused_at, Duration::from_secs(3), is_retry)
        .await;
    rig.states
        .wait(
            first_retry + Duration::from_millis(1),
            Duration::from_secs(3),
            is_retry,
        )
        .await;
    rig.proxy.refuse(false).await;
    rig.states
        .connected_after(refused_at, Duration::from_secs(5))
        .await;
    delivered_at_least(&rig.proxy, delivered(&rig.proxy).len() + 20).await;

    // Chaos.
    rig.proxy.set(Conditions::clean());
    let chaos = Chaos {
        duration: Duration::from_secs(6),
        gap: Duration::from_millis(500)..Duration::from_millis(1200),
        length: Duration::from_millis(200)..Duration::from_millis(1200),
        ..Chaos::default()
    };
    let schedule = Schedule::random(5, &chaos);
    let steps = schedule.steps().len();
    let played = rig.proxy.play(schedule).finish().await;
    assert!(played.len() >= steps, "{played:?}");
    let calm = Instant::now();
    rig.proxy.cut_all().await;
    rig.states.connected_after(calm, Duration::from_secs(8)).await;
    delivered_at_least(&rig.proxy, delivered(&rig.proxy).len() + 10).await;

    // Stop; the last message marks the end.
    rig.finish().await;
    let delivered: BTreeSet<String> = delivered(&rig.proxy).into_iter().collect();
    assert!(delivered.len() > 300, "only {} delivered", delivered.len());
    assert_stored_once(&rig.recorder.stored().await, &delivered);
    assert_backoff(&rig.policy, &rig.states.all(), Duration::from_secs(2));
    eprintln!(
        "discord: {} messages over {} connections in {:?}",
        delivered.len(),
        rig.proxy.connections().len(),
        started.elapsed()
    );
    timeout(Duration::from_secs(5), Box::new(rig.shard).shutdown())
        .await
        .expect("the connection did not shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blip_that_resets_the_resume_attempt_does_not_cost_the_session() {
    let mut rig = rig(false).await;
    delivered_at_least(&rig.proxy, 20).await;
    // The network goes half-open: the connection, and the resume attempt after the zombie is found, hang.
    let before = rig.proxy.connections().len();
    let stalled_at = Instant::now();
    rig.proxy.set(Conditions::clean().with_stall(Stall::Both));
    rig.states
        .wait(stalled_at, Duration::from_secs(3), |s| {
            matches!(s, ConnectionState::Reconnecting { .. })
        })
        .await;
    rig.proxy.connection(before + 1).await;
    // It ends with both reset (a Wi-Fi handover, say), and the network works again at once.
    let blip_over = Instant::now();
    rig.proxy.set(Conditions::clean());
    for connection in rig.proxy.open_connections() {
        connection.reset().await;
    }
    // (A new session would wait for its turn at the Identify gate, 5 s after the first.)
    rig.states
        .connected_after(blip_over, Duration::from_secs(8))
        .await;
    let (session, seqs) = rig.finish().await;
    // The session was resumed, not replaced: everything dispatched meanwhile was replayed and stored.
    assert_eq!(session, "session-1", "a new session lost what the old one held");
    let all: BTreeSet<String> = seqs.iter().map(|seq| format!("session-1:{seq}")).collect();
    assert_stored_once(&rig.recorder.stored().await, &all);
    assert_backoff(&rig.policy, &rig.states.all(), Duration::from_secs(2));
    timeout(Duration::from_secs(5), Box::new(rig.shard).shutdown())
        .await
        .expect("the connection did not shut down");
}
