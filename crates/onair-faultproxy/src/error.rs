//! What the proxy's calls fail with.

use std::net::SocketAddr;

/// A proxy that could not start or listen again.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The loopback listener could not be opened.
    #[error("the fault proxy could not listen on {addr}: {source}")]
    Listen {
        /// Where it tried.
        addr: SocketAddr,
        /// Why not.
        source: std::io::Error,
    },
}
