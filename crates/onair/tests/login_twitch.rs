//! `onair login twitch` and `onair logout twitch` end to end, as a user runs them: the real binary and a
//! local OAuth server (wiremock as id.twitch.tv). The code and the page are printed, Twitch is polled
//! until the user approves (once "pending" first), the session lands in the owner-only secrets file, and
//! no token or device code appears in the output, even at trace level; logging out revokes the token at
//! Twitch and forgets it.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

use common::Home;

const SECRET_WORDS: [&str; 3] = ["ACCESS-twitch", "REFRESH-twitch", "DEVICE-secret"];

fn assert_no_secret(texts: &[&str]) {
    for text in texts {
        for word in SECRET_WORDS {
            assert!(!text.contains(word), "{word} leaked into:\n{text}");
        }
    }
}

async fn twitch(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/device"))
        .and(body_string_contains("client_id=twitch-app"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "DEVICE-secret", "expires_in": 1800, "interval": 1, "user_code": "WDJBMJHT",
            "verification_uri": "https://www.twitch.tv/activate?public=true&device-code=WDJBMJHT",
        })))
        .expect(1)
        .mount(server)
        .await;
    // The user has not approved yet at the first poll.
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("device_code=DEVICE-secret"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"status": 400, "message": "authorization_pending"})),
        )
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("device_code=DEVICE-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ACCESS-twitch-1", "refresh_token": "REFRESH-twitch-1", "expires_in": 14000,
            "scope": onair_twitch::subscriptions::scopes(), "token_type": "bearer",
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/validate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "client_id": "twitch-app", "login": "nebulacast", "user_id": "52731608",
            "scopes": onair_twitch::subscriptions::scopes(), "expires_in": 14000,
        })))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_polls_until_approved_keeps_the_session_and_logout_revokes_it() {
    let server = MockServer::start().await;
    twitch(&server).await;
    let home = Home::new();
    let out = home
        .command(&server)
        .env("ONAIR_TWITCH_CLIENT_ID", "twitch-app")
        .args(["-vv", "login", "twitch", "--no-browser"])
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("enter the code WDJBMJHT")
            && stdout.contains("https://www.twitch.tv/activate?public=true&device-code=WDJBMJHT"),
        "{stdout}"
    );
    assert!(
        stdout.contains("moderator:read:followers, channel:read:subscriptions"),
        "says what it asks for:\n{stdout}"
    );
    assert!(stdout.contains("Signed in to Twitch as nebulacast"), "{stdout}");
    assert!(
        stdout.contains("twitch:nebulacast"),
        "offers the own channel:\n{stdout}"
    );
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "logs were on"
    );
    assert_no_secret(&[&stdout, &stderr]);
    let polls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/token")
        .count();
    assert_eq!(polls, 2, "pending once, then approved");
    let kept = std::fs::read_to_string(home.secrets_file()).unwrap();
    assert!(
        kept.contains("twitch.session")
            && kept.contains("ACCESS-twitch-1")
            && kept.contains("REFRESH-twitch-1"),
        "{kept}"
    );
    assert!(!kept.contains("DEVICE-secret"));
    assert!(common::owner_only(&home.secrets_file()));

    Mock::given(method("POST"))
        .and(path("/revoke"))
        .and(body_string_contains("token=ACCESS-twitch-1"))
        .and(body_string_contains("client_id=twitch-app"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let out = home
        .command(&server)
        .env("ONAIR_TWITCH_CLIENT_ID", "twitch-app")
        .args(["-vv", "logout", "twitch"])
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Signed out of twitch"), "{stdout}");
    assert_no_secret(&[&stdout, &stderr]);
    let kept = std::fs::read_to_string(home.secrets_file()).unwrap();
    assert!(
        !kept.contains("twitch.session") && !kept.contains("ACCESS-twitch"),
        "{kept}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_twitch_app_login_says_how_to_register_one() {
    let server = MockServer::start().await;
    let home = Home::new();
    let out = home
        .command(&server)
        .args(["login", "twitch", "--no-browser"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dev.twitch.tv/console/apps") && stderr.contains("ONAIR_TWITCH_CLIENT_ID"),
        "{stderr}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
