//! Accounts in a real secrets file, and keeping a session fresh on tokio's paused clock: renewed ten
//! minutes ahead of each expiry and saved, a failure that may pass retried a minute later, a refusal ends
//! with "sign in again" and the account kept for the user to see.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use onair::accounts::{Account, Accounts, FreshnessEnd, keep_fresh};
use onair_core::{Actor, Login, LoginChallenge, LoginGrant, Platform, PlatformError, Session};
use onair_secrets::Secrets;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn session(access: &str, expires_in: chrono::Duration) -> Session {
    Session {
        platform: Platform::Kick,
        account: Actor::new("4242", "novastreams"),
        scopes: vec!["user:read".into()],
        access_token: SecretString::from(access.to_owned()),
        refresh_token: Some(SecretString::from(format!("refresh-of-{access}"))),
        expires_at: Some(Utc::now() + expires_in),
    }
}

/// A platform whose refreshes answer from a script, noting when each was asked (tokio's clock).
struct Scripted {
    answers: Mutex<Vec<Result<(), PlatformError>>>,
    asked: Mutex<Vec<(Instant, String)>>,
}

#[async_trait]
impl Login for Scripted {
    fn platform(&self) -> Platform {
        Platform::Kick
    }
    async fn begin(&self) -> Result<LoginChallenge, PlatformError> {
        unreachable!()
    }
    async fn complete(&self, _: &LoginChallenge, _: LoginGrant) -> Result<Session, PlatformError> {
        unreachable!()
    }
    async fn refresh(&self, current: &Session) -> Result<Session, PlatformError> {
        let mut asked = self.asked.lock().unwrap();
        asked.push((Instant::now(), current.access_token.expose_secret().to_owned()));
        let n = asked.len();
        self.answers.lock().unwrap().remove(0)?;
        Ok(session(&format!("access-{n}"), chrono::Duration::hours(2)))
    }
    async fn revoke(&self, _: &Session) -> Result<(), PlatformError> {
        unreachable!()
    }
}

#[tokio::test]
async fn an_account_is_kept_in_the_secret_store_and_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.toml");
    let accounts = Accounts::new(Secrets::file(file.clone()));
    assert!(accounts.load(Platform::Kick).await.unwrap().is_none());
    let account = Account {
        session: session("access-0", chrono::Duration::hours(2)),
        own_channel: Some("novastreams".into()),
    };
    accounts.save(&account).await.unwrap();

    let again = Accounts::new(Secrets::file(file.clone()))
        .load(Platform::Kick)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.session.account, account.session.account);
    assert_eq!(again.session.access_token.expose_secret(), "access-0");
    assert_eq!(
        again.session.refresh_token.unwrap().expose_secret(),
        "refresh-of-access-0"
    );
    assert_eq!(again.session.expires_at, account.session.expires_at);
    assert_eq!(again.own_channel.as_deref(), Some("novastreams"));
    assert!(accounts.load(Platform::Twitch).await.unwrap().is_none());

    assert!(accounts.forget(Platform::Kick).await.unwrap());
    assert!(accounts.load(Platform::Kick).await.unwrap().is_none());
    assert!(!std::fs::read_to_string(&file).unwrap().contains("access-0"));
}

#[tokio::test(start_paused = true)]
async fn a_session_is_renewed_ahead_of_each_expiry_until_the_platform_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::new(Secrets::file(dir.path().join("secrets.toml")));
    let login = Scripted {
        answers: Mutex::new(vec![
            Ok(()),
            Err(PlatformError::Unreachable {
                platform: Platform::Kick,
                detail: "offline".into(),
            }),
            Ok(()),
            Err(PlatformError::Unauthorized {
                platform: Platform::Kick,
                detail: "invalid_grant".into(),
            }),
        ]),
        asked: Mutex::new(Vec::new()),
    };
    // Expires in 5 minutes: inside the 10-minute margin, so renewed at once.
    let account = Account {
        session: session("access-0", chrono::Duration::minutes(5)),
        own_channel: None,
    };
    accounts.save(&account).await.unwrap();
    let start = Instant::now();

    let end = keep_fresh(&login, &accounts, account, CancellationToken::new()).await;
    assert!(
        matches!(end, FreshnessEnd::SignInAgain(PlatformError::Unauthorized { .. })),
        "{end:?}"
    );

    let asked = login.asked.lock().unwrap().clone();
    let at: Vec<u64> = asked.iter().map(|(when, _)| (*when - start).as_secs()).collect();
    let tokens: Vec<&str> = asked.iter().map(|(_, token)| token.as_str()).collect();
    // At once; 1 h 50 min later (2 h tokens, 10 min ahead); a minute after that failure; then 1 h 50 min.
    let first_renewal = 110 * 60;
    assert_eq!(at.len(), 4, "{at:?}");
    assert_eq!(at[0], 0);
    assert!((first_renewal - 2..=first_renewal + 2).contains(&at[1]), "{at:?}");
    assert!((at[1] + 60..=at[1] + 62).contains(&at[2]), "{at:?}");
    assert!(
        (at[2] + first_renewal - 2..=at[2] + first_renewal + 2).contains(&at[3]),
        "{at:?}"
    );
    assert_eq!(
        tokens,
        ["access-0", "access-1", "access-1", "access-3"],
        "each renewal starts from the last saved"
    );

    // The last good session was saved, and stays for the user to see.
    let saved = accounts.load(Platform::Kick).await.unwrap().unwrap();
    assert_eq!(saved.session.access_token.expose_secret(), "access-3");
}

#[tokio::test(start_paused = true)]
async fn stopping_ends_the_wait_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::new(Secrets::file(dir.path().join("secrets.toml")));
    let login = Scripted {
        answers: Mutex::new(vec![]),
        asked: Mutex::new(Vec::new()),
    };
    let account = Account {
        session: session("access-0", chrono::Duration::hours(2)),
        own_channel: None,
    };
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        stopper.cancel();
    });
    let end = keep_fresh(&login, &accounts, account, stop).await;
    assert!(matches!(end, FreshnessEnd::Stopped), "{end:?}");
    assert!(login.asked.lock().unwrap().is_empty());
}
