//! The relay in the hub: its token (given through `ONAIR_RELAY_TOKEN`, else kept in the secret store,
//! made on first use), the store as the source a resuming client replays from, and the feed that hands
//! every event the store commits to the relay, in offset order.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use onair_core::{Event, Offset};
use onair_relay::{Relay, StoredEvents};
use onair_secrets::{Secrets, SecretsError};
use onair_store::{EventQuery, Store, StoreError};
use secrecy::SecretString;

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

/// Hands every event `store` commits from now on to `relay`, in offset order, until `stop`.
pub async fn feed(store: &Store, relay: &Relay, stop: impl Future<Output = ()>) -> Result<(), StoreError> {
    let mut fresh = FreshEvents::start(store).await?;
    let mut status = store.writer().status();
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
