//! Resolving what to watch: ids given by hand, found in the store, or looked up once on Kick (wiremock
//! playing kick.com) and remembered for the next start.
#![allow(clippy::unwrap_used)]

use onair::watch::resolve;
use onair_kick::{KickRest, RestConfig};
use onair_store::Store;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHANNEL_JSON: &str = include_str!("../../../fixtures/kick/rest_channel_v2.json");

#[tokio::test]
async fn a_looked_up_channel_is_remembered_and_not_looked_up_again() {
    let dir = tempfile::tempdir().unwrap();
    let kick = MockServer::start().await;
    Mock::given(path("/api/v2/channels/novastreams"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(CHANNEL_JSON, "application/json"))
        .expect(1)
        .mount(&kick)
        .await;
    let rest = KickRest::new(RestConfig::with_base_url(&kick.uri())).unwrap();

    let store = Store::open(&dir.path().join("onair.db")).await.unwrap();
    let spec = "kick:novastreams".parse().unwrap();
    let channel = resolve(&store, &rest, &spec).await.unwrap();
    assert_eq!(
        (channel.platform_id.as_str(), channel.chatroom_id.as_deref()),
        ("4781203", Some("4760932"))
    );
    // No event was recorded; the next start still knows the ids.
    store.close().await;
    let store = Store::open(&dir.path().join("onair.db")).await.unwrap();
    assert_eq!(resolve(&store, &rest, &spec).await.unwrap(), channel);
    store.close().await;
    // (wiremock checks on drop that kick.com was asked once.)
}

#[tokio::test]
async fn ids_given_by_hand_need_no_look_up_and_are_remembered() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens here: a look-up would fail.
    let rest = KickRest::new(RestConfig::with_base_url("http://127.0.0.1:9")).unwrap();
    let store = Store::open(&dir.path().join("onair.db")).await.unwrap();
    let by_hand = resolve(&store, &rest, &"kick:nova@11/22".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (by_hand.platform_id.as_str(), by_hand.chatroom_id.as_deref()),
        ("11", Some("22"))
    );
    store.writer().flush().await.unwrap();
    let by_slug = resolve(&store, &rest, &"kick:nova".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(by_slug, by_hand);
    store.close().await;
}
