//! Opening a connection: the WebSocket (rustls with ring and the webpki roots), the wait for
//! `pusher:connection_established`, and cluster detection (every candidate probed at once, the first to accept
//! the app key wins and its socket is kept).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::config::{Cluster, Endpoint, PusherConfig};
use crate::frame::{self, ErrorData, Established};
use crate::policy::{self, Next};

/// The socket type.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A socket the server said hello on.
pub(crate) struct Opened {
    pub socket: Socket,
    pub established: Established,
    /// The cluster chosen by detection, when there was one.
    pub cluster: Option<Cluster>,
}

/// Opens a connection to the configured endpoint, detecting the cluster first when none is cached.
pub(crate) async fn open(config: &PusherConfig) -> Result<Opened, Next> {
    match &config.endpoint {
        Endpoint::Url(url) => handshake(url, config).await.map(|(socket, established)| Opened {
            socket,
            established,
            cluster: None,
        }),
        Endpoint::Detect { candidates, fallback } => {
            let cached = config.cluster_cache.get();
            if let Some(cluster) = candidates.iter().find(|c| Some(&c.name) == cached.as_ref()) {
                match handshake(&cluster.url, config).await {
                    Ok((socket, established)) => {
                        return Ok(Opened {
                            socket,
                            established,
                            cluster: Some(cluster.clone()),
                        });
                    }
                    // The cached cluster refuses the key now: forget it and look again.
                    Err(Next::GiveUp(reason)) => {
                        tracing::warn!(cluster = %cluster.name, %reason, "the cached cluster refused the key");
                        config.cluster_cache.set(None);
                    }
                    Err(other) => return Err(other),
                }
            }
            if let Some(opened) = detect(candidates, config).await {
                if let Some(cluster) = &opened.cluster {
                    tracing::info!(cluster = %cluster.name, "chose the fastest Pusher cluster that accepts the key");
                    config.cluster_cache.set(Some(cluster.name.clone()));
                }
                return Ok(opened);
            }
            tracing::warn!(cluster = %fallback.name, "no candidate cluster accepted the key; trying the fallback");
            let (socket, established) = handshake(&fallback.url, config).await?;
            Ok(Opened {
                socket,
                established,
                cluster: Some(fallback.clone()),
            })
        }
    }
}

/// Probes every candidate at once; the first to say hello wins, the others are dropped.
async fn detect(candidates: &[Cluster], config: &PusherConfig) -> Option<Opened> {
    let config = Arc::new(config.clone());
    let mut probes = JoinSet::new();
    for cluster in candidates {
        let cluster = cluster.clone();
        let config = Arc::clone(&config);
        probes.spawn(async move {
            let result = handshake(&cluster.url, &config).await;
            (cluster, result)
        });
    }
    while let Some(joined) = probes.join_next().await {
        let Ok((cluster, result)) = joined else { continue };
        match result {
            Ok((socket, established)) => {
                return Some(Opened {
                    socket,
                    established,
                    cluster: Some(cluster),
                });
            }
            Err(next) => {
                tracing::debug!(cluster = %cluster.name, reason = next.reason(), "cluster ruled out")
            }
        }
    }
    None
}

/// Opens the socket at `url` and waits for `pusher:connection_established`, each within the connect timeout.
async fn handshake(url: &str, config: &PusherConfig) -> Result<(Socket, Established), Next> {
    let host = host_of(url);
    let request = url.into_client_request().map_err(|e| {
        Next::GiveUp(format!(
            "The Pusher address {url:?} is not a valid WebSocket URL ({e}); fix it in the settings."
        ))
    })?;
    let limits = WebSocketConfig::default()
        // Oversized frames are skipped by the client, not refused by the transport (which would drop the
        // connection); this only bounds memory.
        .max_message_size(Some(16 * config.max_frame_bytes.max(1 << 16)))
        .max_frame_size(Some(16 * config.max_frame_bytes.max(1 << 16)));
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(limits), true, Some(connector()));
    let (mut socket, _) = timeout(config.connect_timeout, connecting)
        .await
        .map_err(|_| {
            Next::Backoff(format!(
                "No answer from {host} within {}.",
                secs(config.connect_timeout)
            ))
        })?
        .map_err(|e| connect_error(&host, e))?;
    let established = timeout(config.connect_timeout, hello(&mut socket, config.max_frame_bytes))
        .await
        .map_err(|_| {
            Next::Backoff(format!(
                "{host} accepted the connection but did not say hello within {}.",
                secs(config.connect_timeout)
            ))
        })??;
    Ok((socket, established))
}

/// Reads until the server's hello, an error or the end.
async fn hello(socket: &mut Socket, limit: usize) -> Result<Established, Next> {
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Text(text)) => {
                let frame = match frame::parse(&text, limit) {
                    Ok(frame) => frame,
                    Err(e) => {
                        tracing::warn!(error = %e, "skipping a malformed frame before the hello");
                        continue;
                    }
                };
                match frame.event.as_str() {
                    "pusher:connection_established" => {
                        return frame.data.decode::<Established>().ok().ok_or_else(|| {
                            Next::Backoff(
                                "The Pusher server's hello had no socket id; it does not speak protocol 7."
                                    .to_owned(),
                            )
                        });
                    }
                    "pusher:error" => {
                        let error: ErrorData = frame.data.decode().unwrap_or_default();
                        return Err(policy::pusher_error(&error).unwrap_or_else(|| {
                            let message = error.message.unwrap_or_default();
                            Next::Backoff(format!("The Pusher server refused the connection: {message}"))
                        }));
                    }
                    other => tracing::debug!(event = other, "ignoring a frame before the hello"),
                }
            }
            Ok(Message::Close(frame)) => return Err(closed(frame)),
            Ok(_) => {}
            Err(e) => {
                return Err(Next::Backoff(format!(
                    "The connection was lost during the hello: {e}."
                )));
            }
        }
    }
    Err(Next::Backoff(
        "The Pusher server closed the connection before saying hello.".to_owned(),
    ))
}

/// What a close frame means.
pub(crate) fn closed(frame: Option<tungstenite::protocol::CloseFrame>) -> Next {
    match frame {
        Some(frame) => policy::close_code(u16::from(frame.code), &frame.reason),
        None => Next::Backoff("The Pusher server closed the connection without a code.".to_owned()),
    }
}

/// Plain words for a failed connect.
fn connect_error(host: &str, error: tungstenite::Error) -> Next {
    match error {
        tungstenite::Error::Http(response) => Next::Backoff(format!(
            "{host} answered HTTP {} instead of opening a WebSocket.",
            response.status()
        )),
        tungstenite::Error::Url(e) => Next::GiveUp(format!(
            "The Pusher address for {host} is not usable ({e}); fix it in the settings."
        )),
        tungstenite::Error::Io(e) => Next::Backoff(format!("Could not reach {host}: {e}.")),
        tungstenite::Error::Tls(e) => {
            Next::Backoff(format!("Could not open a secure connection to {host}: {e}."))
        }
        other => Next::Backoff(format!("Could not connect to {host}: {other}.")),
    }
}

/// `host[:port]` of a URL, for messages (the rest of the URL is noise to people).
pub(crate) fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest).to_owned()
}

/// A duration in words: `10 s`, `1.5 s`.
fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The TLS setup OnAir's clients share: rustls with the ring provider and the Mozilla roots, built once.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    static TLS: OnceLock<Result<Arc<rustls::ClientConfig>, rustls::Error>> = OnceLock::new();
    TLS.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let builder =
            rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()?;
        Ok(Arc::new(
            builder.with_root_certificates(roots).with_no_client_auth(),
        ))
    })
    .clone()
}

/// The WebSocket's TLS connector.
fn connector() -> Connector {
    match tls_config() {
        Ok(tls) => Connector::Rustls(tls),
        Err(e) => {
            tracing::error!(error = %e, "TLS setup failed; wss:// connections will fail");
            Connector::Plain
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_cut_out_of_urls() {
        assert_eq!(
            host_of("wss://ws-us2.pusher.com/app/k?protocol=7"),
            "ws-us2.pusher.com"
        );
        assert_eq!(host_of("ws://127.0.0.1:6001/app/k"), "127.0.0.1:6001");
        assert_eq!(host_of("nonsense"), "nonsense");
    }

    #[test]
    fn the_tls_connector_builds() {
        assert!(matches!(connector(), Connector::Rustls(_)));
    }
}
