//! Signing in to Kick against a local OAuth server (wiremock playing id.kick.com and api.kick.com): the
//! authorize URL and its PKCE pair, a forged or reused state refused before Kick is asked, the code
//! exchange, refresh, revoke, and errors a user can act on.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use onair_core::{Login, LoginChallenge, LoginGrant, PlatformError, Session};
use onair_kick::{KickLogin, OAuthConfig};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REDIRECT: &str = "http://localhost:41477/callback";

fn config(server: &MockServer) -> OAuthConfig {
    OAuthConfig {
        auth_url: server.uri(),
        api_url: server.uri(),
        ..OAuthConfig::new("client-123", SecretString::from("shh-secret"), REDIRECT)
    }
}

fn tokens(access: &str, refresh: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 7200,
        "refresh_token": refresh,
        "scope": "user:read channel:read",
    }))
}

async fn mount_account(server: &MockServer, access: &str) {
    Mock::given(method("GET"))
        .and(path("/public/v1/users"))
        .and(header("authorization", format!("Bearer {access}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [{"user_id": 4242, "name": "NovaStreams", "email": "n@example.invalid", "profile_picture": ""}],
            "message": "OK",
        })))
        .mount(server)
        .await;
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

fn state_of(challenge: &LoginChallenge) -> String {
    match challenge {
        LoginChallenge::Browser { state, .. } => state.clone(),
        other => panic!("expected a browser challenge, got {other:?}"),
    }
}

async fn signed_in(server: &MockServer, login: &KickLogin) -> Session {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(tokens("access-1", "refresh-1"))
        .mount(server)
        .await;
    mount_account(server, "access-1").await;
    let challenge = login.begin().await.unwrap();
    let state = state_of(&challenge);
    login
        .complete(
            &challenge,
            LoginGrant::Redirect {
                code: "the-code".into(),
                state,
            },
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn the_authorize_url_carries_state_and_an_s256_challenge_that_the_verifier_matches() {
    let server = MockServer::start().await;
    let login = KickLogin::new(config(&server)).unwrap();
    let challenge = login.begin().await.unwrap();
    let LoginChallenge::Browser { authorize_url, state } = &challenge else {
        panic!()
    };
    assert!(
        authorize_url.starts_with(&format!("{}/oauth/authorize?", server.uri())),
        "{authorize_url}"
    );
    let params = query(authorize_url);
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], "client-123");
    assert_eq!(params["redirect_uri"], REDIRECT);
    assert_eq!(params["scope"], "user:read channel:read");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(&params["state"], state);
    assert!(state.len() >= 16, "the state is unguessable: {state}");
    assert!(
        !authorize_url.contains("shh-secret"),
        "the secret never goes to the browser"
    );

    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("client_id=client-123"))
        .and(body_string_contains("client_secret=shh-secret"))
        .respond_with(tokens("access-1", "refresh-1"))
        .expect(1)
        .mount(&server)
        .await;
    mount_account(&server, "access-1").await;
    let session = login
        .complete(
            &challenge,
            LoginGrant::Redirect {
                code: "the-code".into(),
                state: state.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(session.account.id, "4242");
    assert_eq!(session.account.display_name, "NovaStreams");
    assert_eq!(session.access_token.expose_secret(), "access-1");
    assert_eq!(
        session.refresh_token.as_ref().unwrap().expose_secret(),
        "refresh-1"
    );
    assert_eq!(session.scopes, ["user:read", "channel:read"]);
    let left = session.expires_at.unwrap() - chrono::Utc::now();
    assert!(
        (7100..=7200).contains(&left.num_seconds()),
        "expires in about 2 h: {left}"
    );

    // The verifier sent with the code is the one whose SHA-256 the authorize URL carried.
    let requests = server.received_requests().await.unwrap();
    let exchange = requests.iter().find(|r| r.url.path() == "/oauth/token").unwrap();
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&exchange.body).into_owned().collect();
    let verifier = &form["code_verifier"];
    assert!(
        (43..=128).contains(&verifier.len()),
        "RFC 7636 verifier length: {}",
        verifier.len()
    );
    let challenge_of_verifier =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    assert_eq!(challenge_of_verifier, params["code_challenge"]);
    assert_eq!(form["redirect_uri"], REDIRECT);
}

#[tokio::test]
async fn a_forged_or_reused_state_is_refused_before_kick_is_asked() {
    let server = MockServer::start().await;
    let login = KickLogin::new(config(&server)).unwrap();
    let challenge = login.begin().await.unwrap();
    let forged = LoginGrant::Redirect {
        code: "the-code".into(),
        state: "someone-elses-state".into(),
    };
    let error = login.complete(&challenge, forged).await.unwrap_err();
    assert!(matches!(error, PlatformError::SignInAborted { .. }), "{error:?}");
    assert!(error.to_string().contains("start it again"), "{error}");

    // The challenge is spent: even its right state cannot be replayed.
    let state = state_of(&challenge);
    let replay = login
        .complete(
            &challenge,
            LoginGrant::Redirect {
                code: "the-code".into(),
                state,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(replay, PlatformError::SignInAborted { .. }),
        "{replay:?}"
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "Kick was never asked"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_says_where_to_fix_it() {
    let server = MockServer::start().await;
    let login = KickLogin::new(config(&server)).unwrap();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(serde_json::json!({"error": "invalid_client"})),
        )
        .mount(&server)
        .await;
    let challenge = login.begin().await.unwrap();
    let state = state_of(&challenge);
    let error = login
        .complete(
            &challenge,
            LoginGrant::Redirect {
                code: "c".into(),
                state,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, PlatformError::Unauthorized { .. }), "{error:?}");
    assert!(
        error.to_string().contains("client id or secret is wrong"),
        "{error}"
    );
}

#[tokio::test]
async fn refresh_renews_the_tokens_and_keeps_the_account() {
    let server = MockServer::start().await;
    let login = KickLogin::new(config(&server)).unwrap();
    let session = signed_in(&server, &login).await;

    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .and(body_string_contains("client_secret=shh-secret"))
        .respond_with(tokens("access-2", "refresh-2"))
        .expect(1)
        .mount(&server)
        .await;
    let renewed = login.refresh(&session).await.unwrap();
    assert_eq!(renewed.access_token.expose_secret(), "access-2");
    assert_eq!(
        renewed.refresh_token.as_ref().unwrap().expose_secret(),
        "refresh-2"
    );
    assert_eq!(renewed.account, session.account);
    let account_lookups = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/public/v1/users")
        .count();
    assert_eq!(account_lookups, 1, "a refresh does not look the account up again");
}

#[tokio::test]
async fn a_refresh_token_kick_no_longer_knows_means_signing_in_again() {
    let server = MockServer::start().await;
    let login = KickLogin::new(config(&server)).unwrap();
    let session = signed_in(&server, &login).await;
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant"})))
        .mount(&server)
        .await;
    let error = login.refresh(&session).await.unwrap_err();
    assert!(matches!(error, PlatformError::Unauthorized { .. }), "{error:?}");
    assert!(error.to_string().contains("sign in to kick again"), "{error}");
}

#[tokio::test]
async fn revoke_sends_each_token_in_the_query_as_kick_documents() {
    let server = MockServer::start().await;
    let login = KickLogin::new(config(&server)).unwrap();
    let session = signed_in(&server, &login).await;
    for (token, hint) in [("refresh-1", "refresh_token"), ("access-1", "access_token")] {
        Mock::given(method("POST"))
            .and(path("/oauth/revoke"))
            .and(query_param("token", token))
            .and(query_param("token_hint_type", hint))
            .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
            .expect(1)
            .mount(&server)
            .await;
    }
    login.revoke(&session).await.unwrap();
}

#[tokio::test]
async fn the_own_channel_is_read_with_the_users_token() {
    let server = MockServer::start().await;
    let login = KickLogin::new(config(&server)).unwrap();
    let session = signed_in(&server, &login).await;
    Mock::given(method("GET"))
        .and(path("/public/v1/channels"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [{"broadcaster_user_id": 4242, "slug": "novastreams", "stream_title": "hi",
                      "channel_description": "", "category": {"id": 1, "name": "Just Chatting"}}],
            "message": "OK",
        })))
        .mount(&server)
        .await;
    let own = login.own_channel(&session).await.unwrap();
    assert_eq!(own.slug, "novastreams");
    assert_eq!(own.user_id, "4242");
}
