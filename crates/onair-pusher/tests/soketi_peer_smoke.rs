//! The soketi test peer itself works: a raw WebSocket client connects, subscribes (public and private), gets
//! an event triggered through the signed HTTP API, is refused with 4001 under a wrong key, and connects
//! again after the server is killed and restarted on the same port.

#![allow(clippy::unwrap_used)] // A failed unwrap is how a test reports.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::soketi::Soketi;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// A raw client connection.
type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any one expected frame may take.
const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// The next text frame as JSON (skipping WebSocket pings and pongs); `None` when the connection ends.
async fn next_frame(ws: &mut Ws) -> Option<Value> {
    loop {
        let message = timeout(FRAME_TIMEOUT, ws.next())
            .await
            .expect("a frame within the timeout");
        match message {
            None | Some(Err(_) | Ok(Message::Close(_))) => return None,
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(_)) => {}
        }
    }
}

/// Reads frames until one has the event `event`, and returns it.
async fn frame_with_event(ws: &mut Ws, event: &str) -> Value {
    loop {
        let frame = next_frame(ws)
            .await
            .unwrap_or_else(|| panic!("connection ended while waiting for {event}"));
        if frame["event"] == event {
            return frame;
        }
    }
}

/// Connects to `url`, reads `pusher:connection_established` and returns the connection and its socket id.
async fn connect(url: &str) -> (Ws, String) {
    let (mut ws, _) = connect_async(url).await.unwrap();
    let established = frame_with_event(&mut ws, "pusher:connection_established").await;
    let data: Value = serde_json::from_str(established["data"].as_str().unwrap()).unwrap();
    let socket_id = data["socket_id"].as_str().unwrap().to_owned();
    (ws, socket_id)
}

/// Subscribes to `channel` (always with `data`: a subscribe without it crashes soketi) and waits for
/// `pusher_internal:subscription_succeeded`.
async fn subscribe(ws: &mut Ws, channel: &str, auth: &str) {
    let subscribe = json!({ "event": "pusher:subscribe", "data": { "auth": auth, "channel": channel } });
    ws.send(Message::text(subscribe.to_string())).await.unwrap();
    let succeeded = frame_with_event(ws, "pusher_internal:subscription_succeeded").await;
    assert_eq!(succeeded["channel"], channel);
}

/// Triggers an event on `channel` and checks the connection receives it with the same data string.
async fn trigger_and_receive(soketi: &Soketi, ws: &mut Ws, channel: &str, text: &str) {
    let data = json!({ "id": "m1", "chatroom_id": 1, "content": text, "type": "message" }).to_string();
    soketi
        .trigger(channel, r"App\Events\ChatMessageEvent", &data)
        .await;
    let frame = frame_with_event(ws, r"App\Events\ChatMessageEvent").await;
    assert_eq!(frame["channel"], channel);
    assert_eq!(frame["data"].as_str(), Some(data.as_str()));
}

#[tokio::test]
async fn soketi_delivers_triggered_events_and_comes_back_after_a_kill() {
    let mut soketi = Soketi::start().await;

    let (mut ws, socket_id) = connect(&soketi.ws_url()).await;
    subscribe(&mut ws, "chatrooms.1.v2", "").await;
    trigger_and_receive(&soketi, &mut ws, "chatrooms.1.v2", "hello").await;

    let private = "private-chatroom.1";
    subscribe(&mut ws, private, &soketi.private_auth(&socket_id, private)).await;
    trigger_and_receive(&soketi, &mut ws, private, "secret").await;

    let (mut refused, _) = connect_async(soketi.ws_url_with_key("no-such-key"))
        .await
        .unwrap();
    let error = frame_with_event(&mut refused, "pusher:error").await;
    assert_eq!(error["data"]["code"], 4001);

    soketi.kill().await;
    assert!(
        next_frame(&mut ws).await.is_none(),
        "the connection must end when soketi is killed"
    );

    soketi.restart().await;
    let (mut ws, _) = connect(&soketi.ws_url()).await;
    subscribe(&mut ws, "chatrooms.1.v2", "").await;
    trigger_and_receive(&soketi, &mut ws, "chatrooms.1.v2", "again").await;
}
