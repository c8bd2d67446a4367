//! REST through network faults, with each client's own retry rules (not the test's): Kick's channel
//! look-up (`KickRest`, a mock kick.com behind the fault proxy) while the proxy refuses connections for a
//! while, and when a response is cut by a reset halfway; Discord's `GET /gateway/bot` (the fake Discord
//! behind the proxy) refused, then answered once the network is back, and cut halfway through its answer
//! (the network's failure, not Discord's).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use onair_core::{ChannelRef, PlatformError};
use onair_discord::testing::{GatewayServer, ServerOptions};
use onair_discord::{DiscordConfig, DiscordPlatform, Watched};
use onair_faultproxy::{Conditions, End, FaultProxy};
use onair_kick::{KickRest, RestConfig};
use secrecy::SecretString;
use tokio::time::{Instant, timeout};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SLUG: &str = "nebulacast";

/// A mock kick.com answering the channel look-up with the fixture (after `delay`), and the proxy in front.
async fn kick(delay: Duration) -> (MockServer, FaultProxy, KickRest) {
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/kick/rest_channel_v2.json"
    ))
    .unwrap();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/channels/{SLUG}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body, "application/json")
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    let upstream: SocketAddr = *server.address();
    let proxy = FaultProxy::start(upstream).await.unwrap();
    // Kick's documented rules as they are: 1 request/s, network failures retried after 1 s, 2 s, 4 s.
    let rest = KickRest::new(RestConfig::with_base_url(&format!("http://{}", proxy.addr()))).unwrap();
    (server, proxy, rest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_look_up_refused_for_a_while_succeeds_once_the_server_listens_again() {
    let (_server, proxy, rest) = kick(Duration::ZERO).await;
    proxy.refuse(true).await;
    let started = Instant::now();
    let looking = tokio::spawn(async move { rest.channel(SLUG).await });
    // Refused for 1.5 s: the first try and the retry after 1 s fail, the one 2 s later gets through.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        proxy.connections().is_empty(),
        "nothing got through while refused"
    );
    proxy.refuse(false).await;
    let channel = timeout(Duration::from_secs(10), looking)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    assert!(channel.channel_id > 0 && channel.chatroom_id > 0, "{channel:?}");
    assert_eq!(proxy.connections().len(), 1, "one request got through");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(4),
        "the third try comes 1 s + 2 s after the first: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_look_up_cut_halfway_through_its_answer_is_retried() {
    let (_server, proxy, rest) = kick(Duration::from_millis(100)).await;
    let looking = tokio::spawn(async move { rest.channel(SLUG).await });
    let first = proxy.connection(1).await;
    // The answer comes 100 ms later; the cut waits for it and resets the connection halfway through.
    assert!(matches!(first.cut().await, End::Cut { .. }));
    assert!(first.traffic().downstream > 0, "part of the answer was delivered");
    let channel = timeout(Duration::from_secs(10), looking)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(channel.channel_id > 0, "{channel:?}");
    assert_eq!(proxy.connections().len(), 2, "retried once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_rest_refused_says_so_then_answers_once_the_network_is_back() {
    const GUILD: &str = "1085131932938797063";
    let server = GatewayServer::start(ServerOptions::default()).await.unwrap();
    server.add_guild(GUILD, "Nova's Den", &[("1085131964526100482", "general")]);
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let config = DiscordConfig {
        api_url: format!("http://{}/api/v10", proxy.addr()),
        ..DiscordConfig::default()
    };
    let platform = DiscordPlatform::new(config, SecretString::from("test-token")).unwrap();
    let mut watched = Watched::default();
    watched.add(
        ChannelRef::new(GUILD, "Nova's Den"),
        ["1085131964526100482".to_owned()],
    );

    proxy.refuse(true).await;
    let Err(error) = platform.plan(&watched).await else {
        panic!("planned without reaching Discord");
    };
    assert!(matches!(error, PlatformError::Unreachable { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .to_lowercase()
            .contains("could not reach discord"),
        "{error}"
    );

    proxy.refuse(false).await;
    let plan = platform.plan(&watched).await.unwrap();
    assert_eq!(plan.shards.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_answer_cut_halfway_is_the_network_failing_not_discord() {
    const GUILD: &str = "1085131932938797063";
    let server = GatewayServer::start(ServerOptions::default()).await.unwrap();
    server.add_guild(GUILD, "Nova's Den", &[("1085131964526100482", "general")]);
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let config = DiscordConfig {
        api_url: format!("http://{}/api/v10", proxy.addr()),
        ..DiscordConfig::default()
    };
    let platform = DiscordPlatform::new(config, SecretString::from("test-token")).unwrap();
    let mut watched = Watched::default();
    watched.add(
        ChannelRef::new(GUILD, "Nova's Den"),
        ["1085131964526100482".to_owned()],
    );
    // A slow line: the answer's head arrives, then its body a few bytes at a time; the reset lands in it.
    proxy.set(Conditions::clean().with_bandwidth(400));
    let planning = tokio::spawn(async move { platform.plan(&watched).await.err() });
    let first = proxy.connection(1).await;
    let head = first.wait_traffic(|t| t.downstream >= HEAD_AND_SOME).await;
    assert!(head.downstream < ANSWER, "the whole answer was through: {head:?}");
    first.reset().await;
    let error = timeout(Duration::from_secs(10), planning)
        .await
        .unwrap()
        .unwrap()
        .expect("no error");
    assert!(matches!(error, PlatformError::Unreachable { .. }), "{error:?}");
}

/// The fake Discord's `GET /gateway/bot` answer: a head of about 110 bytes, 255 in all.
const HEAD_AND_SOME: u64 = 200;
const ANSWER: u64 = 255;
