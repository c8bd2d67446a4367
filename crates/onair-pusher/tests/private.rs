//! Private channels through the authorizer seam: the auth reaches the subscribe frame, is asked again for
//! every new socket, refusals surface per channel, and the secret never reaches a log line.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use onair_core::ConnectionState;
use onair_pusher::server::ScriptedServer;
use onair_pusher::{
    AuthError, ChannelAuth, ChannelAuthorizer, Endpoint, Inbound, PusherClient, PusherConfig,
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
        let mut filter = tracing_subscriber::EnvFilter::new("trace");
        for directive in onair_pusher::LOG_DIRECTIVES {
            filter = filter.add_directive(directive.parse().unwrap());
        }
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || writer.clone())
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
            channel: "private-ok".into()
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
