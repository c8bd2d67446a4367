//! What a connection forwarded: byte counts each way, and the complete WebSocket frames it delivered to the
//! client (found by reading the server's bytes as they are written: the HTTP response first, then, after a
//! `101`, frame headers).

use std::io::Cursor;

use tungstenite::protocol::frame::FrameHeader;

/// One complete WebSocket frame the proxy wrote to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsFrame {
    /// The opcode: 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong.
    pub opcode: u8,
    /// Whether it ends its message.
    pub fin: bool,
    /// The payload (unmasked).
    pub payload: Vec<u8>,
}

impl WsFrame {
    /// The payload of a text frame.
    pub fn text(&self) -> Option<&str> {
        (self.opcode == 1)
            .then(|| std::str::from_utf8(&self.payload).ok())
            .flatten()
    }

    /// Whether it is a close frame.
    pub fn is_close(&self) -> bool {
        self.opcode == 8
    }
}

/// Bytes forwarded by a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Traffic {
    /// Client to server.
    pub upstream: u64,
    /// Server to client.
    pub downstream: u64,
}

enum Mode {
    /// Reading the HTTP response head.
    Http,
    /// After a `101`: WebSocket frames.
    Frames,
    /// Not a WebSocket: bytes only.
    Raw,
}

/// Follows the server-to-client byte stream as it is written.
pub(crate) struct Tracker {
    mode: Mode,
    /// Bytes of the part not complete yet (the response head, or the current frame).
    pending: Vec<u8>,
    /// Where `pending` starts in the byte stream.
    offset: u64,
}

/// The longest response head followed before giving up on it.
const MAX_HEAD: usize = 64 * 1024;

impl Tracker {
    pub(crate) fn new() -> Tracker {
        Tracker {
            mode: Mode::Http,
            pending: Vec::new(),
            offset: 0,
        }
    }

    /// Takes `bytes` just written to the client; complete frames go to `out`, and where each ends in the
    /// byte stream to `ends`.
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut Vec<WsFrame>, ends: &mut Vec<u64>) {
        if matches!(self.mode, Mode::Raw) {
            return;
        }
        self.pending.extend_from_slice(bytes);
        if matches!(self.mode, Mode::Http) {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.pending) {
                Ok(httparse::Status::Complete(head)) if response.code == Some(101) => {
                    self.mode = Mode::Frames;
                    self.pending.drain(..head);
                    self.offset += head as u64;
                }
                Ok(httparse::Status::Partial) if self.pending.len() < MAX_HEAD => return,
                _ => {
                    self.mode = Mode::Raw;
                    self.pending = Vec::new();
                    return;
                }
            }
        }
        let mut start = 0;
        while let Some((header, length)) = frame_at(&self.pending[start..]) {
            let Some(end) = start
                .checked_add(header)
                .and_then(|p| p.checked_add(length))
                .filter(|&end| end <= self.pending.len())
            else {
                break;
            };
            let head = &self.pending[start..];
            let mut payload = self.pending[start + header..end].to_vec();
            if head[1] & 0x80 != 0 {
                let mask = &self.pending[start + header - 4..start + header];
                for (i, byte) in payload.iter_mut().enumerate() {
                    *byte ^= mask[i % 4];
                }
            }
            out.push(WsFrame {
                opcode: head[0] & 0x0f,
                fin: head[0] & 0x80 != 0,
                payload,
            });
            ends.push(self.offset + end as u64);
            start = end;
        }
        self.pending.drain(..start);
        self.offset += start as u64;
    }

    /// How many bytes of `next` (about to be written) to write so the stream stops inside a frame: 0 when
    /// it already is (part of a frame was written), else at least 1 and fewer than the next frame's length.
    pub(crate) fn cut_point(&self, next: &[u8]) -> usize {
        if next.is_empty() || !self.pending.is_empty() {
            return 0;
        }
        let whole = match self.mode {
            Mode::Frames => {
                frame_at(next).map_or(next.len() + 1, |(header, length)| header.saturating_add(length))
            }
            Mode::Http | Mode::Raw => next.len() + 1,
        };
        (whole.min(next.len()) / 2).max(1)
    }

    /// Whether part of a frame (or of the response head) was written and not the rest.
    pub(crate) fn mid_frame(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// The header length and payload length of the frame starting `bytes`, when its header is complete.
fn frame_at(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut cursor = Cursor::new(bytes);
    match FrameHeader::parse(&mut cursor) {
        Ok(Some((_, length))) => Some((
            usize::try_from(cursor.position()).ok()?,
            usize::try_from(length).ok()?,
        )),
        // An invalid header (reserved opcode): counted as a frame of its own header, so the tap moves on.
        Ok(None) | Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";

    fn text_frame(text: &str) -> Vec<u8> {
        let mut frame = vec![0x81];
        let length = text.len();
        if length < 126 {
            frame.push(u8::try_from(length).unwrap_or(0));
        } else {
            frame.push(126);
            frame.extend_from_slice(&u16::try_from(length).unwrap_or(0).to_be_bytes());
        }
        frame.extend_from_slice(text.as_bytes());
        frame
    }

    #[test]
    fn frames_after_the_upgrade_are_counted_whatever_the_pieces() {
        let long = "x".repeat(300);
        let mut stream = HEAD.to_vec();
        stream.extend(text_frame("hello"));
        stream.extend(text_frame(&long));
        stream.extend(text_frame("bye"));
        for piece in [1, 2, 7, 100, stream.len()] {
            let mut tracker = Tracker::new();
            let mut out = Vec::new();
            let mut ends = Vec::new();
            for chunk in stream.chunks(piece) {
                tracker.feed(chunk, &mut out, &mut ends);
            }
            let texts: Vec<_> = out.iter().filter_map(WsFrame::text).collect();
            assert_eq!(texts, ["hello", long.as_str(), "bye"], "pieces of {piece}");
            // Each frame ends where the next begins, the last at the end of the stream.
            let lengths: Vec<u64> = ["hello", long.as_str(), "bye"]
                .iter()
                .map(|t| text_frame(t).len() as u64)
                .collect();
            let head = HEAD.len() as u64;
            assert_eq!(
                ends,
                [
                    head + lengths[0],
                    head + lengths[0] + lengths[1],
                    stream.len() as u64
                ],
                "pieces of {piece}"
            );
            assert!(!tracker.mid_frame());
        }
    }

    #[test]
    fn a_response_that_is_not_an_upgrade_has_no_frames() {
        let mut tracker = Tracker::new();
        let mut out = Vec::new();
        tracker.feed(
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n\x81\x00",
            &mut out,
            &mut Vec::new(),
        );
        assert!(out.is_empty());
    }

    #[test]
    fn the_cut_point_is_inside_the_next_frame() {
        let mut tracker = Tracker::new();
        let mut out = Vec::new();
        let mut ends = Vec::new();
        tracker.feed(HEAD, &mut out, &mut ends);
        let frame = text_frame("a frame of some length");
        let cut = tracker.cut_point(&frame);
        assert!(cut >= 1 && cut < frame.len(), "{cut}");
        tracker.feed(&frame[..cut], &mut out, &mut ends);
        assert!(out.is_empty() && tracker.mid_frame());
        assert_eq!(tracker.cut_point(&frame[cut..]), 0, "already inside a frame");
        assert_eq!(Tracker::new().cut_point(b"x"), 1);
    }
}
