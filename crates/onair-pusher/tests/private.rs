//! Private channels through the authorizer seam: the auth reaches the subscribe frame, is asked again for
//! every new socket, refusals surface per channel, and the secret never reaches a log line.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use onair_core::ConnectionState;
use onair_pusher::server::ScriptedServer;
use onair_pusher::{
    AuthError, ChannelAuth, ChannelAuthorizer, Data, Endpoint, Inbound, PusherClient, PusherConfig,
};

const SECRET: &str = "app-key:5ecre75ecre75ecre7";

/// Signs `private-ok`, refuses everything else, and remembers whom it was asked for.
#[derive(Default)]
struct Signer {
    asked: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl ChannelAuthorizer for Signer {
    async fn authorize(&self, socket_id: &str, channel: &str) -> Result<ChannelAuth, AuthError> {
        self.asked
            .lock()
            .unwrap()
            .push((socket_id.to_owned(), channel.to_owned()));
        if channel == "private-ok" {
            Ok(ChannelAuth {
                auth: SECRET.into(),
                channel_data: None,
            })
        } else {
            Err(AuthError("kick.com said 403: log in again".into()))
        }
    }
}

/// Everything logged, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once, for the whole test binary: a thread-scoped subscriber misses callsites other threads
/// registered first) a subscriber that keeps every line, `log` records included, as an app would.
fn capture_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        // Every level of everything, except what the crate says binaries must cap: the WebSocket library
        // prints whole frames at trace level.
        use tracing_subscriber::Layer as _;
        use tracing_subscriber::filter::{FilterExt, filter_fn};
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let filter = tracing_subscriber::EnvFilter::new("trace").and(filter_fn(|meta| {
            onair_pusher::log_line_allowed(meta.target(), meta.level())
        }));
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone())
                    .with_filter(filter),
            )
            .init();
        logs
    })
    .clone()
}

#[tokio::test(start_paused = true)]
async fn private_channels_are_authorised_per_socket_and_the_auth_is_never_logged() {
    let logs = capture_logs();

    let mut server = ScriptedServer::bind().await.unwrap();
    let signer = Arc::new(Signer::default());
    let mut config = PusherConfig::new(Endpoint::Url(server.url("app-key")));
    config.backoff.jitter = false;
    let (client, mut inbox) = PusherClient::start_with_authorizer(config, signer.clone());
    client.subscribe("private-ok").await.unwrap();
    client.subscribe("private-refused").await.unwrap();

    for socket in ["1.1", "2.2"] {
        let mut conn = server.accept().await.unwrap();
        conn.establish(socket, 120).await.unwrap();
        let frame = conn.recv().await.unwrap();
        assert_eq!(frame.event, "pusher:subscribe");
        let data: serde_json::Value = frame.data.decode().unwrap();
        assert_eq!(data["channel"], "private-ok");
        assert_eq!(data["auth"], SECRET);
        let mut messages = vec![inbox.recv().await.unwrap()];
        conn.send_text(
            r#"{"event":"pusher_internal:subscription_succeeded","channel":"private-ok","data":"{}"}"#,
        )
        .await
        .unwrap();
        messages.push(inbox.recv().await.unwrap());
        assert!(messages.contains(&Inbound::Subscribed {
            channel: "private-ok".into(),
            data: Data::String("{}".into()),
        }));
        assert!(messages.contains(&Inbound::SubscriptionFailed {
            channel: "private-refused".into(),
            reason: "Could not authorise the channel: kick.com said 403: log in again".into()
        }));
        // Force a new socket: the auth is asked again for its id.
        drop(conn);
    }
    let mut asked = signer.asked.lock().unwrap().clone();
    asked.sort();
    assert_eq!(
        asked,
        [
            ("1.1".to_owned(), "private-ok".to_owned()),
            ("1.1".to_owned(), "private-refused".to_owned()),
            ("2.2".to_owned(), "private-ok".to_owned()),
            ("2.2".to_owned(), "private-refused".to_owned()),
        ]
    );
    let mut states = client.state();
    let _ = states
        .wait_for(|s| matches!(s, ConnectionState::Reconnecting { .. }))
        .await;
    client.shutdown().await;

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("channel not authorised"),
        "the capture saw nothing:\n{logs}"
    );
    assert!(!logs.contains("5ecre7"), "the auth leaked into the logs:\n{logs}");
    assert!(
        !format!(
            "{:?}",
            ChannelAuth {
                auth: SECRET.into(),
                channel_data: None
            }
        )
        .contains("5ecre7")
    );
}

#[tokio::test(start_paused = true)]
async fn a_private_channel_without_an_authorizer_is_refused_in_plain_words() {
    let logs = capture_logs();
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, mut inbox) = PusherClient::start(PusherConfig::new(Endpoint::Url(server.url("app-key"))));
    client.subscribe("private-room").await.unwrap();
    let mut conn = server.accept().await.unwrap();
    conn.establish("1.1", 120).await.unwrap();
    assert_eq!(
        inbox.recv().await.unwrap(),
        Inbound::SubscriptionFailed {
            channel: "private-room".into(),
            reason: "Could not authorise the channel: it is private and no authorizer is configured".into()
        }
    );
    client.shutdown().await;
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.contains("5ecre7"), "the auth leaked into the logs:\n{logs}");
}

/// Answers only when the test releases it, signing with the socket id it was asked about.
struct Gated {
    asked: tokio::sync::mpsc::UnboundedSender<(String, String, tokio::sync::oneshot::Sender<()>)>,
}

#[async_trait]
impl ChannelAuthorizer for Gated {
    async fn authorize(&self, socket_id: &str, channel: &str) -> Result<ChannelAuth, AuthError> {
        let (release, released) = tokio::sync::oneshot::channel();
        self.asked
            .send((socket_id.to_owned(), channel.to_owned(), release))
            .unwrap();
        released.await.unwrap();
        Ok(ChannelAuth {
            auth: format!("sig-{socket_id}").into(),
            channel_data: None,
        })
    }
}

#[tokio::test(start_paused = true)]
async fn late_auth_answers_for_an_old_socket_or_a_replaced_request_are_dropped() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (asked_tx, mut asked) = tokio::sync::mpsc::unbounded_channel();
    let mut config = PusherConfig::new(Endpoint::Url(server.url("app-key")));
    config.backoff.jitter = false;
    let (client, _inbox) = PusherClient::start_with_authorizer(config, Arc::new(Gated { asked: asked_tx }));
    client.subscribe("private-a").await.unwrap();

    // The first socket drops while its auth is still out.
    let mut first = server.accept().await.unwrap();
    first.establish("1.1", 120).await.unwrap();
    let (socket, _, old_socket_gate) = asked.recv().await.unwrap();
    assert_eq!(socket, "1.1");
    drop(first);
    let mut second = server.accept().await.unwrap();
    second.establish("2.2", 120).await.unwrap();
    let (socket, _, current_gate) = asked.recv().await.unwrap();
    assert_eq!(socket, "2.2");
    old_socket_gate.send(()).unwrap();
    current_gate.send(()).unwrap();
    let frame = second.recv().await.unwrap();
    let data: serde_json::Value = frame.data.decode().unwrap();
    assert_eq!(
        (data["channel"].as_str(), data["auth"].as_str()),
        (Some("private-a"), Some("sig-2.2"))
    );

    // Unsubscribed and subscribed again while the first request is out: only the second one counts.
    client.subscribe("private-b").await.unwrap();
    let (_, _, replaced_gate) = asked.recv().await.unwrap();
    client.unsubscribe("private-b").await.unwrap();
    client.subscribe("private-b").await.unwrap();
    let (_, _, replacing_gate) = asked.recv().await.unwrap();
    replaced_gate.send(()).unwrap();
    replacing_gate.send(()).unwrap();
    let mut frames = Vec::new();
    for _ in 0..2 {
        frames.push(second.recv().await.unwrap());
    }
    // Both answers are in by now (in order); a stale subscribe would come before this unsubscribe.
    client.unsubscribe("private-a").await.unwrap();
    frames.push(second.recv().await.unwrap());
    let frames: Vec<(String, String)> = frames
        .iter()
        .map(|frame| {
            let data: serde_json::Value = frame.data.decode().unwrap();
            (frame.event.clone(), data["channel"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        frames,
        [
            ("pusher:unsubscribe".to_owned(), "private-b".to_owned()),
            ("pusher:subscribe".to_owned(), "private-b".to_owned()),
            ("pusher:unsubscribe".to_owned(), "private-a".to_owned()),
        ]
    );
    client.shutdown().await;
}
