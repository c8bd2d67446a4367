//! The REST look-up against a local HTTP server (wiremock) playing kick.com: the answer read from the
//! fixture, the shared 1 request/s pace, the 429 / 5xx / Cloudflare (with and without a browser) / 404 rules. The paused clock makes
//! every wait exact.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use onair_core::{Lookup, PlatformError};
use onair_kick::{BrowserFetch, KickRest, RestConfig};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHANNEL_JSON: &str = include_str!("../../../fixtures/kick/rest_channel_v2.json");

async fn kick() -> (MockServer, KickRest) {
    let server = MockServer::start().await;
    let config = RestConfig {
        // wiremock answers from its own threads: on the paused clock a request timer would fire at once.
        timeout: None,
        ..RestConfig::with_base_url(&server.uri())
    };
    let client = KickRest::new(config).unwrap();
    (server, client)
}

fn channel_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(CHANNEL_JSON, "application/json")
}

#[tokio::test(start_paused = true)]
async fn a_channel_is_read_from_kicks_answer() {
    let (server, kick) = kick().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/channels/novastreams"))
        .respond_with(channel_ok())
        .mount(&server)
        .await;
    let channel = kick.channel("novastreams").await.unwrap();
    assert_eq!(
        (channel.channel_id, channel.chatroom_id, channel.user_id),
        (4781203, 4760932, 48213377)
    );
    assert_eq!(channel.slug, "novastreams");
    assert_eq!(channel.followers, Some(184213));
    let live = channel.livestream.unwrap();
    assert_eq!(live.id, 71234567);
    assert_eq!(
        live.title.as_deref(),
        Some("🔴 Ranked grind to Global — !giveaway !discord")
    );
    assert_eq!(live.viewers, Some(2871));
    assert_eq!(live.started_at.unwrap().to_rfc3339(), "2026-05-22T18:00:01+00:00");

    // The same through the platform-neutral face.
    let info = Lookup::channel(&kick, "novastreams").await.unwrap();
    assert_eq!(info.channel.platform_id, "4781203");
    assert_eq!(info.channel.chatroom_id.as_deref(), Some("4760932"));
    assert_eq!(info.live.unwrap().stream_id.as_deref(), Some("71234567"));
    let user = Lookup::user(&kick, "NovaStreams").await.unwrap();
    assert_eq!(
        (user.id.as_str(), user.login.as_str()),
        ("48213377", "novastreams")
    );
}

#[tokio::test(start_paused = true)]
async fn requests_are_paced_at_one_per_second_across_clones() {
    let (server, kick) = kick().await;
    Mock::given(method("GET"))
        .respond_with(channel_ok())
        .mount(&server)
        .await;
    let other = kick.clone();
    let start = Instant::now();
    let mut times = Vec::new();
    for n in 0..4 {
        let client = if n % 2 == 0 { &kick } else { &other };
        client.channel("novastreams").await.unwrap();
        times.push(start.elapsed().as_secs());
    }
    assert_eq!(times, [0, 1, 2, 3]);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_for_retry_after_or_5_s_then_gives_up_after_3_retries() {
    let (server, kick) = kick().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(channel_ok())
        .mount(&server)
        .await;
    let start = Instant::now();
    kick.channel("novastreams").await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(7 + 5));

    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    let error = kick.channel("novastreams").await.unwrap_err();
    assert!(matches!(error, PlatformError::RateLimited { .. }), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn server_errors_back_off_then_read_as_unreachable() {
    let (server, kick) = kick().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(channel_ok())
        .mount(&server)
        .await;
    let start = Instant::now();
    kick.channel("novastreams").await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(1 + 2));

    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let error = kick.channel("novastreams").await.unwrap_err();
    assert!(matches!(error, PlatformError::Unreachable { .. }), "{error}");
    assert!(error.to_string().contains("503"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

/// kick.com answering every request with Cloudflare's browser check.
async fn cloudflare_check(server: &MockServer) {
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_raw("<!DOCTYPE html><title>Just a moment...</title>", "text/html"),
        )
        .mount(server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn cloudflares_browser_check_says_how_to_give_the_ids_by_hand() {
    let (server, kick) = kick().await;
    cloudflare_check(&server).await;
    let error = kick.channel("novastreams").await.unwrap_err().to_string();
    assert!(error.contains("Cloudflare"), "{error}");
    assert!(error.contains("kick:SLUG@CHANNEL_ID/CHATROOM_ID"), "{error}");
    // Not retried: a browser check does not pass by waiting.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// A browser stand-in that answers with `body` and remembers what it was asked to load.
struct Browser {
    body: Result<String, String>,
    asked: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl BrowserFetch for Browser {
    async fn fetch(&self, url: &str) -> Result<String, PlatformError> {
        self.asked.lock().unwrap().push(url.to_owned());
        self.body.clone().map_err(|detail| PlatformError::Refused {
            platform: onair_core::Platform::Kick,
            detail,
        })
    }
}

#[tokio::test(start_paused = true)]
async fn cloudflares_browser_check_goes_to_the_browser_which_reads_the_answer() {
    let (server, kick) = kick().await;
    cloudflare_check(&server).await;
    let browser = Arc::new(Browser {
        body: Ok(CHANNEL_JSON.to_owned()),
        asked: Default::default(),
    });
    let kick = kick.with_browser(browser.clone());
    let channel = kick.channel("novastreams").await.unwrap();
    assert_eq!((channel.channel_id, channel.chatroom_id), (4781203, 4760932));
    assert_eq!(
        *browser.asked.lock().unwrap(),
        [format!("{}/api/v2/channels/novastreams", server.uri())],
        "the same URL, once"
    );

    // A browser that fails (the user closed the window) says so.
    let failing = Arc::new(Browser {
        body: Err("the check was not passed".into()),
        asked: Default::default(),
    });
    let error = kick
        .with_browser(failing)
        .channel("novastreams")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("the check was not passed"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_channel_is_not_found_in_plain_words() {
    let (server, kick) = kick().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let error = kick.channel("nobody").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "kick has no channel \"nobody\"; check the spelling"
    );
}
