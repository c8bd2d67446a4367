//! The Gateway's zlib-stream transport compression: one zlib stream per connection, each message ending
//! with a sync flush (`00 00 ff ff`), possibly split across several WebSocket frames. One inflater lives as
//! long as its connection (a fresh one cannot read the stream's later messages) and frames are buffered
//! until the suffix completes a message.

use flate2::{Decompress, FlushDecompress, Status};

/// The end of every message.
const SUFFIX: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// A message that could not be inflated: the stream is broken and the connection must be replaced.
#[derive(Debug, thiserror::Error)]
pub enum InflateError {
    /// zlib refused the data.
    #[error("the Gateway's compressed stream could not be read ({0}); reconnecting")]
    Corrupt(#[from] flate2::DecompressError),
    /// The message is not text.
    #[error("the Gateway sent a message that is not UTF-8 text")]
    NotText,
}

/// One connection's inflater.
pub struct ZlibStream {
    inflater: Decompress,
    pending: Vec<u8>,
}

impl Default for ZlibStream {
    fn default() -> ZlibStream {
        ZlibStream::new()
    }
}

impl ZlibStream {
    /// A fresh stream, for a new connection.
    pub fn new() -> ZlibStream {
        ZlibStream {
            inflater: Decompress::new(true),
            pending: Vec::new(),
        }
    }

    /// Takes one binary frame; returns the message it completes, if it ends with the suffix.
    pub fn push(&mut self, frame: &[u8]) -> Result<Option<String>, InflateError> {
        self.pending.extend_from_slice(frame);
        if !self.pending.ends_with(&SUFFIX) {
            return Ok(None);
        }
        let input = std::mem::take(&mut self.pending);
        let mut out = Vec::with_capacity(input.len() * 4 + 64);
        let mut read = 0;
        loop {
            let before = self.inflater.total_in();
            let status = self
                .inflater
                .decompress_vec(&input[read..], &mut out, FlushDecompress::Sync)?;
            read += (self.inflater.total_in() - before) as usize;
            // Done when the input is used up and the output had room to spare (nothing held back).
            if status == Status::StreamEnd || (read >= input.len() && out.len() < out.capacity()) {
                break;
            }
            out.reserve(out.capacity().max(1024));
        }
        String::from_utf8(out)
            .map(Some)
            .map_err(|_| InflateError::NotText)
    }
}
