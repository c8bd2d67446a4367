//! Who is connected: the record kept on each client's socket (address, user agent, connected since, events
//! sent), the list the hub shows, and the handshake's token check, which throttles an address that keeps
//! giving wrong tokens.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use subtle::ConstantTimeEq;

use crate::protocol::{Filter, RelayClient, RelayClients};
use crate::session::Subscribed;

/// What the relay knows of a connected client, kept on its socket.
#[derive(Debug)]
pub(crate) struct ClientRecord {
    address: Option<SocketAddr>,
    user_agent: Option<String>,
    connected_at: DateTime<Utc>,
    events_sent: AtomicU64,
}

/// The record, shared by the socket's handlers and the publisher.
#[derive(Debug, Clone)]
pub(crate) struct Tracked(pub(crate) Arc<ClientRecord>);

impl Tracked {
    /// A record for `socket`, connected now.
    pub(crate) fn new(socket: &SocketRef) -> Tracked {
        let parts = socket.req_parts();
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect());
        Tracked(Arc::new(ClientRecord {
            address: address_of(socket),
            user_agent,
            connected_at: Utc::now(),
            events_sent: AtomicU64::new(0),
        }))
    }

    /// Counts one event sent to the client.
    pub(crate) fn sent(&self) {
        self.0.events_sent.fetch_add(1, Ordering::Relaxed);
    }
}

/// Where `socket` connects from, when the server knows.
fn address_of(socket: &SocketRef) -> Option<SocketAddr> {
    socket
        .req_parts()
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
}

/// Every connected client, oldest connection first.
pub(crate) fn list(io: &SocketIo) -> RelayClients {
    let Some(all) = io.of("/") else {
        return RelayClients::default();
    };
    let mut clients: Vec<RelayClient> = all
        .sockets()
        .into_iter()
        .filter_map(|socket| {
            let Tracked(record) = socket.extensions.get::<Tracked>()?;
            Some(RelayClient {
                id: socket.id.to_string(),
                address: record.address.map(|a| a.to_string()),
                user_agent: record.user_agent.clone(),
                filter: socket
                    .extensions
                    .get::<Subscribed>()
                    .map(|Subscribed(f)| Filter::clone(&f)),
                connected_at: record.connected_at,
                events_sent: record.events_sent.load(Ordering::Relaxed),
            })
        })
        .collect();
    clients.sort_by(|a, b| a.connected_at.cmp(&b.connected_at).then_with(|| a.id.cmp(&b.id)));
    RelayClients { clients }
}

type FailureLimiter = governor::RateLimiter<
    IpAddr,
    governor::state::keyed::DefaultKeyedStateStore<IpAddr>,
    governor::clock::DefaultClock,
>;

/// The token check of the handshake: the token compared in constant time. An address that gives wrong
/// tokens more often than the limit allows is throttled: each further wrong token is answered only after a
/// delay, and no longer logged. The right token always gets in at once, so a stale client on the same
/// machine (still holding a replaced token) never locks the others out.
pub(crate) struct Gate {
    token: SecretString,
    failures: FailureLimiter,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

/// The longest a throttled wrong token waits for its answer.
const MOST_DELAY: Duration = Duration::from_secs(2);

impl Gate {
    /// A gate for `token`, letting each address get it wrong `failures_per_minute` times a minute.
    pub(crate) fn new(token: SecretString, failures_per_minute: u32) -> Gate {
        let quota =
            governor::Quota::per_minute(NonZeroU32::new(failures_per_minute).unwrap_or(NonZeroU32::MIN));
        Gate {
            token,
            failures: governor::RateLimiter::keyed(quota),
            blocked: Mutex::default(),
        }
    }

    /// Lets `socket` in if it gave the token; the error is the `connect_error` message.
    pub(crate) async fn admit(&self, socket: &SocketRef, given: Option<&str>) -> Result<(), String> {
        let expected = self.token.expose_secret().as_bytes();
        if bool::from(given.unwrap_or_default().as_bytes().ct_eq(expected)) {
            return Ok(());
        }
        metrics::counter!(crate::metric::AUTH_REFUSED).increment(1);
        let ip = address_of(socket).map(|a| a.ip());
        let Some(ip) = ip else {
            tracing::info!(client = %socket.id, "a relay client gave a wrong token");
            return Err("unauthorized".into());
        };
        let now = Instant::now();
        let blocked_until = {
            let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
            blocked.retain(|_, until| *until > now);
            blocked.get(&ip).copied()
        };
        let wait = match blocked_until {
            Some(until) => until.saturating_duration_since(now),
            None => {
                tracing::info!(client = %socket.id, address = %ip, "a relay client gave a wrong token");
                self.failures.retain_recent();
                let Err(not_until) = self.failures.check_key(&ip) else {
                    return Err("unauthorized".into());
                };
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                tracing::warn!(address = %ip, "too many wrong relay tokens from one address; slowing it down");
                self.blocked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(ip, now + wait);
                wait
            }
        };
        tokio::time::sleep(wait.min(MOST_DELAY)).await;
        Err(throttled(wait))
    }
}

/// The refusal for a throttled address.
fn throttled(wait: Duration) -> String {
    format!(
        "unauthorized: too many wrong tokens from this address; try again in {} s",
        wait.as_secs().max(1)
    )
}
