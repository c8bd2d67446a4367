//! Kick live through `KickPlatform`'s real-time face, the real Pusher client and the scripted Pusher server: every feed of the channel is
//! subscribed, every fixture frame sent on its feed comes out as the unified events, on the right channel.
#![allow(clippy::unwrap_used)]

use onair_core::{ChannelRef, ConnectionState, EventKind, Realtime};
use onair_kick::{KickIds, KickPlatform, KickRest, RestConfig, feeds};
use onair_pusher::server::ScriptedServer;
use onair_pusher::{Endpoint, PusherConfig};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/kick");

#[tokio::test(start_paused = true)]
async fn every_fixture_frame_becomes_its_events_on_the_watched_channel() {
    let mut server = ScriptedServer::bind().await.unwrap();
    let mut channel = ChannelRef::new("4781203", "novastreams");
    channel.chatroom_id = Some("4760932".into());
    let (sink, mut events) = tokio::sync::mpsc::channel(64);
    let kick = KickPlatform::new(
        KickRest::new(RestConfig::with_base_url("http://127.0.0.1:9")).unwrap(),
        PusherConfig::new(Endpoint::Url(server.url("key"))),
        None,
    );
    let live = kick.connect(std::slice::from_ref(&channel), sink).await.unwrap();
    let mut state = live.state();

    let mut conn = server.accept().await.unwrap();
    conn.establish("1.1", 120).await.unwrap();
    let mut subscribed = Vec::new();
    for _ in 0..5 {
        subscribed.push(conn.accept_subscribe().await.unwrap());
    }
    subscribed.sort();
    let mut expected_feeds = feeds(KickIds {
        channel_id: 4781203,
        chatroom_id: 4760932,
    })
    .to_vec();
    expected_feeds.sort();
    assert_eq!(subscribed, expected_feeds);
    state
        .wait_for(|s| matches!(s, ConnectionState::Connected { session: Some(id) } if id == "1.1"))
        .await
        .unwrap();

    let mut files: Vec<_> = std::fs::read_dir(FIXTURES)
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
    // A frame on a feed nobody watches is not anyone's event.
    conn.send_event("chatrooms.1.v2", r"App\Events\ChatMessageEvent", "{}")
        .await
        .unwrap();
    for file in &files {
        conn.send_text(
            std::fs::read_to_string(format!("{FIXTURES}/{file}"))
                .unwrap()
                .trim()
                .to_owned(),
        )
        .await
        .unwrap();
    }
    // One event per fixture, but the channel-level twin of the subscription events.
    let mut kinds = Vec::new();
    for _ in 0..files.len() - 1 {
        let event = events.recv().await.unwrap();
        assert_eq!(event.channel, channel);
        kinds.push(event.kind());
    }
    for kind in [
        EventKind::ChatMessage,
        EventKind::Ban,
        EventKind::Timeout,
        EventKind::Unban,
        EventKind::SubscriptionGift,
        EventKind::StreamOnline,
        EventKind::Cheer,
        EventKind::Prediction,
        EventKind::Unknown,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::ChatMessage).count(), 3);
    live.shutdown().await;
    assert!(events.recv().await.is_none(), "nothing after shutdown");
}
