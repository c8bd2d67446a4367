//! No token, code or client secret reaches a log line, an error message or a `Debug` print, through a
//! whole sign-in, refresh and sign-out, and through failures (Kick down, an unreadable answer, a revoke
//! that cannot connect, whose URL carries the token). Every log line is captured at TRACE, including the
//! HTTP stack's `log` records.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use onair_core::{Login, LoginChallenge, LoginGrant, Session};
use onair_kick::{KickLogin, OAuthConfig};
use secrecy::SecretString;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRETS: [&str; 6] = [
    "ACCESS-tok-1",
    "REFRESH-tok-1",
    "ACCESS-tok-2",
    "REFRESH-tok-2",
    "CLIENT-shh",
    "CODE-xyz",
];

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

fn tokens(access: &str, refresh: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "access_token": access, "token_type": "Bearer", "expires_in": 7200, "refresh_token": refresh,
    }))
}

#[tokio::test]
async fn no_secret_reaches_logs_errors_or_debug_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let server = MockServer::start().await;
    let config = OAuthConfig {
        auth_url: server.uri(),
        api_url: server.uri(),
        ..OAuthConfig::new(
            "client-123",
            SecretString::from("CLIENT-shh"),
            "http://localhost:41477/callback",
        )
    };
    let login = KickLogin::new(config.clone()).unwrap();
    let mut said = vec![format!("{login:?}"), format!("{config:?}")];

    // A token answer OnAir cannot read, holding a token: the error must not quote it.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("{\"access_token\": \"ACCESS-tok-1\", \"oops\""),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let challenge = login.begin().await.unwrap();
    let LoginChallenge::Browser { state, .. } = &challenge else {
        panic!()
    };
    let grant = LoginGrant::Redirect {
        code: "CODE-xyz".into(),
        state: state.clone(),
    };
    said.push(login.complete(&challenge, grant).await.unwrap_err().to_string());

    // The real sign-in.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(tokens("ACCESS-tok-1", "REFRESH-tok-1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/public/v1/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [{"user_id": 1, "name": "someone"}], "message": "OK"})))
        .mount(&server)
        .await;
    let challenge = login.begin().await.unwrap();
    let LoginChallenge::Browser { state, .. } = &challenge else {
        panic!()
    };
    let grant = LoginGrant::Redirect {
        code: "CODE-xyz".into(),
        state: state.clone(),
    };
    let session: Session = login.complete(&challenge, grant).await.unwrap();
    said.push(format!("{session:?}"));

    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(tokens("ACCESS-tok-2", "REFRESH-tok-2"))
        .mount(&server)
        .await;
    let renewed = login.refresh(&session).await.unwrap();
    said.push(format!("{renewed:?}"));

    // Kick down while revoking.
    Mock::given(method("POST"))
        .and(path("/oauth/revoke"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    said.push(login.revoke(&renewed).await.unwrap_err().to_string());

    // A revoke that cannot even connect: reqwest's own error names the URL, which holds the token.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let offline = KickLogin::new(OAuthConfig {
        auth_url: closed_url,
        ..config
    })
    .unwrap();
    let error = offline.revoke(&renewed).await.unwrap_err();
    assert!(error.to_string().contains("could not reach kick"), "{error}");
    said.push(error.to_string());

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("hyper_util::client") && logs.contains("reqwest::"),
        "the HTTP stack's own lines were captured:\n{logs}"
    );
    for secret in SECRETS {
        assert!(!logs.contains(secret), "{secret} leaked into the logs:\n{logs}");
        for text in &said {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}
