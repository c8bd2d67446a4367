//! The client against the scripted server on loopback, with tokio's paused clock wherever timing matters:
//! the life cycle, liveness, close codes, backoff, pacing, malformed input, shutdown and cluster detection.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use onair_core::ConnectionState;
use onair_pusher::server::{ScriptedServer, ServerConn};
use onair_pusher::{BackoffPolicy, Data, Endpoint, Inbound, Inbox, PusherClient, PusherConfig, PusherError};
use tokio::sync::watch;
use tokio::time::Instant;

const KEY: &str = "app-key";

fn config(url: String) -> PusherConfig {
    let mut config = PusherConfig::new(Endpoint::Url(url));
    config.backoff.jitter = false;
    config
}

/// Waits for the first state (current included) that `matches`.
async fn state_where(
    states: &mut watch::Receiver<ConnectionState>,
    matches: impl Fn(&ConnectionState) -> bool,
) -> ConnectionState {
    states.wait_for(|s| matches(s)).await.unwrap().clone()
}

/// Waits for the next inbound message that is an event, skipping subscription confirmations.
async fn next_event(inbox: &mut Inbox) -> onair_pusher::PusherFrame {
    loop {
        match inbox.recv().await.unwrap() {
            Inbound::Event(frame) => return frame,
            Inbound::Subscribed { .. } => {}
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

fn data_json(frame: &onair_pusher::PusherFrame) -> serde_json::Value {
    frame.data.decode().unwrap()
}

/// A client of `server` (with `config`, or the defaults) subscribed to `channels`, connected and confirmed.
async fn connected(
    server: &mut ScriptedServer,
    config: Option<PusherConfig>,
    channels: &[&str],
) -> (PusherClient, Inbox, ServerConn) {
    let config = config.unwrap_or_else(|| self::config(server.url(KEY)));
    let (client, mut inbox) = PusherClient::start(config);
    for channel in channels {
        client.subscribe(channel).await.unwrap();
    }
    let mut conn = server.accept().await.unwrap();
    conn.establish("1.1", 120).await.unwrap();
    for channel in channels {
        assert_eq!(conn.accept_subscribe().await.as_deref(), Some(*channel));
        assert_eq!(
            inbox.recv().await.unwrap(),
            Inbound::Subscribed {
                channel: channel.to_string(),
                data: Data::String("{}".into()),
            }
        );
    }
    (client, inbox, conn)
}

#[tokio::test(start_paused = true)]
async fn it_connects_subscribes_and_delivers_events_with_data_decoded_once() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, mut inbox) = PusherClient::start(config(server.url(KEY)));
    let mut states = client.state();
    client.subscribe("chatrooms.1.v2").await.unwrap();
    client.subscribe("channel.2").await.unwrap();

    let mut conn = server.accept().await.unwrap();
    assert_eq!(conn.app_key(), Some(KEY));
    assert_eq!(
        conn.path(),
        "/app/app-key?protocol=7&client=js&version=8.4.0&flash=false"
    );
    conn.establish("123.456", 120).await.unwrap();
    let mut subscribed = vec![
        conn.accept_subscribe().await.unwrap(),
        conn.accept_subscribe().await.unwrap(),
    ];
    subscribed.sort();
    assert_eq!(subscribed, ["channel.2", "chatrooms.1.v2"]);
    assert_eq!(
        state_where(&mut states, |s| matches!(s, ConnectionState::Connected { .. })).await,
        ConnectionState::Connected {
            session: Some("123.456".into())
        }
    );

    conn.send_event(
        "chatrooms.1.v2",
        r"App\Events\ChatMessageEvent",
        r#"{"content":"héllo 🔥","id":"a"}"#,
    )
    .await
    .unwrap();
    conn.send_event(
        "channel.2",
        r"App\Events\FollowersUpdated",
        r#"{"followersCount":7}"#,
    )
    .await
    .unwrap();
    let chat = next_event(&mut inbox).await;
    assert_eq!(chat.event, r"App\Events\ChatMessageEvent");
    assert_eq!(chat.channel.as_deref(), Some("chatrooms.1.v2"));
    assert_eq!(data_json(&chat)["content"], "héllo 🔥");
    let follow = next_event(&mut inbox).await;
    assert_eq!(data_json(&follow)["followersCount"], 7);
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn every_fixture_frame_and_malformed_input_is_survived() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/kick");
    let mut frames: Vec<(String, String)> = std::fs::read_dir(fixtures)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.ends_with(".json") && !name.starts_with("rest_") && name != "expected.json"
                // Those two end the connection on purpose; the close-code tests cover them.
                && !name.starts_with("pusher_error_")
        })
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                text.trim().to_owned(),
            )
        })
        .collect();
    frames.sort();
    assert!(frames.len() >= 30, "fixtures not found in {fixtures}");
    let mut channels: Vec<String> = frames
        .iter()
        .filter_map(|(_, text)| {
            serde_json::from_str::<serde_json::Value>(text).unwrap()["channel"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    channels.sort();
    channels.dedup();
    let channel_refs: Vec<&str> = channels.iter().map(String::as_str).collect();

    let mut server = ScriptedServer::bind().await.unwrap();
    let mut config = config(server.url(KEY));
    config.max_frame_bytes = 1 << 20;
    let (client, mut inbox, mut conn) = connected(&mut server, Some(config), &channel_refs).await;
    let mut states = client.state();

    let malformed = [
        "not json".to_owned(),
        "[1,2,3]".to_owned(),
        r#"{"event":5,"data":"{}"}"#.to_owned(),
        r#"{"event":"x","channel":["a"]}"#.to_owned(),
        r#"{"event":"x","data":"{\"a\":"#.to_owned(),
        String::new(),
        format!(
            r#"{{"event":"huge","channel":"{}","data":"{}"}}"#,
            channels[0],
            "x".repeat(1 << 20)
        ),
    ];
    for text in &malformed {
        conn.send_text(text.clone()).await.unwrap();
    }
    for (_, text) in &frames {
        conn.send_text(text.clone()).await.unwrap();
    }
    // Plain text data is kept as text.
    conn.send_text(format!(
        r#"{{"event":"client-note","channel":"{}","data":"plain words"}}"#,
        channels[0]
    ))
    .await
    .unwrap();
    conn.send_event(&channels[0], "sentinel", "{}").await.unwrap();

    let mut delivered = Vec::new();
    loop {
        let frame = next_event(&mut inbox).await;
        if frame.event == "sentinel" {
            break;
        }
        delivered.push(frame);
    }
    // Every channel event of the fixtures arrives, data decoded from its string form; the protocol frames
    // (hello, ping, pong, subscription_succeeded) are handled by the client, not delivered.
    let expected: Vec<&(String, String)> = frames
        .iter()
        .filter(|(name, _)| !name.starts_with("pusher_"))
        .collect();
    assert_eq!(delivered.len(), expected.len() + 1);
    for ((name, text), frame) in expected.iter().zip(&delivered) {
        let wire: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(frame.event, wire["event"].as_str().unwrap(), "{name}");
        assert_eq!(frame.channel.as_deref(), wire["channel"].as_str(), "{name}");
        let inner: serde_json::Value = serde_json::from_str(wire["data"].as_str().unwrap()).unwrap();
        assert_eq!(data_json(frame), inner, "{name}");
    }
    assert_eq!(delivered.last().unwrap().data, Data::String("plain words".into()));
    // The fixture's server ping was answered.
    let pong = loop {
        let frame = conn.recv().await.unwrap();
        if frame.event == "pusher:pong" {
            break frame;
        }
    };
    assert_eq!(pong.event, "pusher:pong");
    assert!(matches!(
        *states.borrow_and_update(),
        ConnectionState::Connected { .. }
    ));
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn codes_4000_to_4099_fail_without_a_reconnect_loop() {
    for (how, code) in [("close", 4001_u16), ("pusher:error", 4001), ("close", 4099)] {
        let mut server = ScriptedServer::bind().await.unwrap();
        let (client, _inbox) = PusherClient::start(config(server.url("wrong-key")));
        let mut states = client.state();
        let mut conn = server.accept().await.unwrap();
        match how {
            "close" => conn
                .close(code, "App key wrong-key does not exist.")
                .await
                .unwrap(),
            _ => conn
                .send_error(code, "App key wrong-key does not exist.")
                .await
                .unwrap(),
        }
        let ConnectionState::Failed { reason } =
            state_where(&mut states, |s| matches!(s, ConnectionState::Failed { .. })).await
        else {
            unreachable!()
        };
        assert!(reason.contains("App key wrong-key does not exist."), "{reason}");
        assert!(reason.contains(&format!("code {code}")), "{reason}");
        assert!(reason.contains("Check the app key"), "{reason}");
        // An hour later nobody has come back.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(
            server.try_accept().is_none(),
            "{how} {code}: reconnected after a fatal code"
        );
        assert!(matches!(*states.borrow(), ConnectionState::Failed { .. }));
        // The user can still ask.
        client.reconnect_now();
        let mut again = server.accept().await.unwrap();
        again.establish("2.2", 120).await.unwrap();
        state_where(&mut states, |s| matches!(s, ConnectionState::Connected { .. })).await;
        client.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn codes_4100_back_off_and_4200_reconnect_at_once_then_resubscribe() {
    for (how, code, immediate) in [
        ("close", 4100_u16, false),
        ("pusher:error", 4100, false),
        ("close", 4200, true),
        ("close", 4201, true),
        ("pusher:error", 4200, true),
        ("close", 1006, false),
    ] {
        let mut server = ScriptedServer::bind().await.unwrap();
        let (client, mut inbox, mut conn) = connected(&mut server, None, &["chatrooms.1.v2"]).await;
        let mut states = client.state();
        let closed_at = Instant::now();
        match (how, code) {
            // 1006 cannot be sent; an abrupt drop is what produces it.
            (_, 1006) => drop(conn),
            ("close", _) => conn.close(code, "bye").await.unwrap(),
            _ => conn.send_error(code, "bye").await.unwrap(),
        }
        let expected_delay = if immediate {
            Duration::ZERO
        } else {
            Duration::from_secs(1)
        };
        if !immediate {
            // (An immediate retry's state is replaced before anyone can look: the watch keeps the latest.)
            let state = state_where(&mut states, |s| matches!(s, ConnectionState::Reconnecting { .. })).await;
            assert_eq!(
                state,
                ConnectionState::Reconnecting {
                    attempt: 1,
                    next_in: expected_delay
                },
                "{how} {code}"
            );
        }
        let mut conn = server.accept().await.unwrap();
        assert_eq!(closed_at.elapsed(), expected_delay, "{how} {code}");
        conn.establish("3.3", 120).await.unwrap();
        assert_eq!(conn.accept_subscribe().await.as_deref(), Some("chatrooms.1.v2"));
        assert_eq!(
            inbox.recv().await.unwrap(),
            Inbound::Subscribed {
                channel: "chatrooms.1.v2".into(),
                data: Data::String("{}".into()),
            }
        );
        client.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn backoff_doubles_with_jitter_retries_five_times_then_fails_and_reconnect_now_starts_over() {
    // A port nobody listens on: every attempt is refused at once.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = config(format!("ws://127.0.0.1:{port}/app/{KEY}?protocol=7"));
    config.backoff.jitter = true;
    let (client, _inbox) = PusherClient::start(config);
    let mut states = client.state();
    let mut retries = Vec::new();
    let reason = loop {
        states.changed().await.unwrap();
        let state = states.borrow_and_update().clone();
        match state {
            ConnectionState::Reconnecting { attempt, next_in } => {
                retries.push((attempt, next_in, Instant::now()))
            }
            ConnectionState::Failed { reason } => break reason,
            _ => {}
        }
    };
    assert_eq!(retries.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    for ((_, delay, _), base) in retries.iter().zip([1, 2, 4, 8, 16]) {
        let base = Duration::from_secs(base);
        assert!(
            *delay >= base && *delay <= base * 2,
            "{delay:?} is not {base:?} plus jitter"
        );
    }
    // Each retry starts when its delay says.
    for pair in retries.windows(2) {
        assert_eq!(pair[1].2 - pair[0].2, pair[0].1);
    }
    assert!(
        reason.starts_with("Could not reconnect after 5 tries."),
        "{reason}"
    );
    assert!(reason.contains(&format!("127.0.0.1:{port}")), "{reason}");

    // Failed stays failed...
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(!states.has_changed().unwrap());
    // ...until asked: a fresh outage, counted from 1 again.
    client.reconnect_now();
    let state = state_where(&mut states, |s| matches!(s, ConnectionState::Reconnecting { .. })).await;
    assert!(
        matches!(state, ConnectionState::Reconnecting { attempt: 1, .. }),
        "{state:?}"
    );
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_delay_is_capped_at_30_s_and_a_connection_resets_the_count() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let mut config = config(server.url(KEY));
    config.backoff = BackoffPolicy {
        max_retries: 8,
        jitter: false,
        ..BackoffPolicy::default()
    };
    let (client, _inbox) = PusherClient::start(config);
    let mut states = client.state();
    let mut delays = Vec::new();
    for _ in 0..8 {
        // The server is over capacity: every attempt is turned away.
        let mut conn = server.accept().await.unwrap();
        conn.close(4100, "Over capacity").await.unwrap();
        let ConnectionState::Reconnecting { next_in, .. } =
            state_where(&mut states, |s| matches!(s, ConnectionState::Reconnecting { .. })).await
        else {
            unreachable!()
        };
        delays.push(next_in.as_secs());
        states.mark_unchanged();
        let _ = states.changed().await;
    }
    assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    // The ninth attempt connects and stays up a while; the next outage counts from 1.
    let mut conn = server.accept().await.unwrap();
    conn.establish("4.4", 120).await.unwrap();
    state_where(&mut states, |s| matches!(s, ConnectionState::Connected { .. })).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    conn.close(4100, "Over capacity").await.unwrap();
    let state = state_where(&mut states, |s| matches!(s, ConnectionState::Reconnecting { .. })).await;
    assert_eq!(
        state,
        ConnectionState::Reconnecting {
            attempt: 1,
            next_in: Duration::from_secs(1)
        }
    );
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_half_open_socket_is_found_by_ping_and_pong_timeout() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, _inbox, mut conn) = connected(&mut server, None, &["chatrooms.1.v2"]).await;
    let quiet_since = Instant::now();
    // The server goes silent: no answer to anything.
    let next = server.accept().await.unwrap();
    assert_eq!(quiet_since.elapsed(), Duration::from_secs(120 + 30));
    let ping = conn.recv().await.unwrap();
    assert_eq!(ping.event, "pusher:ping");
    drop(next);
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_servers_shorter_activity_timeout_wins_and_any_frame_keeps_the_socket_alive() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, _inbox) = PusherClient::start(config(server.url(KEY)));
    let mut conn = server.accept().await.unwrap();
    let start = Instant::now();
    conn.establish("5.5", 30).await.unwrap();
    // The client pings after 30 s of silence (the server's value, below the configured 120 s).
    let ping = conn.recv().await.unwrap();
    assert_eq!(ping.event, "pusher:ping");
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    // A pong keeps it alive; so does any other frame: the next ping comes 30 s after the last frame.
    conn.send_text(r#"{"event":"pusher:pong"}"#).await.unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    conn.send_event("c", "anything", "{}").await.unwrap();
    let frame_at = Instant::now();
    let ping = conn.recv().await.unwrap();
    assert_eq!(ping.event, "pusher:ping");
    assert_eq!(frame_at.elapsed(), Duration::from_secs(30));
    // The server's own ping is answered with a pong.
    conn.send_text(r#"{"event":"pusher:ping","data":"{}"}"#)
        .await
        .unwrap();
    assert_eq!(conn.recv().await.unwrap().event, "pusher:pong");
    assert!(server.try_accept().is_none());
    assert!(matches!(
        *client.state().borrow(),
        ConnectionState::Connected { .. }
    ));
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_server_dropping_mid_stream_loses_and_duplicates_nothing() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, mut inbox, mut conn) = connected(&mut server, None, &["chatrooms.1.v2"]).await;
    for n in 0..5 {
        conn.send_event("chatrooms.1.v2", "e", &format!(r#"{{"n":{n}}}"#))
            .await
            .unwrap();
    }
    drop(conn);
    let mut conn = server.accept().await.unwrap();
    conn.establish("6.6", 120).await.unwrap();
    assert_eq!(conn.accept_subscribe().await.as_deref(), Some("chatrooms.1.v2"));
    for n in 5..10 {
        conn.send_event("chatrooms.1.v2", "e", &format!(r#"{{"n":{n}}}"#))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 10 {
        seen.push(data_json(&next_event(&mut inbox).await)["n"].as_u64().unwrap());
    }
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    conn.send_event("chatrooms.1.v2", "end", "{}").await.unwrap();
    assert_eq!(next_event(&mut inbox).await.event, "end");
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn outgoing_frames_are_paced_at_5_per_second_and_200_resubscribes_all_arrive() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, _inbox) = PusherClient::start(config(server.url(KEY)));
    let channels: Vec<String> = (0..200).map(|n| format!("channel.{n}")).collect();
    for channel in &channels {
        client.subscribe(channel).await.unwrap();
    }
    for round in 0..2 {
        let mut conn = server.accept().await.unwrap();
        conn.establish("7.7", 120).await.unwrap();
        let mut times = Vec::new();
        let mut got = Vec::new();
        while got.len() < channels.len() {
            got.push(conn.accept_subscribe().await.unwrap());
            times.push(Instant::now());
        }
        got.sort_by_key(|c| c.trim_start_matches("channel.").parse::<u32>().unwrap());
        assert_eq!(got, channels, "round {round}");
        // No more than 5 frames in any one-second window.
        for (i, at) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|t| **t - *at < Duration::from_secs(1))
                .count();
            assert!(in_window <= 5, "round {round}: {in_window} frames within 1 s");
        }
        let span = *times.last().unwrap() - times[0];
        assert_eq!(span, Duration::from_millis(199 * 200), "round {round}");
        // Drop the socket: every channel is subscribed again on the next one.
        drop(conn);
    }
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_full_send_queue_is_an_error_and_nothing_accepted_is_dropped() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let mut config = config(server.url(KEY));
    config.send_queue = 3;
    let (client, _inbox, mut conn) = connected(&mut server, Some(config), &[]).await;
    let mut accepted = Vec::new();
    let mut refused = 0;
    for n in 0..10 {
        let channel = format!("channel.{n}");
        match client.subscribe(&channel).await {
            Ok(()) => accepted.push(channel),
            Err(PusherError::QueueFull { capacity: 3 }) => refused += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert!(refused >= 6, "only {refused} refused");
    assert_eq!(accepted.len() + refused, 10);
    let mut got = Vec::new();
    while got.len() < accepted.len() {
        got.push(conn.accept_subscribe().await.unwrap());
    }
    assert_eq!(got, accepted);
    assert_eq!(
        PusherError::QueueFull { capacity: 3 }.to_string(),
        "3 frames are already waiting to be sent to the Pusher server; try again in a moment"
    );
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn unsubscribed_channels_are_left_and_their_late_events_dropped() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, mut inbox, mut conn) = connected(&mut server, None, &["channel.1", "channel.2"]).await;
    client.unsubscribe("channel.1").await.unwrap();
    let frame = conn.recv().await.unwrap();
    assert_eq!(frame.event, "pusher:unsubscribe");
    assert_eq!(data_json(&frame)["channel"], "channel.1");
    conn.send_event("channel.1", "late", "{}").await.unwrap();
    conn.send_event("channel.2", "kept", "{}").await.unwrap();
    assert_eq!(next_event(&mut inbox).await.event, "kept");
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn subscription_errors_and_non_fatal_server_errors_surface() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, mut inbox) = PusherClient::start(config(server.url(KEY)));
    client.subscribe("channel.9").await.unwrap();
    let mut conn = server.accept().await.unwrap();
    conn.establish("8.8", 120).await.unwrap();
    assert_eq!(conn.next_subscribe().await.as_deref(), Some("channel.9"));
    conn.send_text(
        r#"{"event":"pusher:subscription_error","channel":"channel.9","data":{"type":"AuthError","error":"The connection is unauthorized.","status":401}}"#,
    )
    .await
    .unwrap();
    conn.send_error(4301, "Client event rejected").await.unwrap();
    assert_eq!(
        inbox.recv().await.unwrap(),
        Inbound::SubscriptionFailed {
            channel: "channel.9".into(),
            reason: "The connection is unauthorized. (AuthError, status 401)".into()
        }
    );
    assert_eq!(
        inbox.recv().await.unwrap(),
        Inbound::ServerError {
            code: Some(4301),
            message: "Client event rejected".into()
        }
    );
    assert!(matches!(
        *client.state().borrow(),
        ConnectionState::Connected { .. }
    ));
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_unsubscribes_closes_with_1000_and_is_bounded() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, _inbox, mut conn) = connected(&mut server, None, &["channel.1", "channel.2"]).await;
    let mut states = client.state();
    let started = Instant::now();
    let stopping = tokio::spawn(client.shutdown());
    let mut unsubscribed = Vec::new();
    while unsubscribed.len() < 2 {
        let frame = conn.recv().await.unwrap();
        assert_eq!(frame.event, "pusher:unsubscribe");
        unsubscribed.push(data_json(&frame)["channel"].as_str().unwrap().to_owned());
    }
    assert_eq!(unsubscribed, ["channel.1", "channel.2"]);
    assert_eq!(conn.recv_close().await, Some(1000));
    stopping.await.unwrap();
    assert!(started.elapsed() <= Duration::from_secs(3));
    assert_eq!(*states.borrow_and_update(), ConnectionState::Disconnected);

    // A server that never answers the close: shutdown still returns within its bound, gracefully (the
    // close frame is sent, the state is `disconnected`), not by abort.
    let (client, _inbox, mut silent) = connected(&mut server, None, &["channel.1"]).await;
    let mut states = client.state();
    let started = Instant::now();
    client.shutdown().await;
    assert!(
        started.elapsed() <= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(*states.borrow_and_update(), ConnectionState::Disconnected);
    assert_eq!(silent.recv_close().await, Some(1000));
}

#[tokio::test(start_paused = true)]
async fn reconnect_now_replaces_a_live_socket_at_once() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, mut inbox, mut conn) = connected(&mut server, None, &["channel.1"]).await;
    let asked = Instant::now();
    client.reconnect_now();
    assert_eq!(conn.recv_close().await, Some(1000));
    let mut next = server.accept().await.unwrap();
    assert_eq!(asked.elapsed(), Duration::ZERO);
    next.establish("9.9", 120).await.unwrap();
    assert_eq!(next.accept_subscribe().await.as_deref(), Some("channel.1"));
    assert_eq!(
        inbox.recv().await.unwrap(),
        Inbound::Subscribed {
            channel: "channel.1".into(),
            data: Data::String("{}".into()),
        }
    );
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn client_events_are_checked_and_sent() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, _inbox) = PusherClient::start(config(server.url(KEY)));
    // Not connected yet.
    let early = client
        .trigger("private-room", "client-typing", serde_json::json!({}))
        .await;
    assert_eq!(early, Err(PusherError::NotConnected));
    assert!(matches!(
        client
            .trigger("public-room", "client-x", serde_json::json!({}))
            .await,
        Err(PusherError::Invalid(_))
    ));
    assert!(matches!(
        client
            .trigger("private-room", "typing", serde_json::json!({}))
            .await,
        Err(PusherError::Invalid(_))
    ));
    assert!(matches!(
        client.subscribe("bad name!").await,
        Err(PusherError::Invalid(_))
    ));
    let mut conn = server.accept().await.unwrap();
    conn.establish("10.10", 120).await.unwrap();
    let mut states = client.state();
    state_where(&mut states, |s| matches!(s, ConnectionState::Connected { .. })).await;
    client
        .trigger("private-room", "client-typing", serde_json::json!({"who": "me"}))
        .await
        .unwrap();
    let frame = conn.recv().await.unwrap();
    assert_eq!(frame.event, "client-typing");
    assert_eq!(frame.channel.as_deref(), Some("private-room"));
    assert_eq!(data_json(&frame), serde_json::json!({"who": "me"}));
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn detection_picks_the_fastest_cluster_that_accepts_the_key_and_caches_it() {
    let mut refusing = ScriptedServer::bind().await.unwrap();
    let mut slow = ScriptedServer::bind().await.unwrap();
    let mut fast = ScriptedServer::bind().await.unwrap();
    let cluster = |name: &str, server: &ScriptedServer| onair_pusher::Cluster {
        name: name.to_owned(),
        url: server.url(KEY),
    };
    let endpoint = Endpoint::Detect {
        candidates: vec![
            cluster("eu", &refusing),
            cluster("us2", &slow),
            cluster("ap1", &fast),
        ],
        fallback: cluster("us2", &slow),
    };
    let (client, _inbox) = PusherClient::start(config_for(endpoint));
    let mut states = client.state();
    // Every candidate is probed at once.
    let mut refused = refusing.accept().await.unwrap();
    let mut slow_conn = slow.accept().await.unwrap();
    let mut fast_conn = fast.accept().await.unwrap();
    refused
        .send_error(4001, "App key app-key not in this cluster.")
        .await
        .unwrap();
    let slow_hello = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = slow_conn.establish("slow", 120).await;
        slow_conn
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    fast_conn.establish("fast", 120).await.unwrap();
    assert_eq!(
        state_where(&mut states, |s| matches!(s, ConnectionState::Connected { .. })).await,
        ConnectionState::Connected {
            session: Some("fast".into())
        }
    );
    assert_eq!(client.cluster().map(|c| c.name), Some("ap1".to_owned()));
    drop(slow_hello.await.unwrap());

    // The choice is kept: a reconnect goes straight to it.
    fast_conn.close(4200, "Please reconnect").await.unwrap();
    let mut again = fast.accept().await.unwrap();
    again.establish("fast-2", 120).await.unwrap();
    state_where(
        &mut states,
        |s| matches!(s, ConnectionState::Connected { session } if session.as_deref() == Some("fast-2")),
    )
    .await;
    assert!(refusing.try_accept().is_none() && slow.try_accept().is_none());
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn detection_falls_back_when_no_cluster_accepts() {
    let mut refusing = ScriptedServer::bind().await.unwrap();
    let mut fallback = ScriptedServer::bind().await.unwrap();
    let endpoint = Endpoint::Detect {
        candidates: vec![onair_pusher::Cluster {
            name: "eu".into(),
            url: refusing.url(KEY),
        }],
        fallback: onair_pusher::Cluster {
            name: "us2".into(),
            url: fallback.url(KEY),
        },
    };
    let (client, _inbox) = PusherClient::start(config_for(endpoint));
    let mut conn = refusing.accept().await.unwrap();
    conn.close(4001, "App key app-key does not exist.").await.unwrap();
    let mut conn = fallback.accept().await.unwrap();
    conn.establish("fallback", 120).await.unwrap();
    let mut states = client.state();
    state_where(&mut states, |s| matches!(s, ConnectionState::Connected { .. })).await;
    assert_eq!(
        client.cluster().map(|c| c.name),
        None,
        "a fallback is not a detected choice"
    );
    client.shutdown().await;
}

fn config_for(endpoint: Endpoint) -> PusherConfig {
    let mut config = PusherConfig::new(endpoint);
    config.backoff.jitter = false;
    config
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_slows_the_socket_down_and_loses_nothing() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let mut config = config(server.url(KEY));
    config.inbound_buffer = 16;
    let (client, mut inbox, mut conn) = connected(&mut server, Some(config), &["chatrooms.1.v2"]).await;
    // The server pushes far more than the inbox and the socket buffers hold (5000 frames of 16 KiB) while
    // nobody reads.
    let padding = "x".repeat(16 << 10);
    let sender = tokio::spawn(async move {
        for n in 0..5000 {
            conn.send_event(
                "chatrooms.1.v2",
                "e",
                &format!(r#"{{"n":{n},"pad":"{padding}"}}"#),
            )
            .await
            .unwrap();
        }
        conn
    });
    tokio::time::sleep(Duration::from_secs(60)).await;
    // The client stopped reading: the server is still blocked a minute later, nothing piled up in memory.
    assert!(!sender.is_finished());
    // It still answers its handle meanwhile.
    client.subscribe("channel.2").await.unwrap();
    assert!(matches!(
        *client.state().borrow(),
        ConnectionState::Connected { .. }
    ));
    let mut seen = Vec::new();
    let mut batch = Vec::new();
    while seen.len() < 5000 {
        batch.clear();
        assert!(inbox.recv_many(&mut batch, 100).await > 0);
        for item in &batch {
            match item {
                Inbound::Event(frame) => seen.push(data_json(frame)["n"].as_u64().unwrap()),
                Inbound::Subscribed { channel, .. } => assert_eq!(channel, "channel.2"),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(seen, (0..5000).collect::<Vec<_>>());
    let _conn = sender.await.unwrap();
    assert!(matches!(
        *client.state().borrow(),
        ConnectionState::Connected { .. }
    ));
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn reconnect_now_during_an_outage_starts_a_fresh_count() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (client, _inbox) = PusherClient::start(config(format!("ws://127.0.0.1:{port}/app/{KEY}")));
    let mut states = client.state();
    state_where(&mut states, |s| {
        matches!(s, ConnectionState::Reconnecting { attempt: 3, .. })
    })
    .await;
    client.reconnect_now();
    let state = state_where(&mut states, |s| {
        !matches!(s, ConnectionState::Reconnecting { attempt: 3, .. })
            && matches!(s, ConnectionState::Reconnecting { .. })
    })
    .await;
    assert_eq!(
        state,
        ConnectionState::Reconnecting {
            attempt: 1,
            next_in: Duration::from_secs(1)
        }
    );
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_server_that_greets_then_asks_to_reconnect_at_once_cannot_cause_a_tight_loop() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, _inbox) = PusherClient::start(config(server.url(KEY)));
    let mut states = client.state();
    let started = Instant::now();
    let flapping = tokio::spawn(async move {
        let mut greeted = 0;
        while let Some(mut conn) = server.accept().await {
            conn.establish("flap", 120).await.unwrap();
            conn.close(4200, "Please reconnect immediately").await.unwrap();
            greeted += 1;
        }
        greeted
    });
    let failed = state_where(&mut states, |s| matches!(s, ConnectionState::Failed { .. })).await;
    // 1 + 5 connections, the retries 0 s, 1 s, 2 s, 4 s, 8 s apart: then it gives up.
    assert_eq!(started.elapsed(), Duration::from_secs(15));
    let ConnectionState::Failed { reason } = failed else {
        unreachable!()
    };
    assert!(reason.contains("code 4200"), "{reason}");
    client.shutdown().await;
    flapping.abort();
}

#[tokio::test(start_paused = true)]
async fn sessions_that_deliver_events_end_the_outage_however_short() {
    // A flaky network: every reconnect works and events arrive, then the socket breaks a moment later.
    // Each loss is the first retry of a new outage; the client never gives up (it did after five).
    let mut server = ScriptedServer::bind().await.unwrap();
    let (mut client, mut inbox) = PusherClient::start(config(server.url(KEY)));
    let mut changes = client.state_changes();
    let mut states = client.state();
    client.subscribe("chatrooms.1.v2").await.unwrap();
    for n in 0..9 {
        let mut conn = tokio::select! {
            conn = server.accept() => conn.unwrap(),
            failed = state_where(&mut states, |s| matches!(s, ConnectionState::Failed { .. })) => {
                panic!("the client gave up before connection {n}: {failed:?}")
            }
        };
        if n == 8 {
            break;
        }
        conn.establish(&format!("{n}.{n}"), 120).await.unwrap();
        conn.accept_subscribe().await.unwrap();
        conn.send_event(
            "chatrooms.1.v2",
            "App\\Events\\ChatMessageEvent",
            &format!(r#"{{"n":{n}}}"#),
        )
        .await
        .unwrap();
        assert_eq!(data_json(&next_event(&mut inbox).await)["n"], n);
        // Dropped without a close frame, a second after the hello.
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(conn);
    }
    let mut retries = Vec::new();
    while let Ok(state) = changes.try_recv() {
        assert!(!matches!(state, ConnectionState::Failed { .. }), "{state:?}");
        if let ConnectionState::Reconnecting { attempt, next_in } = state {
            retries.push((attempt, next_in));
        }
    }
    assert_eq!(retries, vec![(1, Duration::from_secs(1)); 8]);
    client.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_client_event_the_socket_never_sent_is_reported_not_sent() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (client, _inbox, conn) = connected(&mut server, None, &[]).await;
    // Queue enough subscribes that the event waits its turn (5 frames a second)...
    for n in 0..5 {
        client.subscribe(&format!("channel.{n}")).await.unwrap();
    }
    let client = std::sync::Arc::new(client);
    let sender = std::sync::Arc::clone(&client);
    let event = tokio::spawn(async move {
        sender
            .trigger("private-room", "client-typing", serde_json::json!({}))
            .await
    });
    tokio::task::yield_now().await;
    // ...and the socket drops before it.
    drop(conn);
    assert_eq!(event.await.unwrap(), Err(PusherError::NotConnected));
    let mut next = server.accept().await.unwrap();
    next.establish("2.2", 120).await.unwrap();
    // The new socket gets the subscribes again, never the stale event.
    for _ in 0..5 {
        assert_eq!(next.recv().await.unwrap().event, "pusher:subscribe");
    }
    std::sync::Arc::into_inner(client).unwrap().shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_hands_over_every_frame_already_read() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let mut config = config(server.url(KEY));
    config.inbound_buffer = 16;
    let (client, mut inbox, mut conn) = connected(&mut server, Some(config), &["chatrooms.1.v2"]).await;
    for n in 0..300 {
        conn.send_event("chatrooms.1.v2", "e", &format!(r#"{{"n":{n}}}"#))
            .await
            .unwrap();
    }
    // Nobody reads for a while: the client holds what it read, the rest waits in the socket.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stopping = tokio::spawn(client.shutdown());
    let server_side = tokio::spawn(async move {
        // The server reads the unsubscribe and answers the close.
        while conn.recv().await.is_some() {}
        conn
    });
    let mut seen = Vec::new();
    while let Some(item) = inbox.recv().await {
        if let Inbound::Event(frame) = item {
            seen.push(data_json(&frame)["n"].as_u64().unwrap());
        }
    }
    stopping.await.unwrap();
    drop(server_side.await.unwrap());
    // 300 small frames fit what the client reads ahead (about two chunks): every one is delivered, in
    // order, though the consumer only started reading at shutdown.
    assert_eq!(seen, (0..300).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn every_state_change_reaches_the_log_in_order() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let (mut client, _inbox) = PusherClient::start(config(server.url(KEY)));
    let mut changes = client.state_changes();
    let mut conn = server.accept().await.unwrap();
    conn.establish("1.1", 120).await.unwrap();
    // An immediate retry: the watch would show only its last state, the log shows each.
    conn.close(4200, "Please reconnect").await.unwrap();
    let mut conn = server.accept().await.unwrap();
    conn.establish("2.2", 120).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 5 {
        seen.push(changes.recv().await.unwrap());
    }
    client.shutdown().await;
    seen.push(changes.recv().await.unwrap());
    let session = |id: &str| ConnectionState::Connected {
        session: Some(id.to_owned()),
    };
    assert_eq!(
        seen,
        [
            ConnectionState::Connecting,
            session("1.1"),
            ConnectionState::Reconnecting {
                attempt: 1,
                next_in: Duration::ZERO
            },
            ConnectionState::Connecting,
            session("2.2"),
            ConnectionState::Disconnected,
        ]
    );
}
