//! Signing in to Twitch with the device code grant against a local OAuth server (wiremock playing
//! id.twitch.tv/oauth2): the device code request and its scopes, polling at Twitch's pace (pending,
//! slow down, declined, expired, Twitch down for a moment), validation, refresh with rotating tokens and
//! no client secret, revocation, and no secret in any log line, error or `Debug` print.
//!
//! The tests run on tokio's paused clock, so every wait of the poll is exact and instant. Every answer
//! closes its connection: a connection kept in reqwest's pool arms its idle reaper (a 90 s timer), and
//! the paused clock would jump to that timer whenever it waits for the server's answer.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onair_core::{Actor, Login, LoginChallenge, LoginGrant, Platform, PlatformError, Session};
use onair_twitch::subscriptions::scopes;
use onair_twitch::{TwitchConfig, TwitchLogin, Validated};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::time::Instant;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "onair-client-id";
const USER_CODE: &str = "ABCDEFGH";
const DEVICE_CODE: &str = "device-code-secret";

fn config(server: &MockServer) -> TwitchConfig {
    TwitchConfig {
        http_timeout: None,
        auth_url: server.uri(),
        client_id: Some(CLIENT_ID.to_owned()),
        ..Default::default()
    }
}

/// An answer that closes its connection (see the module's doc).
fn answer(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("connection", "close")
        .set_body_json(body)
}

fn twitch_error(status: u16, message: &str) -> ResponseTemplate {
    answer(status, json!({"status": status, "message": message}))
}

fn pending() -> ResponseTemplate {
    twitch_error(400, "authorization_pending")
}

fn tokens(access: &str, refresh: &str) -> ResponseTemplate {
    answer(
        200,
        json!({
            "access_token": access,
            "expires_in": 14124,
            "refresh_token": refresh,
            "scope": ["bits:read", "moderator:read:followers"],
            "token_type": "bearer",
        }),
    )
}

/// A `application/x-www-form-urlencoded` body as name → value.
fn form(body: &[u8]) -> HashMap<String, String> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                byte => out.push(byte),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap();
            (decode(name), decode(value))
        })
        .collect()
}

/// The forms of the requests received on `at`, in order.
async fn forms_at(server: &MockServer, at: &str) -> Vec<HashMap<String, String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == at)
        .map(|request| form(&request.body))
        .collect()
}

async fn mount_device(server: &MockServer, expires_in: u64, interval: u64) {
    Mock::given(method("POST"))
        .and(path("/device"))
        .respond_with(answer(
            200,
            json!({
                "device_code": DEVICE_CODE,
                "expires_in": expires_in,
                "interval": interval,
                "user_code": USER_CODE,
                "verification_uri": format!("https://www.twitch.tv/activate?public=true&device-code={USER_CODE}"),
            }),
        ))
        .mount(server)
        .await;
}

async fn mount_validate(server: &MockServer, access: &str) {
    Mock::given(method("GET"))
        .and(path("/validate"))
        .and(header("authorization", format!("OAuth {access}").as_str()))
        .respond_with(answer(
            200,
            json!({
                "client_id": CLIENT_ID,
                "login": "novastreams",
                "scopes": ["bits:read", "moderator:read:followers"],
                "user_id": "141981764",
                "expires_in": 14124,
            }),
        ))
        .mount(server)
        .await;
}

/// Polls of the device code grant answer `first` up to `times` times, then whatever is mounted next.
async fn mount_polls(server: &MockServer, first: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
        ))
        .respond_with(first)
        .up_to_n_times(times)
        .mount(server)
        .await;
}

async fn mount_approval(server: &MockServer, access: &str, refresh: &str) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
        ))
        .respond_with(tokens(access, refresh))
        .mount(server)
        .await;
    mount_validate(server, access).await;
}

fn aborted_detail(error: PlatformError) -> String {
    match error {
        PlatformError::SignInAborted {
            platform: Platform::Twitch,
            detail,
        } => detail,
        other => panic!("expected SignInAborted, got {other:?}"),
    }
}

fn session(access: &str, refresh: Option<&str>) -> Session {
    Session {
        platform: Platform::Twitch,
        account: Actor::new("141981764", "novastreams"),
        scopes: vec!["bits:read".to_owned()],
        access_token: SecretString::from(access.to_owned()),
        refresh_token: refresh.map(|r| SecretString::from(r.to_owned())),
        expires_at: None,
    }
}

#[tokio::test(start_paused = true)]
async fn begin_asks_for_a_device_code_with_the_client_id_and_the_exact_scopes() {
    let server = MockServer::start().await;
    mount_device(&server, 1800, 5).await;
    let login = TwitchLogin::new(&config(&server)).unwrap();
    assert_eq!(login.platform(), Platform::Twitch);

    let challenge = login.begin().await.unwrap();
    assert_eq!(
        challenge,
        LoginChallenge::DeviceCode {
            verification_uri: "https://www.twitch.tv/activate?public=true&device-code=ABCDEFGH".to_owned(),
            user_code: USER_CODE.to_owned(),
            expires_in: Duration::from_secs(1800),
            interval: Duration::from_secs(5),
        }
    );
    let sent = forms_at(&server, "/device").await;
    assert_eq!(sent.len(), 1);
    let expected: HashMap<String, String> = [
        ("client_id".to_owned(), CLIENT_ID.to_owned()),
        ("scopes".to_owned(), scopes().join(" ")),
    ]
    .into();
    assert_eq!(
        sent[0], expected,
        "exactly the client id and the scopes, no secret"
    );
    assert!(sent[0]["scopes"].contains("moderator:read:followers"));
    // No poll until complete is called.
    assert!(forms_at(&server, "/token").await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_pending_approval_is_polled_every_interval_until_the_user_approves() {
    let server = MockServer::start().await;
    mount_device(&server, 1800, 5).await;
    // Twitch's own form first, then RFC 8628's.
    mount_polls(&server, pending(), 1).await;
    mount_polls(&server, answer(400, json!({"error": "authorization_pending"})), 1).await;
    mount_approval(&server, "access-1", "refresh-1").await;
    let login = TwitchLogin::new(&config(&server)).unwrap();

    let challenge = login.begin().await.unwrap();
    let started = Instant::now();
    let signed_in = login
        .complete(&challenge, LoginGrant::DeviceApproval)
        .await
        .unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(15),
        "three polls, 5 s apart"
    );

    let polls = forms_at(&server, "/token").await;
    assert_eq!(polls.len(), 3);
    for poll in &polls {
        assert_eq!(poll["client_id"], CLIENT_ID);
        assert_eq!(poll["device_code"], DEVICE_CODE);
        assert_eq!(poll["grant_type"], "urn:ietf:params:oauth:grant-type:device_code");
        assert_eq!(poll["scopes"], scopes().join(" "));
        assert!(!poll.contains_key("client_secret"));
    }
    assert_eq!(forms_at(&server, "/validate").await.len(), 1);

    assert_eq!(signed_in.platform, Platform::Twitch);
    assert_eq!(signed_in.account, Actor::new("141981764", "novastreams"));
    assert_eq!(signed_in.scopes, ["bits:read", "moderator:read:followers"]);
    assert_eq!(signed_in.access_token.expose_secret(), "access-1");
    assert_eq!(
        signed_in.refresh_token.as_ref().unwrap().expose_secret(),
        "refresh-1"
    );
    let left = signed_in.expires_at.unwrap() - chrono::Utc::now();
    assert!(
        (14_100..=14_124).contains(&left.num_seconds()),
        "expires in about 14124 s, not {left}"
    );

    // The device code is used once.
    let again = login
        .complete(&challenge, LoginGrant::DeviceApproval)
        .await
        .unwrap_err();
    assert!(aborted_detail(again).contains("already finished"));
    assert_eq!(forms_at(&server, "/token").await.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn slow_down_adds_five_seconds_to_the_interval_for_good() {
    let server = MockServer::start().await;
    mount_device(&server, 1800, 5).await;
    mount_polls(&server, answer(400, json!({"error": "slow_down"})), 1).await;
    mount_polls(&server, pending(), 1).await;
    mount_approval(&server, "access-1", "refresh-1").await;
    let login = TwitchLogin::new(&config(&server)).unwrap();

    let challenge = login.begin().await.unwrap();
    let started = Instant::now();
    login
        .complete(&challenge, LoginGrant::DeviceApproval)
        .await
        .unwrap();
    // 5 s to the slow_down, then 10 s to the pending answer and 10 s more to the approval.
    assert_eq!(started.elapsed(), Duration::from_secs(25));
    assert_eq!(forms_at(&server, "/token").await.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_declined_sign_in_stops_polling_and_says_so() {
    let server = MockServer::start().await;
    mount_device(&server, 1800, 5).await;
    mount_polls(&server, pending(), 1).await;
    mount_polls(&server, answer(400, json!({"error": "access_denied"})), 1).await;
    mount_approval(&server, "access-1", "refresh-1").await;
    let login = TwitchLogin::new(&config(&server)).unwrap();

    let challenge = login.begin().await.unwrap();
    let error = login
        .complete(&challenge, LoginGrant::DeviceApproval)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("declined"), "{error}");
    assert!(aborted_detail(error).contains("declined"));
    assert_eq!(forms_at(&server, "/token").await.len(), 2);
    assert!(forms_at(&server, "/validate").await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_unapproved_code_expires_and_is_not_polled_after_its_end() {
    let server = MockServer::start().await;
    mount_device(&server, 30, 5).await;
    mount_polls(&server, pending(), u64::MAX).await;
    let login = TwitchLogin::new(&config(&server)).unwrap();

    let challenge = login.begin().await.unwrap();
    let started = Instant::now();
    let error = login
        .complete(&challenge, LoginGrant::DeviceApproval)
        .await
        .unwrap_err();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(30),
        "gave up when the code ended"
    );
    assert!(aborted_detail(error).contains("expired"));
    // Polls at 5, 10, 15, 20 and 25 s; none at or after 30 s.
    assert_eq!(forms_at(&server, "/token").await.len(), 5);

    // Nothing polls on afterwards, and the expired sign-in cannot be resumed.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(forms_at(&server, "/token").await.len(), 5);
    let again = login
        .complete(&challenge, LoginGrant::DeviceApproval)
        .await
        .unwrap_err();
    assert!(matches!(again, PlatformError::SignInAborted { .. }), "{again:?}");
    assert_eq!(forms_at(&server, "/token").await.len(), 5);
}

#[tokio::test(start_paused = true)]
async fn twitch_saying_the_device_code_is_invalid_or_expired_ends_the_sign_in() {
    for said in [
        twitch_error(400, "invalid device code"),
        answer(400, json!({"error": "expired_token"})),
    ] {
        let server = MockServer::start().await;
        mount_device(&server, 1800, 5).await;
        mount_polls(&server, said, 1).await;
        mount_approval(&server, "access-1", "refresh-1").await;
        let login = TwitchLogin::new(&config(&server)).unwrap();

        let challenge = login.begin().await.unwrap();
        let error = login
            .complete(&challenge, LoginGrant::DeviceApproval)
            .await
            .unwrap_err();
        assert!(aborted_detail(error).contains("expired"));
        assert_eq!(forms_at(&server, "/token").await.len(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_sign_in_interrupted_by_an_outage_can_be_resumed() {
    let server = MockServer::start().await;
    mount_device(&server, 1800, 5).await;
    mount_polls(&server, answer(503, json!({})), 1).await;
    mount_approval(&server, "access-1", "refresh-1").await;
    let login = TwitchLogin::new(&config(&server)).unwrap();

    let challenge = login.begin().await.unwrap();
    let error = login
        .complete(&challenge, LoginGrant::DeviceApproval)
        .await
        .unwrap_err();
    assert!(matches!(error, PlatformError::Unreachable { .. }), "{error:?}");
    let signed_in = login
        .complete(&challenge, LoginGrant::DeviceApproval)
        .await
        .unwrap();
    assert_eq!(signed_in.account.login, "novastreams");
    assert_eq!(forms_at(&server, "/token").await.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_challenge_that_is_not_this_logins_device_code_is_refused_without_polling() {
    let server = MockServer::start().await;
    let login = TwitchLogin::new(&config(&server)).unwrap();
    let browser = LoginChallenge::Browser {
        authorize_url: "https://example.invalid".to_owned(),
        state: "s".to_owned(),
    };
    let error = login
        .complete(&browser, LoginGrant::DeviceApproval)
        .await
        .unwrap_err();
    assert!(aborted_detail(error).contains("device code"));
    let unknown = LoginChallenge::DeviceCode {
        verification_uri: "https://www.twitch.tv/activate".to_owned(),
        user_code: "NEVERSEEN".to_owned(),
        expires_in: Duration::from_secs(1800),
        interval: Duration::from_secs(5),
    };
    let error = login
        .complete(&unknown, LoginGrant::DeviceApproval)
        .await
        .unwrap_err();
    assert!(aborted_detail(error).contains("never started"));
    let error = login
        .complete(
            &unknown,
            LoginGrant::Redirect {
                code: "c".to_owned(),
                state: "s".to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, PlatformError::SignInAborted { .. }));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[test]
fn without_a_client_id_there_is_no_sign_in() {
    let error = TwitchLogin::new(&TwitchConfig::default()).unwrap_err();
    assert!(matches!(error, PlatformError::SignInAborted { .. }), "{error:?}");
    assert!(error.to_string().contains("dev.twitch.tv/console"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn validate_says_whose_token_it_is() {
    let server = MockServer::start().await;
    mount_validate(&server, "access-1").await;
    let login = TwitchLogin::new(&config(&server)).unwrap();
    let validated = login.validate(&SecretString::from("access-1")).await.unwrap();
    assert_eq!(
        validated,
        Validated {
            client_id: CLIENT_ID.to_owned(),
            login: "novastreams".to_owned(),
            user_id: "141981764".to_owned(),
            scopes: vec!["bits:read".to_owned(), "moderator:read:followers".to_owned()],
            expires_in: Some(Duration::from_secs(14124)),
        }
    );
}

#[tokio::test(start_paused = true)]
async fn validate_reports_a_refused_token_as_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/validate"))
        .respond_with(twitch_error(401, "invalid access token"))
        .mount(&server)
        .await;
    let login = TwitchLogin::new(&config(&server)).unwrap();
    let error = login.validate(&SecretString::from("stale")).await.unwrap_err();
    match error {
        PlatformError::Unauthorized { platform, detail } => {
            assert_eq!(platform, Platform::Twitch);
            assert!(detail.contains("invalid access token"), "{detail}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn refresh_rotates_the_tokens_and_sends_no_client_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(tokens("access-2", "refresh-2"))
        .mount(&server)
        .await;
    let login = TwitchLogin::new(&config(&server)).unwrap();
    let old = session("access-1", Some("refresh-1"));

    let renewed = login.refresh(&old).await.unwrap();
    assert_eq!(renewed.platform, Platform::Twitch);
    assert_eq!(renewed.account, old.account);
    assert_eq!(renewed.access_token.expose_secret(), "access-2");
    assert_eq!(
        renewed.refresh_token.as_ref().unwrap().expose_secret(),
        "refresh-2"
    );
    assert_eq!(renewed.scopes, ["bits:read", "moderator:read:followers"]);
    assert!(renewed.expires_at.unwrap() > chrono::Utc::now() + chrono::TimeDelta::hours(3));

    let sent = forms_at(&server, "/token").await;
    let expected: HashMap<String, String> = [
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("refresh_token".to_owned(), "refresh-1".to_owned()),
        ("client_id".to_owned(), CLIENT_ID.to_owned()),
    ]
    .into();
    assert_eq!(sent, [expected], "exactly these fields: no client_secret");
    // The account is known: no validation needed.
    assert!(forms_at(&server, "/validate").await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_refused_refresh_means_signing_in_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(twitch_error(400, "Invalid refresh token"))
        .mount(&server)
        .await;
    let login = TwitchLogin::new(&config(&server)).unwrap();

    let error = login
        .refresh(&session("access-1", Some("refresh-1")))
        .await
        .unwrap_err();
    match &error {
        PlatformError::Unauthorized { detail, .. } => {
            assert!(detail.contains("Invalid refresh token"), "{detail}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(error.to_string().contains("sign in to twitch again"), "{error}");

    let error = login.refresh(&session("access-1", None)).await.unwrap_err();
    assert!(matches!(error, PlatformError::Unauthorized { .. }), "{error:?}");
    assert_eq!(
        forms_at(&server, "/token").await.len(),
        1,
        "nothing to send without a refresh token"
    );
}

#[tokio::test(start_paused = true)]
async fn revoke_sends_the_access_token_and_an_unknown_token_counts_as_revoked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(answer(200, json!(null)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(twitch_error(400, "Invalid token"))
        .mount(&server)
        .await;
    let login = TwitchLogin::new(&config(&server)).unwrap();
    let signed_in = session("access-1", Some("refresh-1"));

    login.revoke(&signed_in).await.unwrap();
    login.revoke(&signed_in).await.unwrap();
    let sent = forms_at(&server, "/revoke").await;
    let expected: HashMap<String, String> = [
        ("client_id".to_owned(), CLIENT_ID.to_owned()),
        ("token".to_owned(), "access-1".to_owned()),
    ]
    .into();
    assert_eq!(sent, [expected.clone(), expected]);
}

#[tokio::test(start_paused = true)]
async fn failures_become_errors_a_caller_can_act_on() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(twitch_error(503, "down"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(answer(429, json!({})).insert_header("retry-after", "7"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/device"))
        .respond_with(twitch_error(400, "invalid client"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/device"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("connection", "close")
                .set_body_string("<html>"),
        )
        .mount(&server)
        .await;
    let login = TwitchLogin::new(&config(&server)).unwrap();
    let signed_in = session("access-1", Some("refresh-1"));

    let error = login.revoke(&signed_in).await.unwrap_err();
    assert!(matches!(error, PlatformError::Unreachable { .. }), "{error:?}");
    match login.revoke(&signed_in).await.unwrap_err() {
        PlatformError::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Duration::from_secs(7))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    let error = login.begin().await.unwrap_err();
    assert!(matches!(error, PlatformError::Refused { .. }), "{error:?}");
    assert!(error.to_string().contains("client id"), "{error}");
    let error = login.begin().await.unwrap_err();
    assert!(matches!(error, PlatformError::Protocol { .. }), "{error:?}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let offline = TwitchLogin::new(&TwitchConfig {
        auth_url: closed_url,
        ..config(&server)
    })
    .unwrap();
    let error = offline.begin().await.unwrap_err();
    assert!(matches!(error, PlatformError::Unreachable { .. }), "{error:?}");
}

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

#[tokio::test(start_paused = true)]
async fn no_token_or_device_code_reaches_logs_errors_or_debug_output() {
    use tracing_subscriber::util::SubscriberInitExt;

    const SECRETS: [&str; 5] = [
        DEVICE_CODE,
        "ACCESS-tok-1",
        "REFRESH-tok-1",
        "ACCESS-tok-2",
        "REFRESH-tok-2",
    ];
    // tracing caches, per log statement, whether anyone listens to it. While only one subscriber exists it
    // asks the current thread's, so a statement first reached by another test's thread (which has none)
    // would stay muted here too. A second, idle subscriber makes it ask every subscriber instead; the
    // cache is rebuilt once more below for statements registered while this one was being set up.
    let _idle = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let captured = Captured::default();
    let writer = captured.clone();
    let _logging = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish()
        .set_default();

    let server = MockServer::start().await;
    mount_device(&server, 1800, 5).await;
    // A token answer OnAir cannot read, whose wrong-typed value is a token: the error must not quote it.
    mount_polls(
        &server,
        answer(
            200,
            json!({"access_token": "ACCESS-tok-1", "refresh_token": "REFRESH-tok-1", "expires_in": "ACCESS-tok-1"}),
        ),
        1,
    )
    .await;
    mount_polls(&server, pending(), 1).await;
    mount_approval(&server, "ACCESS-tok-1", "REFRESH-tok-1").await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(tokens("ACCESS-tok-2", "REFRESH-tok-2"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(twitch_error(400, "Invalid refresh token"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(answer(200, json!(null)))
        .mount(&server)
        .await;
    let login = TwitchLogin::new(&config(&server)).unwrap();
    let mut said = vec![format!("{login:?}")];
    tracing::callsite::rebuild_interest_cache();

    let challenge = login.begin().await.unwrap();
    said.push(format!("{challenge:?}"));
    said.push(format!("{login:?}"));
    let unreadable = login
        .complete(&challenge, LoginGrant::DeviceApproval)
        .await
        .unwrap_err();
    assert!(
        matches!(unreadable, PlatformError::Protocol { .. }),
        "{unreadable:?}"
    );
    said.push(unreadable.to_string());
    said.push(format!("{unreadable:?}"));

    let challenge = login.begin().await.unwrap();
    let signed_in = login
        .complete(&challenge, LoginGrant::DeviceApproval)
        .await
        .unwrap();
    said.push(format!("{signed_in:?}"));
    let validated = login.validate(&signed_in.access_token).await.unwrap();
    said.push(format!("{validated:?}"));

    let renewed = login.refresh(&signed_in).await.unwrap();
    said.push(format!("{renewed:?}"));
    let refused = login.refresh(&renewed).await.unwrap_err();
    said.push(refused.to_string());
    said.push(format!("{refused:?}"));
    login.revoke(&renewed).await.unwrap();

    // Twitch unreachable while revoking.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let offline = TwitchLogin::new(&TwitchConfig {
        auth_url: closed_url,
        ..config(&server)
    })
    .unwrap();
    let unreachable = offline.revoke(&renewed).await.unwrap_err();
    assert!(
        matches!(unreachable, PlatformError::Unreachable { .. }),
        "{unreachable:?}"
    );
    said.push(unreachable.to_string());
    said.push(format!("{unreachable:?}"));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for line in [
        "still waiting for the user",
        "signed in to Twitch",
        "the Twitch token was refreshed",
        "signed out of Twitch",
        "hyper_util::client",
        "reqwest::",
    ] {
        assert!(
            logs.contains(line),
            "OnAir's and the HTTP stack's lines were captured, {line:?} among them:\n{logs}"
        );
    }
    for secret in SECRETS {
        assert!(!logs.contains(secret), "{secret} leaked into the logs:\n{logs}");
        for text in &said {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}
