//! The Helix client against a local HTTP server (wiremock) playing Twitch: the headers on every request,
//! creating and deleting subscriptions (202, 409, 403, 400), a refused token renewed once, the rate-limit
//! bucket (429 and an emptied bucket wait for its reset), server errors backed off, pagination, the
//! polling-fallback lists read field by field, and the platform-neutral look-ups. The paused clock makes
//! every wait exact and instant.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use onair_core::{
    Actor, Login, LoginChallenge, LoginGrant, Lookup, Platform, PlatformError, Session, StreamInfo,
};
use onair_twitch::subscriptions::request_body;
use onair_twitch::{Created, Credentials, Helix, SUBSCRIPTIONS, TwitchConfig};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::time::Instant;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OLD_TOKEN: &str = "old-token-7f3a";
const NEW_TOKEN: &str = "new-token-91bc";

/// A sign-in that counts refreshes and hands out [`NEW_TOKEN`] (or fails, when told to).
struct Renewer {
    refreshes: AtomicUsize,
    fails: bool,
}

#[async_trait]
impl Login for Renewer {
    fn platform(&self) -> Platform {
        Platform::Twitch
    }

    async fn begin(&self) -> Result<LoginChallenge, PlatformError> {
        panic!("Helix never starts a sign-in")
    }

    async fn complete(&self, _: &LoginChallenge, _: LoginGrant) -> Result<Session, PlatformError> {
        panic!("Helix never finishes a sign-in")
    }

    async fn refresh(&self, session: &Session) -> Result<Session, PlatformError> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        if self.fails {
            return Err(PlatformError::SignInAborted {
                platform: Platform::Twitch,
                detail: "the refresh token was refused".into(),
            });
        }
        Ok(Session {
            access_token: SecretString::from(NEW_TOKEN),
            ..session.clone()
        })
    }

    async fn revoke(&self, _: &Session) -> Result<(), PlatformError> {
        Ok(())
    }
}

struct Setup {
    server: MockServer,
    helix: Helix,
    renewer: Arc<Renewer>,
}

impl Setup {
    fn refreshes(&self) -> usize {
        self.renewer.refreshes.load(Ordering::SeqCst)
    }

    async fn requests(&self) -> Vec<wiremock::Request> {
        self.server.received_requests().await.unwrap()
    }
}

async fn setup() -> Setup {
    setup_with(false).await
}

async fn setup_with(renewal_fails: bool) -> Setup {
    let server = MockServer::start().await;
    let renewer = Arc::new(Renewer {
        refreshes: AtomicUsize::new(0),
        fails: renewal_fails,
    });
    let session = Session {
        platform: Platform::Twitch,
        account: Actor::new("52731608", "nebulacast"),
        scopes: vec!["moderator:read:followers".into()],
        access_token: SecretString::from(OLD_TOKEN),
        refresh_token: Some(SecretString::from("refresh-secret")),
        expires_at: None,
    };
    let credentials = Credentials::new("cid", session, Some(renewer.clone() as Arc<dyn Login>));
    let config = TwitchConfig {
        // wiremock answers from its own threads: on the paused clock a request timer would fire at once.
        http_timeout: None,
        helix_url: server.uri(),
        client_id: Some("cid".into()),
        ..Default::default()
    };
    let helix = Helix::new(&config, credentials).unwrap();
    Setup {
        server,
        helix,
        renewer,
    }
}

/// An answer that closes its connection. With no idle connection in reqwest's pool there is no pool timer,
/// so the paused clock cannot jump ahead to it while a request waits for wiremock's answer (which would add
/// 90 s to the measured waits).
fn answer(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header("Connection", "close")
}

fn ok(body: Value) -> ResponseTemplate {
    answer(200).set_body_json(body)
}

fn twitch_error(status: u16, message: &str) -> ResponseTemplate {
    answer(status).set_body_json(json!({ "error": "Error", "status": status, "message": message }))
}

fn user_json(id: &str, login: &str, display_name: &str) -> Value {
    json!({ "data": [{
        "id": id, "login": login, "display_name": display_name, "type": "", "broadcaster_type": "partner",
        "description": "", "profile_image_url": "", "offline_image_url": "", "view_count": 0,
        "created_at": "2016-12-14T20:32:28Z"
    }] })
}

/// The unix second `seconds` from now on the wall clock (what Twitch's `Ratelimit-Reset` holds).
fn unix_in(seconds: u64) -> String {
    (SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + seconds).to_string()
}

fn follow_body() -> Value {
    let follow = SUBSCRIPTIONS.iter().find(|s| s.name == "channel.follow").unwrap();
    request_body(follow, "52731608", "52731608", "AQoQexAWVYKSTIu4ec_2VAxyuhAB")
}

#[tokio::test(start_paused = true)]
async fn every_request_carries_the_client_id_and_the_bearer_token() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("login", "nebulacast"))
        .and(header("Client-Id", "cid"))
        .and(header("Authorization", format!("Bearer {OLD_TOKEN}").as_str()))
        .respond_with(ok(user_json("52731608", "nebulacast", "NebulaCast")))
        .mount(&s.server)
        .await;
    let user = s.helix.user_by_login("nebulacast").await.unwrap().unwrap();
    assert_eq!(
        user,
        Actor {
            id: "52731608".into(),
            login: "nebulacast".into(),
            display_name: "NebulaCast".into(),
        }
    );
    assert_eq!(s.requests().await.len(), 1);
    assert_eq!(s.refreshes(), 0);
    // The token is in no Debug output.
    let debug = format!("{:?}", s.helix);
    assert!(!debug.contains(OLD_TOKEN), "{debug}");
}

#[tokio::test(start_paused = true)]
async fn users_are_found_by_id_and_an_unknown_one_is_none() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("id", "141981764"))
        .respond_with(ok(user_json("141981764", "twitchdev", "TwitchDev")))
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("login", "nobody"))
        .respond_with(ok(json!({ "data": [] })))
        .mount(&s.server)
        .await;
    let user = s.helix.user_by_id("141981764").await.unwrap().unwrap();
    assert_eq!(
        (user.id.as_str(), user.login.as_str(), user.display_name.as_str()),
        ("141981764", "twitchdev", "TwitchDev")
    );
    assert_eq!(s.helix.user_by_login("nobody").await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn a_created_subscription_is_read_from_the_202() {
    let s = setup().await;
    let body = follow_body();
    Mock::given(method("POST"))
        .and(path("/eventsub/subscriptions"))
        .and(body_json(&body))
        .and(header("Client-Id", "cid"))
        .respond_with(answer(202).set_body_json(json!({
            "data": [{
                "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "status": "enabled", "type": "channel.follow",
                "version": "2", "condition": body["condition"], "created_at": "2026-11-21T18:00:00.0Z",
                "transport": { "method": "websocket", "session_id": "AQoQexAWVYKSTIu4ec_2VAxyuhAB",
                               "connected_at": "2026-11-21T17:59:58.0Z" },
                "cost": 1
            }],
            "total": 3, "total_cost": 2, "max_total_cost": 10
        })))
        .mount(&s.server)
        .await;
    let created = s.helix.create_subscription(&body).await.unwrap();
    assert_eq!(
        created,
        Created::New {
            id: "f1c2a387-161a-49f9-a165-0f21d7a4e1c4".into(),
            cost: 1,
            total_cost: 2,
            max_total_cost: 10,
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_subscription_that_already_exists_is_not_an_error() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/eventsub/subscriptions"))
        .respond_with(twitch_error(
            409,
            "subscription with same type, version, and condition already exists",
        ))
        .mount(&s.server)
        .await;
    let created = s.helix.create_subscription(&follow_body()).await.unwrap();
    assert_eq!(created, Created::AlreadyExists);
    assert_eq!(s.requests().await.len(), 1, "not retried");
}

#[tokio::test(start_paused = true)]
async fn a_403_is_refused_naming_the_type_and_twitchs_reason() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/eventsub/subscriptions"))
        .respond_with(twitch_error(403, "subscription missing proper authorization"))
        .mount(&s.server)
        .await;
    let error = s.helix.create_subscription(&follow_body()).await.unwrap_err();
    assert!(matches!(error, PlatformError::Refused { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("channel.follow"), "{text}");
    assert!(
        text.contains("subscription missing proper authorization"),
        "{text}"
    );
    assert!(text.contains("permission"), "{text}");
    assert_eq!(s.requests().await.len(), 1, "not retried");
}

#[tokio::test(start_paused = true)]
async fn a_400_is_a_protocol_error_with_twitchs_message() {
    let s = setup().await;
    Mock::given(method("POST"))
        .and(path("/eventsub/subscriptions"))
        .respond_with(twitch_error(
            400,
            "The session_id field is required if you specify the WebSocket transport method",
        ))
        .mount(&s.server)
        .await;
    let error = s.helix.create_subscription(&follow_body()).await.unwrap_err();
    assert!(matches!(error, PlatformError::Protocol { .. }), "{error:?}");
    assert!(
        error.to_string().contains("session_id field is required"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn deleting_is_done_on_204_and_on_404() {
    let s = setup().await;
    Mock::given(method("DELETE"))
        .and(path("/eventsub/subscriptions"))
        .and(query_param("id", "gone"))
        .respond_with(twitch_error(404, "subscription not found"))
        .mount(&s.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/eventsub/subscriptions"))
        .and(query_param("id", "here"))
        .respond_with(answer(204))
        .mount(&s.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/eventsub/subscriptions"))
        .and(query_param("id", "bad"))
        .respond_with(twitch_error(400, "malformed id"))
        .mount(&s.server)
        .await;
    s.helix.delete_subscription("here").await.unwrap();
    s.helix.delete_subscription("gone").await.unwrap();
    let error = s.helix.delete_subscription("bad").await.unwrap_err();
    assert!(error.to_string().contains("malformed id"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_is_renewed_once_and_the_request_retried_with_the_new_one() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(header("Authorization", format!("Bearer {OLD_TOKEN}").as_str()))
        .respond_with(twitch_error(401, "Invalid OAuth token"))
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(header("Authorization", format!("Bearer {NEW_TOKEN}").as_str()))
        .and(header("Client-Id", "cid"))
        .respond_with(ok(user_json("52731608", "nebulacast", "NebulaCast")))
        // The retry, and the request after it.
        .expect(2)
        .mount(&s.server)
        .await;
    let user = s.helix.user_by_login("nebulacast").await.unwrap().unwrap();
    assert_eq!(user.id, "52731608");
    assert_eq!(s.refreshes(), 1);
    assert_eq!(s.requests().await.len(), 2);
    // The renewed session is the shared one now: the next request uses it without renewing again.
    assert_eq!(s.helix.credentials().access_token().expose_secret(), NEW_TOKEN);
    s.helix.clone().user_by_login("nebulacast").await.unwrap();
    assert_eq!(s.refreshes(), 1);
    assert_eq!(s.requests().await.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_token_refused_again_after_renewal_means_signing_in_again() {
    let s = setup().await;
    Mock::given(method("GET"))
        .respond_with(twitch_error(401, "Invalid OAuth token"))
        .mount(&s.server)
        .await;
    let error = s.helix.user_by_login("nebulacast").await.unwrap_err();
    assert!(matches!(error, PlatformError::Unauthorized { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("sign in to twitch again"), "{text}");
    assert!(!text.contains(OLD_TOKEN) && !text.contains(NEW_TOKEN), "{text}");
    assert!(!format!("{error:?}").contains(NEW_TOKEN));
    assert_eq!(s.refreshes(), 1, "one renewal only");
    let requests = s.requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].headers.get("authorization").unwrap(),
        &format!("Bearer {NEW_TOKEN}")
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_renewal_means_signing_in_again() {
    let s = setup_with(true).await;
    Mock::given(method("GET"))
        .respond_with(twitch_error(401, "Invalid OAuth token"))
        .mount(&s.server)
        .await;
    let error = s.helix.user_by_login("nebulacast").await.unwrap_err();
    assert!(matches!(error, PlatformError::Unauthorized { .. }), "{error:?}");
    assert!(error.to_string().contains("sign in to twitch again"), "{error}");
    assert_eq!(s.refreshes(), 1);
    assert_eq!(s.requests().await.len(), 1, "nothing to retry with");
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_until_the_bucket_resets_then_succeeds() {
    let s = setup().await;
    Mock::given(method("GET"))
        .respond_with(
            twitch_error(429, "Too Many Requests")
                .insert_header("Ratelimit-Limit", "800")
                .insert_header("Ratelimit-Remaining", "0")
                .insert_header("Ratelimit-Reset", unix_in(5).as_str()),
        )
        .up_to_n_times(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ok(user_json("52731608", "nebulacast", "NebulaCast")).insert_header("Ratelimit-Remaining", "799"),
        )
        .mount(&s.server)
        .await;
    let start = Instant::now();
    s.helix.user_by_login("nebulacast").await.unwrap();
    // The reset is a whole wall-clock second 5 s from when the header was written: 4 to 5 s from now.
    let elapsed = start.elapsed();
    assert!(
        elapsed > Duration::from_secs(4) && elapsed <= Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert_eq!(s.requests().await.len(), 2);

    // The bucket is full again: no more waiting.
    let start = Instant::now();
    s.helix.user_by_login("nebulacast").await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_far_reset_is_waited_for_at_most_a_minute() {
    let s = setup().await;
    Mock::given(method("GET"))
        .respond_with(
            twitch_error(429, "Too Many Requests")
                .insert_header("Ratelimit-Remaining", "0")
                .insert_header("Ratelimit-Reset", unix_in(3600).as_str()),
        )
        .up_to_n_times(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ok(user_json("52731608", "nebulacast", "NebulaCast")))
        .mount(&s.server)
        .await;
    let start = Instant::now();
    s.helix.user_by_login("nebulacast").await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn repeated_429s_give_up_after_three_retries() {
    let s = setup().await;
    Mock::given(method("GET"))
        .respond_with(twitch_error(429, "Too Many Requests"))
        .mount(&s.server)
        .await;
    let start = Instant::now();
    let error = s.helix.user_by_login("nebulacast").await.unwrap_err();
    assert!(matches!(error, PlatformError::RateLimited { .. }), "{error:?}");
    // Without a reset header each retry waits a second.
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(s.requests().await.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn an_emptied_bucket_holds_the_next_request_until_its_reset_across_clones() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .respond_with(
            ok(user_json("52731608", "nebulacast", "NebulaCast"))
                .insert_header("Ratelimit-Limit", "800")
                .insert_header("Ratelimit-Remaining", "0")
                .insert_header("Ratelimit-Reset", unix_in(3600).as_str()),
        )
        .up_to_n_times(1)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .respond_with(
            ok(user_json("52731608", "nebulacast", "NebulaCast")).insert_header("Ratelimit-Remaining", "799"),
        )
        .mount(&s.server)
        .await;
    let start = Instant::now();
    s.helix.user_by_login("nebulacast").await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO, "the first request did not wait");
    // The clone shares the bucket: it waits (at most a minute) for the reset.
    s.helix.clone().user_by_login("nebulacast").await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    // Refilled (Ratelimit-Remaining 799): the next one goes at once.
    s.helix.user_by_login("nebulacast").await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    assert_eq!(s.requests().await.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_bucket_with_room_left_does_not_wait() {
    let s = setup().await;
    Mock::given(method("GET"))
        .respond_with(
            ok(user_json("52731608", "nebulacast", "NebulaCast"))
                .insert_header("Ratelimit-Remaining", "1")
                .insert_header("Ratelimit-Reset", unix_in(30).as_str()),
        )
        .mount(&s.server)
        .await;
    let start = Instant::now();
    for _ in 0..3 {
        s.helix.user_by_login("nebulacast").await.unwrap();
    }
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_after_1_then_2_s_then_read_as_unreachable() {
    let s = setup().await;
    Mock::given(method("GET"))
        .respond_with(answer(502))
        .up_to_n_times(2)
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ok(user_json("52731608", "nebulacast", "NebulaCast")))
        .mount(&s.server)
        .await;
    let start = Instant::now();
    s.helix.user_by_login("nebulacast").await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(1 + 2));
    assert_eq!(s.requests().await.len(), 3);

    s.server.reset().await;
    Mock::given(method("GET"))
        .respond_with(answer(503))
        .mount(&s.server)
        .await;
    let start = Instant::now();
    let error = s.helix.user_by_login("nebulacast").await.unwrap_err();
    assert!(matches!(error, PlatformError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("503"), "{error}");
    assert_eq!(start.elapsed(), Duration::from_secs(1 + 2));
    assert_eq!(s.requests().await.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_answer_is_a_protocol_error() {
    let s = setup().await;
    Mock::given(method("GET"))
        .respond_with(answer(200).set_body_string("<html>not json</html>"))
        .mount(&s.server)
        .await;
    let error = s.helix.user_by_login("nebulacast").await.unwrap_err();
    assert!(matches!(error, PlatformError::Protocol { .. }), "{error:?}");
    assert_eq!(s.requests().await.len(), 1, "not retried");
}

fn moderator_row(n: u32) -> Value {
    json!({ "user_id": n.to_string(), "user_login": format!("mod{n}"), "user_name": format!("Mod{n}") })
}

#[tokio::test(start_paused = true)]
async fn pagination_follows_the_cursor_over_three_pages() {
    let s = setup().await;
    let page = |rows: Vec<Value>, cursor: Option<&str>| {
        let pagination = match cursor {
            Some(cursor) => json!({ "cursor": cursor }),
            None => json!({}),
        };
        ok(json!({ "data": rows, "pagination": pagination }))
    };
    let base = || {
        Mock::given(method("GET"))
            .and(path("/moderation/moderators"))
            .and(query_param("broadcaster_id", "52731608"))
            .and(query_param("first", "100"))
    };
    base()
        .and(query_param_is_missing("after"))
        .respond_with(page(vec![moderator_row(1), moderator_row(2)], Some("c1")))
        .expect(1)
        .mount(&s.server)
        .await;
    base()
        .and(query_param("after", "c1"))
        .respond_with(page(vec![moderator_row(3)], Some("c2")))
        .expect(1)
        .mount(&s.server)
        .await;
    base()
        .and(query_param("after", "c2"))
        .respond_with(page(vec![moderator_row(4), moderator_row(5)], None))
        .expect(1)
        .mount(&s.server)
        .await;
    let moderators = s.helix.moderators("52731608").await.unwrap();
    let ids: Vec<&str> = moderators.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let afters: Vec<Option<String>> = s
        .requests()
        .await
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "after")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(afters, [None, Some("c1".into()), Some("c2".into())]);
}

#[tokio::test(start_paused = true)]
async fn an_empty_cursor_ends_the_pages() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/channels/vips"))
        .respond_with(ok(
            json!({ "data": [moderator_row(7)], "pagination": { "cursor": "" } }),
        ))
        .mount(&s.server)
        .await;
    assert_eq!(s.helix.vips("52731608").await.unwrap().len(), 1);
    assert_eq!(s.requests().await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn followers_are_read_with_when_they_followed() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/channels/followers"))
        .and(query_param("broadcaster_id", "52731608"))
        .respond_with(ok(json!({
            "total": 2,
            "data": [
                { "user_id": "11111", "user_login": "userloginname", "user_name": "UserDisplayName",
                  "followed_at": "2026-11-21T18:05:00Z" },
                { "user_id": "22222", "user_login": "sakura", "user_name": "さくら",
                  "followed_at": "2026-11-20T09:00:30Z" }
            ],
            "pagination": {}
        })))
        .mount(&s.server)
        .await;
    let followers = s.helix.followers("52731608", None).await.unwrap();
    assert_eq!(followers.len(), 2);
    assert_eq!(
        followers[0].user,
        Actor {
            id: "11111".into(),
            login: "userloginname".into(),
            display_name: "UserDisplayName".into(),
        }
    );
    assert_eq!(followers[0].followed_at.to_rfc3339(), "2026-11-21T18:05:00+00:00");
    assert_eq!(followers[1].user.display_name, "さくら");
    assert_eq!(followers[1].user.login, "sakura");
}

#[tokio::test(start_paused = true)]
async fn moderators_and_vips_are_read_as_actors() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/moderation/moderators"))
        .respond_with(ok(json!({
            "data": [{ "user_id": "424596340", "user_login": "quotrok", "user_name": "Quotrok" }],
            "pagination": {}
        })))
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/channels/vips"))
        .and(query_param("broadcaster_id", "52731608"))
        .respond_with(ok(json!({
            "data": [{ "user_id": "11111", "user_name": "", "user_login": "vipfriend" }],
            "pagination": {}
        })))
        .mount(&s.server)
        .await;
    assert_eq!(
        s.helix.moderators("52731608").await.unwrap(),
        [Actor {
            id: "424596340".into(),
            login: "quotrok".into(),
            display_name: "Quotrok".into(),
        }]
    );
    // An empty display name falls back to the login.
    assert_eq!(
        s.helix.vips("52731608").await.unwrap(),
        [Actor::new("11111", "vipfriend")]
    );
}

#[tokio::test(start_paused = true)]
async fn subscribers_are_read_with_tier_and_gifter() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/subscriptions"))
        .and(query_param("broadcaster_id", "52731608"))
        .respond_with(ok(json!({
            "data": [
                { "broadcaster_id": "52731608", "broadcaster_login": "nebulacast", "broadcaster_name": "NebulaCast",
                  "gifter_id": "33333", "gifter_login": "generous", "gifter_name": "Generous",
                  "is_gift": true, "tier": "2000", "plan_name": "Channel Subscription (nebulacast)",
                  "user_id": "44444", "user_name": "Lucky", "user_login": "lucky" },
                { "broadcaster_id": "52731608", "broadcaster_login": "nebulacast", "broadcaster_name": "NebulaCast",
                  "gifter_id": "", "gifter_login": "", "gifter_name": "",
                  "is_gift": false, "tier": "1000", "plan_name": "Channel Subscription (nebulacast)",
                  "user_id": "55555", "user_name": "Payer", "user_login": "payer" }
            ],
            "pagination": {}, "total": 2, "points": 3
        })))
        .mount(&s.server)
        .await;
    let subscribers = s.helix.subscribers("52731608").await.unwrap();
    assert_eq!(subscribers.len(), 2);
    let gifted = &subscribers[0];
    assert_eq!(gifted.user.id, "44444");
    assert_eq!(gifted.user.login, "lucky");
    assert_eq!(gifted.user.display_name, "Lucky");
    assert_eq!(gifted.tier, "2000");
    assert!(gifted.is_gift);
    assert_eq!(
        gifted.gifter,
        Some(Actor {
            id: "33333".into(),
            login: "generous".into(),
            display_name: "Generous".into(),
        })
    );
    let paid = &subscribers[1];
    assert_eq!((paid.user.id.as_str(), paid.tier.as_str()), ("55555", "1000"));
    assert!(!paid.is_gift);
    assert_eq!(paid.gifter, None);
}

async fn mount_user(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("login", "nebulacast"))
        .respond_with(ok(user_json("52731608", "nebulacast", "NebulaCast")))
        .mount(server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_live_channel_is_looked_up_with_its_stream() {
    let s = setup().await;
    mount_user(&s.server).await;
    Mock::given(method("GET"))
        .and(path("/streams"))
        .and(query_param("user_id", "52731608"))
        .respond_with(ok(json!({
            "data": [{
                "id": "40952121085", "user_id": "52731608", "user_login": "nebulacast", "user_name": "NebulaCast",
                "game_id": "509658", "game_name": "Just Chatting", "type": "live",
                "title": "Ranked grind", "tags": [], "viewer_count": 2871,
                "started_at": "2026-11-21T17:00:00Z", "language": "en", "thumbnail_url": "", "is_mature": false
            }],
            "pagination": {}
        })))
        .mount(&s.server)
        .await;
    // A login is a login whatever its case.
    let info = Lookup::channel(&s.helix, "NebulaCast").await.unwrap();
    assert_eq!(info.channel.platform_id, "52731608");
    assert_eq!(info.channel.slug, "nebulacast");
    assert_eq!(info.channel.chatroom_id, None);
    assert_eq!(info.display_name, "NebulaCast");
    assert_eq!(info.followers, None);
    assert_eq!(
        info.live,
        Some(StreamInfo {
            stream_id: Some("40952121085".into()),
            title: Some("Ranked grind".into()),
            category: Some("Just Chatting".into()),
        })
    );
    assert_eq!(Lookup::platform(&s.helix), Platform::Twitch);
}

#[tokio::test(start_paused = true)]
async fn an_offline_channel_has_no_stream() {
    let s = setup().await;
    mount_user(&s.server).await;
    Mock::given(method("GET"))
        .and(path("/streams"))
        .respond_with(ok(json!({ "data": [], "pagination": {} })))
        .mount(&s.server)
        .await;
    let info = Lookup::channel(&s.helix, "nebulacast").await.unwrap();
    assert_eq!(info.channel.platform_id, "52731608");
    assert_eq!(info.live, None);
    let user = Lookup::user(&s.helix, "nebulacast").await.unwrap();
    assert_eq!(user.display_name, "NebulaCast");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_channel_or_user_is_not_found() {
    let s = setup().await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .respond_with(ok(json!({ "data": [] })))
        .mount(&s.server)
        .await;
    let error = Lookup::channel(&s.helix, "nobody").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "twitch has no channel \"nobody\"; check the spelling"
    );
    let error = Lookup::user(&s.helix, "nobody").await.unwrap_err();
    assert!(matches!(error, PlatformError::NotFound { .. }), "{error:?}");
    // Something that cannot be a login is not asked about at all.
    let error = Lookup::channel(&s.helix, "no such/channel").await.unwrap_err();
    assert!(matches!(error, PlatformError::NotFound { .. }), "{error:?}");
    assert_eq!(s.requests().await.len(), 2);
}
