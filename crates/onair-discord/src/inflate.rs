//! The Gateway's zlib-stream transport compression: one zlib stream per connection, each message ending
//! with a sync flush (`00 00 ff ff`), possibly split across several WebSocket frames. One inflater lives as
//! long as its connection (a fresh one cannot read the stream's later messages) and frames are buffered
//! until the suffix completes a message. A message may hold at most [`MAX_MESSAGE`] bytes, compressed
//! or inflated: a broken or hostile stream (frames that never end a message, a small message that inflates
//! to gigabytes) is an error, never the process's memory.

use flate2::{Decompress, FlushDecompress, Status};

/// The end of every message.
const SUFFIX: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The most bytes one message may take, waiting for its end or inflated: far above anything the Gateway
/// sends (as large as the WebSocket layer's own message limit).
pub const MAX_MESSAGE: usize = 64 << 20;

/// A message that could not be inflated: the stream is broken and the connection must be replaced.
#[derive(Debug, thiserror::Error)]
pub enum InflateError {
    /// zlib refused the data.
    #[error("the Gateway's compressed stream could not be read ({0}); reconnecting")]
    Corrupt(#[from] flate2::DecompressError),
    /// The message is not text.
    #[error("the Gateway sent a message that is not UTF-8 text")]
    NotText,
    /// The message is larger than [`MAX_MESSAGE`], compressed or inflated.
    #[error("the Gateway sent a message larger than {limit} bytes; reconnecting")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

/// One connection's inflater.
pub struct ZlibStream {
    inflater: Decompress,
    pending: Vec<u8>,
    limit: usize,
}

impl Default for ZlibStream {
    fn default() -> ZlibStream {
        ZlibStream::new()
    }
}

impl ZlibStream {
    /// A fresh stream, for a new connection.
    pub fn new() -> ZlibStream {
        ZlibStream::with_limit(MAX_MESSAGE)
    }

    /// A fresh stream whose messages may take at most `limit` bytes, compressed or inflated.
    pub fn with_limit(limit: usize) -> ZlibStream {
        ZlibStream {
            inflater: Decompress::new(true),
            pending: Vec::new(),
            limit,
        }
    }

    /// Takes one binary frame; returns the message it completes, if it ends with the suffix.
    pub fn push(&mut self, frame: &[u8]) -> Result<Option<String>, InflateError> {
        let limit = self.limit;
        if self.pending.len().saturating_add(frame.len()) > limit {
            self.pending = Vec::new();
            return Err(InflateError::TooLarge { limit });
        }
        self.pending.extend_from_slice(frame);
        if !self.pending.ends_with(&SUFFIX) {
            return Ok(None);
        }
        let input = std::mem::take(&mut self.pending);
        let mut out = Vec::with_capacity(input.len().saturating_mul(4).saturating_add(64).min(limit));
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
            if out.len() >= limit {
                return Err(InflateError::TooLarge { limit });
            }
            out.reserve(out.capacity().max(1024).min(limit));
        }
        String::from_utf8(out)
            .map(Some)
            .map_err(|_| InflateError::NotText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    /// `text` compressed as one message of a fresh stream (a sync flush at its end).
    fn message(text: &[u8]) -> Vec<u8> {
        let mut compress = Compress::new(Compression::best(), true);
        let mut out = Vec::with_capacity(text.len() + 1024);
        compress
            .compress_vec(text, &mut out, FlushCompress::Sync)
            .expect("compressed");
        assert!(out.ends_with(&SUFFIX) && compress.total_in() == text.len() as u64);
        out
    }

    #[test]
    fn a_message_that_inflates_past_the_limit_is_an_error_not_the_memory() {
        // 1 MiB of one byte compresses to about a kilobyte: a small frame, a large message.
        let bomb = message(&vec![b'a'; 1 << 20]);
        assert!(bomb.len() < 8 * 1024, "{}", bomb.len());
        let mut stream = ZlibStream::with_limit(64 * 1024);
        let error = stream.push(&bomb).expect_err("over the limit");
        assert!(
            matches!(error, InflateError::TooLarge { limit: 65536 }),
            "{error}"
        );
        assert!(error.to_string().contains("larger than 65536 bytes"), "{error}");
    }

    #[test]
    fn frames_that_never_end_a_message_are_an_error_past_the_limit() {
        let mut stream = ZlibStream::with_limit(1000);
        for _ in 0..3 {
            assert!(matches!(stream.push(&[0x78; 300]), Ok(None)));
        }
        let error = stream.push(&[0x78; 300]).expect_err("over the limit");
        assert!(matches!(error, InflateError::TooLarge { limit: 1000 }), "{error}");
    }

    #[test]
    fn a_message_within_the_limit_comes_whole() {
        let text = vec![b'a'; 60 * 1024];
        let mut stream = ZlibStream::with_limit(64 * 1024);
        let inflated = stream
            .push(&message(&text))
            .expect("inflated")
            .expect("a whole message");
        assert_eq!(inflated.len(), text.len());
    }
}
