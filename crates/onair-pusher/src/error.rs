//! The errors a caller of the client can get back, each saying what happened and what to do.

/// Why a request to the client was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PusherError {
    /// Too many frames wait to be sent (the client sends at most a few per second).
    #[error("{capacity} frames are already waiting to be sent to the Pusher server; try again in a moment")]
    QueueFull {
        /// How many caller frames the queue holds.
        capacity: usize,
    },
    /// A client event needs a live connection.
    #[error("not connected to the Pusher server; wait for the connection before sending")]
    NotConnected,
    /// The channel or event name cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// The client was shut down (or its task ended).
    #[error("the Pusher client has stopped")]
    Stopped,
}
