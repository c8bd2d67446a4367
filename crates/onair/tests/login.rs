//! `onair login kick` and `onair logout kick` end to end, as a user runs them: the real binary, a local
//! OAuth server (wiremock as id.kick.com and api.kick.com), and this test playing the browser (it opens
//! the printed page's redirect with a code, as Kick would). Secrets go to the owner-only file (no keychain
//! here); no token, code or client secret appears in the output, even at trace level.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use onair_secrets::Secrets;
use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

use common::Home;

const SECRET_WORDS: [&str; 4] = ["ACCESS-tok", "REFRESH-tok", "CLIENT-shh", "CODE-from-kick"];

async fn kick_app_and_account(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("code=CODE-from-kick"))
        .and(body_string_contains("client_secret=CLIENT-shh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "ACCESS-tok-1", "token_type": "Bearer", "expires_in": 7200,
            "refresh_token": "REFRESH-tok-1", "scope": "user:read channel:read",
        })))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/public/v1/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [{"user_id": 4242, "name": "NovaStreams"}], "message": "OK"})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/public/v1/channels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [{"broadcaster_user_id": 4242, "slug": "novastreams"}], "message": "OK"})))
        .mount(server)
        .await;
}

/// Runs `onair -vv login kick`, plays the browser with `query` (given the state), and returns the exit
/// status, stdout and stderr.
async fn log_in(home: &Home, server: &MockServer, query: impl Fn(&str) -> String) -> (bool, String, String) {
    let mut child = home
        .command(server)
        .args([
            "-vv",
            "login",
            "kick",
            "--client-id",
            "client-123",
            "--port",
            "0",
            "--no-browser",
        ])
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let drain = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.unwrap();
        text
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = String::new();
    let authorize = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            stdout.push_str(&line);
            stdout.push('\n');
            if let Some(at) = line.find("http")
                && line.contains("/oauth/authorize?")
            {
                return url::Url::parse(line[at..].trim()).unwrap();
            }
        }
        panic!("no sign-in page printed:\n{stdout}");
    })
    .await
    .unwrap();
    let params: std::collections::HashMap<String, String> = authorize.query_pairs().into_owned().collect();
    let redirect = &params["redirect_uri"];
    assert!(
        redirect.starts_with("http://localhost:") && redirect.ends_with("/callback"),
        "{redirect}"
    );

    // The browser returns.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let page = reqwest::get(format!("{redirect}?{}", query(&params["state"])))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("close this tab"), "{page}");

    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        stdout.push_str(&line);
        stdout.push('\n');
    }
    (status.success(), stdout, drain.await.unwrap())
}

fn assert_no_secret(texts: &[&str]) {
    for text in texts {
        for word in SECRET_WORDS {
            assert!(!text.contains(word), "{word} leaked into:\n{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_keeps_the_session_in_the_secret_store_and_logout_revokes_it() {
    let server = MockServer::start().await;
    kick_app_and_account(&server).await;
    let home = Home::new();
    // The client secret given at an earlier sign-in.
    Secrets::file(home.secrets_file())
        .set("kick.client-secret", &SecretString::from("CLIENT-shh"))
        .await
        .unwrap();

    let (ok, stdout, stderr) = log_in(&home, &server, |state| {
        format!("code=CODE-from-kick&state={state}")
    })
    .await;
    assert!(ok, "login failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("Signed in to Kick as NovaStreams"), "{stdout}");
    assert!(
        stdout.contains("kick:novastreams"),
        "the own channel is offered:\n{stdout}"
    );
    assert!(
        stdout.contains("secrets.toml"),
        "says where the secrets went:\n{stdout}"
    );
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "logs were on:\n{stderr}"
    );
    assert_no_secret(&[&stdout, &stderr]);

    let kept = std::fs::read_to_string(home.secrets_file()).unwrap();
    assert!(
        kept.contains("kick.session") && kept.contains("ACCESS-tok-1"),
        "{kept}"
    );
    assert!(common::owner_only(&home.secrets_file()));
    for other in ["onair.db", "config"] {
        let path = home.dir.path().join(other);
        if path.is_file() {
            assert!(
                !std::fs::read(&path)
                    .unwrap()
                    .windows(10)
                    .any(|w| w == b"ACCESS-tok")
            );
        }
    }

    for (token, hint) in [
        ("REFRESH-tok-1", "refresh_token"),
        ("ACCESS-tok-1", "access_token"),
    ] {
        Mock::given(method("POST"))
            .and(path("/oauth/revoke"))
            .and(query_param("token", token))
            .and(query_param("token_hint_type", hint))
            .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
            .expect(1)
            .mount(&server)
            .await;
    }
    let out = home
        .command(&server)
        .args(["-vv", "logout", "kick"])
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Signed out of kick"), "{stdout}");
    assert_no_secret(&[&stdout, &stderr]);
    let kept = std::fs::read_to_string(home.secrets_file()).unwrap();
    assert!(
        !kept.contains("kick.session") && !kept.contains("ACCESS-tok"),
        "{kept}"
    );

    let again = home
        .command(&server)
        .args(["logout", "kick"])
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("Not signed in"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_in_the_browser_ends_with_a_clear_message_and_keeps_nothing() {
    let server = MockServer::start().await;
    let home = Home::new();
    Secrets::file(home.secrets_file())
        .set("kick.client-secret", &SecretString::from("CLIENT-shh"))
        .await
        .unwrap();
    let (ok, stdout, stderr) = log_in(&home, &server, |state| {
        format!("error=access_denied&error_description=The+user+declined&state={state}")
    })
    .await;
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("did not finish") && stderr.contains("access_denied"),
        "{stderr}"
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no code was exchanged"
    );
    let kept = std::fs::read_to_string(home.secrets_file()).unwrap();
    assert!(!kept.contains("kick.session"), "{kept}");
}

#[tokio::test]
async fn without_an_app_the_user_is_told_how_to_make_one() {
    let server = MockServer::start().await;
    let home = Home::new();
    let out = home
        .command(&server)
        .args(["login", "kick"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kick.com/settings/developer") && stderr.contains("http://localhost:41477/callback"),
        "{stderr}"
    );
}
