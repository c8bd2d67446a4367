//! The relay in the hub: its token (given through `ONAIR_RELAY_TOKEN`, else kept in the secret store,
//! made on first use), the store as the source a resuming client replays from, and the feed that hands
//! every event the store commits to the relay, in offset order, and asking a running relay who is connected.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use onair_core::{Event, Offset};
use onair_relay::{Relay, RelayClients, StoredEvents};
use onair_secrets::{Secrets, SecretsError};
use onair_store::{EventQuery, Store, StoreError};
use secrecy::{ExposeSecret, SecretString};

use crate::notify::FreshEvents;

/// Gives the relay's token (for servers and tests; never logged).
pub const RELAY_TOKEN_ENV: &str = "ONAIR_RELAY_TOKEN";

/// The relay token's name in the secret store.
const TOKEN_KEY: &str = "relay.token";

/// The relay's token: [`RELAY_TOKEN_ENV`] when set, else the one kept in `secrets`, else a new random one
/// (kept there for next time).
pub async fn relay_token(secrets: &Secrets) -> Result<SecretString, SecretsError> {
    if let Some(token) = std::env::var(RELAY_TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
    {
        return Ok(SecretString::from(token));
    }
    if let Some(token) = secrets.get(TOKEN_KEY).await? {
        return Ok(token);
    }
    let token = new_token();
    secrets.set(TOKEN_KEY, &token).await?;
    Ok(token)
}

/// Replaces the kept token with a new random one, and returns it (clients with the old one are refused
/// from the relay's next start). Refused while [`RELAY_TOKEN_ENV`] sets the token.
pub async fn rotate_token(secrets: &Secrets) -> Result<SecretString, RotateError> {
    if std::env::var_os(RELAY_TOKEN_ENV).is_some_and(|t| !t.is_empty()) {
        return Err(RotateError::FromEnvironment);
    }
    let token = new_token();
    secrets.set(TOKEN_KEY, &token).await?;
    Ok(token)
}

/// Why the token could not be replaced.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The environment gives the token.
    #[error("the relay token comes from {RELAY_TOKEN_ENV}: change it there")]
    FromEnvironment,
    /// The secret store failed.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

/// A new token: 244 random bits from the system's generator, as hex.
fn new_token() -> SecretString {
    let bits = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
    SecretString::from(bits.iter().map(|u| u.simple().to_string()).collect::<String>())
}

/// The store, as the events a resuming client replays.
pub struct StoreEvents(pub Arc<Store>);

#[async_trait]
impl StoredEvents for StoreEvents {
    async fn after(&self, after: Offset, limit: u32) -> Result<Vec<Event>, String> {
        self.0
            .events(&EventQuery {
                after: Some(after),
                limit: Some(limit),
                ..EventQuery::default()
            })
            .await
            .map_err(|e| e.to_string())
    }
}

/// Hands every event committed to `store` from now on (by this process or another writing the same file)
/// to `relay`, in offset order, until `stop`.
pub async fn feed(store: &Store, relay: &Relay, stop: impl Future<Output = ()>) -> Result<(), StoreError> {
    let mut fresh = FreshEvents::start(store).await?;
    relay.set_head(fresh.position());
    let mut status = store.commits();
    tokio::pin!(stop);
    loop {
        loop {
            let events = fresh.next(store).await?;
            for event in &events {
                relay.publish(event);
            }
            if events.len() < FreshEvents::PAGE as usize {
                break;
            }
        }
        tokio::select! {
            () = &mut stop => break,
            changed = status.changed() => if changed.is_err() { break },
        }
    }
    // What was committed before the stop goes out too.
    for event in fresh.next(store).await? {
        relay.publish(&event);
    }
    Ok(())
}

/// Why the running relay could not be asked who is connected.
#[derive(Debug, thiserror::Error)]
pub enum AskRelayError {
    /// Nothing answers at the address.
    #[error(
        "no relay answers at {addr}: start one with `onair run --relay` (or the app), or give its address"
    )]
    NotRunning {
        /// The address asked.
        addr: std::net::SocketAddr,
    },
    /// The relay there has another token.
    #[error(
        "the relay at {addr} refused this token: it was started with another one (is ONAIR_RELAY_TOKEN set \
         differently there?)"
    )]
    Refused {
        /// The address asked.
        addr: std::net::SocketAddr,
    },
    /// It answered something else.
    #[error("the relay at {addr} gave an unexpected answer ({detail}); is something else listening there?")]
    Unexpected {
        /// The address asked.
        addr: std::net::SocketAddr,
        /// What went wrong, in the library's words.
        detail: String,
    },
}

/// The clients connected to the relay running at `addr`, asked with `token` (`GET /clients`).
pub async fn connected_clients(
    addr: std::net::SocketAddr,
    token: &SecretString,
) -> Result<RelayClients, AskRelayError> {
    let unexpected = |detail: String| AskRelayError::Unexpected { addr, detail };
    // Plain HTTP on the loopback, but the client is built like OnAir's others (the TLS setup they share).
    let tls = onair_pusher::tls_config().map_err(|e| unexpected(e.to_string()))?;
    let http = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .build()
        .map_err(|e| unexpected(e.to_string()))?;
    let response = http
        .get(format!("http://{addr}/clients"))
        .bearer_auth(token.expose_secret())
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                AskRelayError::NotRunning { addr }
            } else {
                unexpected(e.without_url().to_string())
            }
        })?;
    match response.status() {
        reqwest::StatusCode::OK => {}
        reqwest::StatusCode::UNAUTHORIZED => return Err(AskRelayError::Refused { addr }),
        other => return Err(unexpected(format!("HTTP {other}"))),
    }
    let body = response
        .text()
        .await
        .map_err(|e| unexpected(e.without_url().to_string()))?;
    serde_json::from_str(&body).map_err(|e| unexpected(e.to_string()))
}
