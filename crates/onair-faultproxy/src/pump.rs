//! One connection's four pumps: for each direction a reader (which stamps each chunk with the time it is
//! due, after latency and jitter, and stops reading while its direction is stalled) and a writer (which
//! waits until a chunk is due, paces it to the bandwidth cap, splits it into pieces, holds it while
//! stalled, and performs a mid-frame cut). A failure of any of them resets both sockets.

use std::io;
use std::time::Duration;

use fastrand::Rng;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};

use crate::conditions::{Conditions, Direction};
use crate::proxy::{CUT_WAIT, ConnShared, CutKind, End};
use crate::tap::Tracker;

/// Chunks in flight per direction (the delay line's length); beyond it the reader waits and TCP pushes
/// back on the sender.
const IN_FLIGHT: usize = 256;
/// The largest chunk read at once.
const CHUNK: usize = 16 * 1024;

enum Piece {
    Data {
        bytes: Vec<u8>,
        due: Instant,
    },
    /// The sender closed its direction (FIN).
    Eof,
}

/// Why a connection stops before both directions closed.
enum Stop {
    Cut { mid_frame: bool },
    Broken(String),
}

fn broken(side: &str) -> impl Fn(io::Error) -> Stop + '_ {
    move |e| Stop::Broken(format!("the {side} side failed: {e}"))
}

/// Forwards until both directions are closed, a cut, or a failure; records how it ended.
pub(crate) async fn run(conn: &ConnShared, client: TcpStream, server: TcpStream, seed: u64) {
    let (down_tx, down_rx) = mpsc::channel(IN_FLIGHT);
    let (up_tx, up_rx) = mpsc::channel(IN_FLIGHT);
    let work = async {
        tokio::try_join!(
            read(
                &server,
                "server",
                Direction::Downstream,
                conn,
                down_tx,
                Rng::with_seed(seed)
            ),
            write(
                &client,
                "client",
                Direction::Downstream,
                conn,
                down_rx,
                Rng::with_seed(seed ^ 1)
            ),
            read(
                &client,
                "client",
                Direction::Upstream,
                conn,
                up_tx,
                Rng::with_seed(seed ^ 2)
            ),
            write(
                &server,
                "server",
                Direction::Upstream,
                conn,
                up_rx,
                Rng::with_seed(seed ^ 3)
            ),
        )
    };
    let mut cut = conn.cut.subscribe();
    let result = tokio::select! {
        done = work => done.map(|_| ()),
        _ = cut.wait_for(|c| *c == Some(CutKind::Now)) => Err(Stop::Cut { mid_frame: false }),
    };
    let end = match result {
        Ok(()) => End::Closed,
        Err(stop) => {
            // What the system still holds for the client dies with the reset: it was never delivered.
            conn.withdraw(undelivered(&client).await);
            // SO_LINGER 0: closing sends a reset, not a FIN.
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
            match stop {
                Stop::Cut { mid_frame } => End::Cut { mid_frame },
                Stop::Broken(why) => End::Broken(why),
            }
        }
    };
    drop(client);
    drop(server);
    conn.finish(end);
}

/// Waits until `direction` is not stalled.
async fn flowing(conditions: &mut watch::Receiver<Conditions>, direction: Direction) {
    // The sender lives as long as the connection.
    let _ = conditions.wait_for(|c| !c.stall.holds(direction)).await;
}

async fn read(
    src: &TcpStream,
    side: &str,
    direction: Direction,
    conn: &ConnShared,
    tx: mpsc::Sender<Piece>,
    mut rng: Rng,
) -> Result<(), Stop> {
    let mut conditions = conn.conditions.subscribe();
    let mut buf = vec![0; CHUNK];
    let mut last_due = Instant::now();
    loop {
        flowing(&mut conditions, direction).await;
        let read = tokio::select! {
            ready = src.readable() => {
                ready.map_err(broken(side))?;
                src.try_read(&mut buf)
            }
            // The stall may have begun: look again.
            _ = conditions.changed() => continue,
        };
        let n = match read {
            Ok(0) => {
                let _ = tx.send(Piece::Eof).await;
                return Ok(());
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(broken(side)(e)),
        };
        let (latency, jitter) = {
            let c = conditions.borrow();
            (c.latency, c.jitter)
        };
        let extra = if jitter.is_zero() {
            Duration::ZERO
        } else {
            jitter.mul_f64(rng.f64())
        };
        // Never earlier than the chunk before it: jitter delays, it does not reorder.
        let due = (Instant::now() + latency + extra).max(last_due);
        last_due = due;
        let bytes = buf[..n].to_vec();
        if tx.send(Piece::Data { bytes, due }).await.is_err() {
            return Ok(());
        }
    }
}

async fn write(
    dst: &TcpStream,
    side: &str,
    direction: Direction,
    conn: &ConnShared,
    mut rx: mpsc::Receiver<Piece>,
    mut rng: Rng,
) -> Result<(), Stop> {
    let mut conditions = conn.conditions.subscribe();
    let mut cut = conn.cut.subscribe();
    let mut tracker = (direction == Direction::Downstream).then(Tracker::new);
    let mut next_send = Instant::now();
    let mut cut_deadline: Option<Instant> = None;
    loop {
        let piece = loop {
            if direction == Direction::Downstream && *cut.borrow_and_update() == Some(CutKind::MidFrame) {
                if tracker.as_ref().is_some_and(Tracker::mid_frame) {
                    return Err(Stop::Cut { mid_frame: true });
                }
                cut_deadline.get_or_insert_with(|| Instant::now() + CUT_WAIT);
            }
            tokio::select! {
                biased;
                _ = cut.changed() => continue,
                () = sleep_until(cut_deadline.unwrap_or_else(Instant::now)), if cut_deadline.is_some() => {
                    return Err(Stop::Cut { mid_frame: false });
                }
                piece = rx.recv() => break piece,
            }
        };
        let (bytes, due) = match piece {
            // The reader stopped without an end of stream: its failure ends the connection.
            None => return Ok(()),
            Some(Piece::Eof) => {
                let _ = socket2::SockRef::from(dst).shutdown(std::net::Shutdown::Write);
                return Ok(());
            }
            Some(Piece::Data { bytes, due }) => (bytes, due),
        };
        sleep_until(due).await;
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            flowing(&mut conditions, direction).await;
            if cut_deadline.is_some()
                && let Some(tracker) = tracker.as_mut()
            {
                let point = tracker.cut_point(rest);
                write_all(dst, &rest[..point]).await.map_err(broken(side))?;
                conn.record(direction, &rest[..point], Some(tracker));
                return Err(Stop::Cut {
                    mid_frame: tracker.mid_frame(),
                });
            }
            let (split, bandwidth) = {
                let c = conditions.borrow();
                (c.split, c.bandwidth)
            };
            let mut n = rest.len();
            if let Some((min, max)) = split {
                n = n.min(rng.usize(min..=max));
            }
            if let Some(rate) = bandwidth {
                // Pieces of at most a twentieth of a second's worth, so the pace is smooth.
                n = n.min(usize::try_from(rate / 20).unwrap_or(usize::MAX).max(1));
                sleep_until(next_send).await;
            }
            write_all(dst, &rest[..n]).await.map_err(broken(side))?;
            conn.record(direction, &rest[..n], tracker.as_mut());
            if let Some(rate) = bandwidth {
                let cost = Duration::from_secs_f64(n as f64 / rate as f64);
                next_send = next_send.max(Instant::now()) + cost;
            }
            rest = &rest[n..];
            if split.is_some() {
                // Let the client read each piece on its own.
                tokio::task::yield_now().await;
            }
            if direction == Direction::Downstream && *cut.borrow() == Some(CutKind::MidFrame) {
                cut_deadline.get_or_insert_with(|| Instant::now() + CUT_WAIT);
                if tracker.as_ref().is_some_and(Tracker::mid_frame) {
                    return Err(Stop::Cut { mid_frame: true });
                }
            }
        }
    }
}

/// The bytes written to `socket` that will never reach its peer once it is reset: what it has not
/// acknowledged, once that stops falling. A peer that reads acknowledges within its delayed-ACK time
/// (40-200 ms on Linux) and the count drops, to 0 unless it fell behind; a peer that stopped reading keeps
/// it where it is, and that is what it never gets.
async fn undelivered(socket: &TcpStream) -> u64 {
    const STEADY: Duration = Duration::from_millis(250);
    let started = Instant::now();
    let mut last = unsent(socket);
    let mut steady_since = Instant::now();
    while last > 0 && steady_since.elapsed() < STEADY && started.elapsed() < STEADY * 8 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = unsent(socket);
        if now != last {
            last = now;
            steady_since = Instant::now();
        }
    }
    last
}

/// The bytes written to `socket` that its peer has not acknowledged yet (Linux: the socket's `tx_queue`
/// in `/proc/net/tcp`, as `SIOCOUTQ` gives it); 0 where that cannot be told.
fn unsent(socket: &TcpStream) -> u64 {
    let (Ok(std::net::SocketAddr::V4(local)), Ok(std::net::SocketAddr::V4(peer))) =
        (socket.local_addr(), socket.peer_addr())
    else {
        return 0;
    };
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return 0;
    };
    // Addresses as the kernel prints them: the IPv4 address as a native-endian word, the port in hex.
    let hex =
        |a: std::net::SocketAddrV4| format!("{:08X}:{:04X}", u32::from_ne_bytes(a.ip().octets()), a.port());
    let (local, peer) = (hex(local), hex(peer));
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.get(1) == Some(&local.as_str()) && fields.get(2) == Some(&peer.as_str()))
        .and_then(|fields| fields.get(4)?.split(':').next().map(str::to_owned))
        .and_then(|tx| u64::from_str_radix(&tx, 16).ok())
        .unwrap_or(0)
}

async fn write_all(dst: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        dst.writable().await?;
        match dst.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
