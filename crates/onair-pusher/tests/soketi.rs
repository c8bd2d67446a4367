//! The client against a real Pusher server nobody here wrote: soketi 1.6.1 on loopback (installed by
//! `cargo xtask setup`), events triggered through its signed HTTP API. Real time, so every wait has a
//! deadline and every wait is for a signal (a state, a message), except the two windows that check that
//! nothing happens.
#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use onair_core::ConnectionState;
use onair_pusher::{
    AuthError, ChannelAuth, ChannelAuthorizer, Endpoint, Inbound, Inbox, PusherClient, PusherConfig,
    PusherFrame,
};
use support::soketi::Soketi;
use tokio::sync::watch;
use tokio::time::timeout;

const CHAT: &str = "chatrooms.4760932.v2";
const CHANNEL: &str = "channel.4781203";
const CHAT_EVENT: &str = r"App\Events\ChatMessageEvent";

/// Fails the test if `future` takes longer than `secs`.
async fn within<T>(secs: u64, what: &str, future: impl Future<Output = T>) -> T {
    timeout(Duration::from_secs(secs), future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {secs} s"))
}

fn config(url: String) -> PusherConfig {
    let mut config = PusherConfig::new(Endpoint::Url(url));
    // Keep the test short when the server is down: 1 s, 2 s, 4 s...
    config.backoff.jitter = false;
    config
}

async fn state_where(
    states: &mut watch::Receiver<ConnectionState>,
    what: &str,
    matches: impl Fn(&ConnectionState) -> bool,
) -> ConnectionState {
    within(60, what, states.wait_for(|s| matches(s)))
        .await
        .unwrap()
        .clone()
}

/// The next event, skipping subscription confirmations.
async fn next_event(inbox: &mut Inbox) -> PusherFrame {
    loop {
        match within(20, "an event", inbox.recv()).await.unwrap() {
            Inbound::Event(frame) => return frame,
            Inbound::Subscribed { .. } => {}
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

/// Waits until every channel of `channels` is confirmed.
async fn subscribed(inbox: &mut Inbox, channels: &[&str]) {
    let mut waiting: Vec<&str> = channels.to_vec();
    while !waiting.is_empty() {
        match within(20, "subscription confirmations", inbox.recv())
            .await
            .unwrap()
        {
            Inbound::Subscribed { channel, .. } => waiting.retain(|c| *c != channel),
            other => panic!("expected a confirmation, got {other:?}"),
        }
    }
}

fn chat(n: u32) -> String {
    format!(r#"{{"id":"m{n}","chatroom_id":4760932,"content":"message {n} ✨","type":"message"}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_triggered_through_the_http_api_arrive_decoded() {
    let soketi = Soketi::start().await;
    let (client, mut inbox) = PusherClient::start(config(soketi.ws_url()));
    let mut states = client.state();
    client.subscribe(CHAT).await.unwrap();
    client.subscribe(CHANNEL).await.unwrap();
    subscribed(&mut inbox, &[CHAT, CHANNEL]).await;
    let ConnectionState::Connected {
        session: Some(socket_id),
    } = state_where(&mut states, "connected", |s| {
        matches!(s, ConnectionState::Connected { .. })
    })
    .await
    else {
        panic!("no socket id")
    };
    assert!(socket_id.contains('.'), "{socket_id}");

    soketi.trigger(CHAT, CHAT_EVENT, &chat(1)).await;
    soketi
        .trigger(
            CHANNEL,
            r"App\Events\FollowersUpdated",
            r#"{"followersCount":1234,"channel_id":4781203}"#,
        )
        .await;
    let first = next_event(&mut inbox).await;
    assert_eq!(first.event, CHAT_EVENT);
    assert_eq!(first.channel.as_deref(), Some(CHAT));
    let message: serde_json::Value = first.data.decode().unwrap();
    assert_eq!(message["content"], "message 1 ✨");
    let second = next_event(&mut inbox).await;
    assert_eq!(second.channel.as_deref(), Some(CHANNEL));
    assert_eq!(
        second.data.decode::<serde_json::Value>().unwrap()["followersCount"],
        1234
    );

    // Unsubscribed: later events of that channel no longer arrive, the other channel's still do.
    client.unsubscribe(CHANNEL).await.unwrap();
    soketi
        .trigger(CHANNEL, r"App\Events\FollowersUpdated", r#"{"followersCount":1}"#)
        .await;
    soketi.trigger(CHAT, CHAT_EVENT, &chat(2)).await;
    let next = next_event(&mut inbox).await;
    assert_eq!(next.channel.as_deref(), Some(CHAT));
    assert_eq!(next.data.decode::<serde_json::Value>().unwrap()["id"], "m2");

    within(5, "shutdown", client.shutdown()).await;
    assert_eq!(*states.borrow_and_update(), ConnectionState::Disconnected);
}

/// Signs private channels the way an app backend would, with the app secret.
struct Backend {
    key: String,
    secret: String,
}

#[async_trait]
impl ChannelAuthorizer for Backend {
    async fn authorize(&self, socket_id: &str, channel: &str) -> Result<ChannelAuth, AuthError> {
        let soketi = support::soketi::sign(&self.key, &self.secret, socket_id, channel);
        Ok(ChannelAuth {
            auth: soketi.into(),
            channel_data: None,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_channels_are_authorised_and_client_events_reach_the_other_subscriber() {
    let soketi = Soketi::start().await;
    let backend = || {
        Arc::new(Backend {
            key: soketi.key.clone(),
            secret: soketi.secret.clone(),
        })
    };
    let (alice, mut alice_inbox) = PusherClient::start_with_authorizer(config(soketi.ws_url()), backend());
    let (bob, mut bob_inbox) = PusherClient::start_with_authorizer(config(soketi.ws_url()), backend());
    alice.subscribe("private-room.1").await.unwrap();
    bob.subscribe("private-room.1").await.unwrap();
    subscribed(&mut alice_inbox, &["private-room.1"]).await;
    subscribed(&mut bob_inbox, &["private-room.1"]).await;

    alice
        .trigger(
            "private-room.1",
            "client-typing",
            serde_json::json!({"who": "alice"}),
        )
        .await
        .unwrap();
    let typing = next_event(&mut bob_inbox).await;
    assert_eq!(typing.event, "client-typing");
    assert_eq!(
        typing.data.decode::<serde_json::Value>().unwrap(),
        serde_json::json!({"who": "alice"})
    );

    // A bad signature is refused per channel; the connection stays up.
    let (mallory, mut mallory_inbox) = PusherClient::start_with_authorizer(
        config(soketi.ws_url()),
        Arc::new(Backend {
            key: soketi.key.clone(),
            secret: "not-the-secret".into(),
        }),
    );
    mallory.subscribe("private-room.1").await.unwrap();
    let refused = within(20, "a refusal", mallory_inbox.recv()).await.unwrap();
    let Inbound::SubscriptionFailed { channel, reason } = refused else {
        panic!("expected a refusal, got {refused:?}")
    };
    assert_eq!(channel, "private-room.1");
    assert!(reason.contains("401"), "{reason}");
    assert!(matches!(
        *mallory.state().borrow(),
        ConnectionState::Connected { .. }
    ));
    for client in [alice, bob, mallory] {
        within(5, "shutdown", client.shutdown()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_coming_back_is_rejoined_and_resubscribed_without_duplicates() {
    let mut soketi = Soketi::start().await;
    let (client, mut inbox) = PusherClient::start(config(soketi.ws_url()));
    let mut states = client.state();
    client.subscribe(CHAT).await.unwrap();
    subscribed(&mut inbox, &[CHAT]).await;
    for n in 0..3 {
        soketi.trigger(CHAT, CHAT_EVENT, &chat(n)).await;
    }
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            next_event(&mut inbox)
                .await
                .data
                .decode::<serde_json::Value>()
                .unwrap()["id"]
                .clone(),
        );
    }

    soketi.kill().await;
    let lost = state_where(&mut states, "reconnecting", |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    })
    .await;
    assert!(
        matches!(lost, ConnectionState::Reconnecting { attempt: 1, .. }),
        "{lost:?}"
    );
    soketi.restart().await;
    state_where(&mut states, "connected again", |s| {
        matches!(s, ConnectionState::Connected { .. })
    })
    .await;
    subscribed(&mut inbox, &[CHAT]).await;

    for n in 3..6 {
        soketi.trigger(CHAT, CHAT_EVENT, &chat(n)).await;
    }
    for _ in 3..6 {
        ids.push(
            next_event(&mut inbox)
                .await
                .data
                .decode::<serde_json::Value>()
                .unwrap()["id"]
                .clone(),
        );
    }
    assert_eq!(ids, ["m0", "m1", "m2", "m3", "m4", "m5"]);
    within(5, "shutdown", client.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_app_key_fails_with_a_clear_reason_and_no_reconnect_loop() {
    let soketi = Soketi::start().await;
    let (client, _inbox) = PusherClient::start(config(soketi.ws_url_with_key("no-such-key")));
    let mut states = client.state();
    let failed = state_where(&mut states, "failed", |s| {
        matches!(s, ConnectionState::Failed { .. })
    })
    .await;
    let ConnectionState::Failed { reason } = failed else {
        unreachable!()
    };
    assert!(reason.contains("no-such-key"), "{reason}");
    assert!(reason.contains("code 4001"), "{reason}");
    assert!(reason.contains("will not retry on its own"), "{reason}");
    // It stays failed: no retry in the next 3 s (a retry would publish `connecting`).
    assert!(timeout(Duration::from_secs(3), states.changed()).await.is_err());
    within(5, "shutdown", client.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_are_answered_by_the_real_server_so_a_quiet_socket_stays_up() {
    let soketi = Soketi::start().await;
    let mut config = config(soketi.ws_url());
    // Ping after 1 s of silence, call it dead 4 s later (room for a loaded machine): a missing pong would
    // show within 5 s.
    config.activity_timeout = Duration::from_secs(1);
    config.pong_timeout = Duration::from_secs(4);
    let (client, mut inbox) = PusherClient::start(config);
    let mut states = client.state();
    client.subscribe(CHAT).await.unwrap();
    subscribed(&mut inbox, &[CHAT]).await;
    states.mark_unchanged();
    // Eight quiet seconds: several ping/pong rounds, and no state change.
    assert!(timeout(Duration::from_secs(8), states.changed()).await.is_err());
    assert!(matches!(*states.borrow(), ConnectionState::Connected { .. }));
    soketi.trigger(CHAT, CHAT_EVENT, &chat(7)).await;
    assert_eq!(
        next_event(&mut inbox)
            .await
            .data
            .decode::<serde_json::Value>()
            .unwrap()["id"],
        "m7"
    );
    within(5, "shutdown", client.shutdown()).await;
}
