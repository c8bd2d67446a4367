//! The proxy itself, over real loopback sockets: a WebSocket server (tokio-tungstenite) streaming numbered
//! text frames to a client through it. Frames are counted whatever the write sizes; a cut resets inside a
//! frame and the client got exactly the frames the tap shows; a stall keeps the socket open and silent, then
//! lets everything through in order; a refusal is `ECONNREFUSED` until lifted; latency and the bandwidth cap
//! slow delivery down by what they say; a schedule reports its steps as they happen; a reset takes back
//! from the tap what the system still held for a client that fell behind.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use onair_faultproxy::{Conditions, End, Fault, FaultProxy, Phase, Schedule, Stall, Step, WsFrame};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;

/// A WebSocket server that sends `count` frames `0`, `1`, ... (padded to `size` bytes) to each client,
/// one every `every`, then waits for the client to go.
async fn streaming_server(count: usize, size: usize, every: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                for n in 0..count {
                    let text = format!("{n:0>size$}");
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                    if !every.is_zero() {
                        tokio::time::sleep(every).await;
                    }
                }
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    addr
}

/// Connects through `proxy` and forwards every text received; the channel closes when the socket ends.
async fn client(proxy: &FaultProxy) -> mpsc::UnboundedReceiver<Result<String, String>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/", proxy.addr()))
        .await
        .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Text(text)) => {
                    let _ = tx.send(Ok(text.to_string()));
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            }
        }
    });
    rx
}

fn texts(frames: &[WsFrame]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|f| f.text().map(str::to_owned))
        .collect()
}

async fn take(rx: &mut mpsc::UnboundedReceiver<Result<String, String>>, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        got.push(rx.recv().await.unwrap().unwrap());
    }
    got
}

#[tokio::test]
async fn frames_written_in_tiny_pieces_arrive_whole_and_are_all_tapped() {
    let server = streaming_server(40, 300, Duration::ZERO).await;
    let proxy = FaultProxy::start(server).await.unwrap();
    proxy.set(Conditions::clean().with_split(1, 7));
    let mut rx = client(&proxy).await;
    let got = take(&mut rx, 40).await;
    assert_eq!(got, (0..40).map(|n| format!("{n:0>300}")).collect::<Vec<_>>());
    let conn = proxy.connection(1).await;
    let frames = conn.wait_frames(|f| f.len() >= 40).await;
    assert_eq!(texts(&frames), got);
    assert!(conn.traffic().downstream > 40 * 300);
    assert!(conn.traffic().upstream > 0, "the client's handshake went up");
}

#[tokio::test]
async fn a_cut_resets_inside_a_frame_and_the_client_got_exactly_what_the_tap_shows() {
    let server = streaming_server(10_000, 2000, Duration::from_millis(2)).await;
    let proxy = FaultProxy::start(server).await.unwrap();
    let mut rx = client(&proxy).await;
    let conn = proxy.connection(1).await;
    conn.wait_frames(|f| f.len() >= 20).await;
    let end = conn.cut().await;
    assert_eq!(end, End::Cut { mid_frame: true });
    let mut got = Vec::new();
    let error = loop {
        match timeout(Duration::from_secs(5), rx.recv()).await.unwrap() {
            Some(Ok(text)) => got.push(text),
            Some(Err(e)) => break e,
            None => panic!("the socket ended without an error"),
        }
    };
    assert!(error.to_lowercase().contains("reset"), "{error}");
    assert_eq!(got, texts(&conn.frames()));
    assert!(got.len() >= 20);
}

#[tokio::test]
async fn a_reset_takes_back_what_the_system_still_held_for_a_client_that_fell_behind() {
    // 20 MB as fast as the sockets take them, to a client that reads nothing for now: the proxy's writes
    // fill the client's receive buffer, then the proxy's own send buffer, which a reset throws away.
    let server = streaming_server(10_000, 2000, Duration::ZERO).await;
    let proxy = FaultProxy::start(server).await.unwrap();
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/", proxy.addr()))
        .await
        .unwrap();
    let conn = proxy.connection(1).await;
    conn.wait_traffic(|t| t.downstream >= 1024 * 1024).await;
    conn.reset().await;
    // The client reads what reached it, then the reset.
    let (_, mut read) = ws.split();
    let mut got = Vec::new();
    while let Ok(Some(Ok(message))) = timeout(Duration::from_secs(5), read.next()).await {
        if let Message::Text(text) = message {
            got.push(text.to_string());
        }
    }
    assert!(!got.is_empty());
    assert_eq!(
        got,
        texts(&conn.frames()),
        "the tap shows exactly what reached the client"
    );
}

#[tokio::test]
async fn a_stalled_connection_stays_open_and_silent_then_delivers_everything_in_order() {
    let server = streaming_server(30, 100, Duration::from_millis(5)).await;
    let proxy = FaultProxy::start(server).await.unwrap();
    let mut rx = client(&proxy).await;
    let conn = proxy.connection(1).await;
    take(&mut rx, 3).await;
    conn.set(Conditions::clean().with_stall(Stall::Downstream));
    // Frames already on their way may still land; then nothing.
    let delivered = texts(&conn.frames()).len();
    while rx.try_recv().is_ok() {}
    assert!(
        timeout(Duration::from_millis(300), rx.recv()).await.is_err(),
        "silence"
    );
    assert_eq!(conn.end(), None, "still open");
    assert!(texts(&conn.frames()).len() <= delivered + 1);
    conn.set(Conditions::clean());
    let frames = conn.wait_frames(|f| f.len() >= 30).await;
    assert_eq!(
        texts(&frames),
        (0..30).map(|n| format!("{n:0>100}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn refused_connections_fail_until_the_refusal_is_lifted() {
    let server = streaming_server(1, 10, Duration::ZERO).await;
    let proxy = FaultProxy::start(server).await.unwrap();
    proxy.refuse(true).await;
    let error = TcpStream::connect(proxy.addr()).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    proxy.refuse(false).await;
    let mut rx = client(&proxy).await;
    assert_eq!(take(&mut rx, 1).await, ["0000000000"]);
}

#[tokio::test]
async fn latency_and_the_bandwidth_cap_slow_delivery_by_what_they_say() {
    let server = streaming_server(1000, 1000, Duration::ZERO).await;
    let proxy = FaultProxy::start(server).await.unwrap();
    proxy.set(Conditions::clean().with_latency(Duration::from_millis(150), Duration::from_millis(20)));
    let started = Instant::now();
    let mut rx = client(&proxy).await;
    take(&mut rx, 1).await;
    // The handshake's request and answer, then the first frame: at least two trips of 150 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    proxy.set(Conditions::clean().with_bandwidth(50_000));
    let conn = proxy.connection(1).await;
    let before = conn.frames().len();
    let started = Instant::now();
    // 40 frames of 1004 bytes.
    conn.wait_frames(|f| f.len() >= before + 40).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(600),
        "40 kB at 50 kB/s took {took:?}"
    );
}

#[tokio::test]
async fn a_schedule_reports_each_step_as_it_takes_effect() {
    let server = streaming_server(100_000, 100, Duration::from_millis(1)).await;
    let proxy = FaultProxy::start(server).await.unwrap();
    let mut rx = client(&proxy).await;
    take(&mut rx, 1).await;
    let schedule = Schedule::new(vec![
        Step {
            at: Duration::from_millis(50),
            fault: Fault::Stall(Stall::Both),
            lasts: Duration::from_millis(100),
        },
        Step {
            at: Duration::from_millis(200),
            fault: Fault::Cut,
            lasts: Duration::ZERO,
        },
        Step {
            at: Duration::from_millis(250),
            fault: Fault::Refuse,
            lasts: Duration::from_millis(100),
        },
    ]);
    let started = Instant::now();
    let mut playing = proxy.play(schedule);
    let mut seen = Vec::new();
    while let Some(played) = playing.next().await {
        if played.index == 2 && played.phase == Phase::Began {
            let error = TcpStream::connect(proxy.addr()).await.unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        seen.push((played.index, played.phase, played.at - started));
    }
    let order: Vec<_> = seen.iter().map(|(i, p, _)| (*i, *p)).collect();
    assert_eq!(
        order,
        [
            (0, Phase::Began),
            (0, Phase::Ended),
            (1, Phase::Began),
            (2, Phase::Began),
            (2, Phase::Ended)
        ]
    );
    assert!(seen[0].2 >= Duration::from_millis(50) && seen[4].2 >= Duration::from_millis(350));
    let end = proxy.connection(1).await.ended().await;
    assert!(matches!(end, End::Cut { .. }), "{end:?}");
    TcpStream::connect(proxy.addr()).await.unwrap();
}
