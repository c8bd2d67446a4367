//! The scripted Gateway test server (`testing`, feature `test-server`) against a minimal client written
//! here: Hello at once, Heartbeat ACKs (and none while paused), READY with the resume URL and the shard's
//! guilds, dispatch sequence numbers, a session outliving its connection (dispatches while disconnected
//! replayed on Resume, then RESUMED) over zlib-stream with split frames, the close codes for a wrong token
//! and a command before Identify, a client's 1000 close dropping its session, the refused resume URL, REST
//! with and without the token, the identify pacing and the command rate limit.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use onair_discord::inflate::ZlibStream;
use onair_discord::shard_for;
use onair_discord::testing::{GatewayServer, ServerOptions};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

const TOKEN: &str = "test-token";
const GUILD: &str = "1085131932938797063";

/// A bare Gateway client: reads whole messages (inflating zlib-stream frames), sends JSON.
struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    zlib: Option<ZlibStream>,
    binary_frames: usize,
}

impl Client {
    async fn connect(url: &str) -> Client {
        let (ws, _) = connect_async(url).await.unwrap();
        let zlib = url.contains("compress=zlib-stream").then(ZlibStream::new);
        Client {
            ws,
            zlib,
            binary_frames: 0,
        }
    }

    async fn recv(&mut self) -> Value {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    assert!(self.zlib.is_none(), "a text frame on a zlib-stream connection");
                    return serde_json::from_str(&text).unwrap();
                }
                Some(Ok(Message::Binary(frame))) => {
                    self.binary_frames += 1;
                    let zlib = self.zlib.as_mut().expect("a binary frame without compression");
                    if let Some(text) = zlib.push(&frame).unwrap() {
                        return serde_json::from_str(&text).unwrap();
                    }
                }
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    async fn send(&mut self, payload: Value) {
        self.ws.send(Message::text(payload.to_string())).await.unwrap();
    }

    /// Reads past any messages until the server's close frame; returns its code.
    async fn close_code(&mut self) -> u16 {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Closes with `code` and waits for the server's answer.
    async fn close(mut self, code: u16) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: "".into(),
        };
        self.ws.close(Some(frame)).await.unwrap();
        while let Some(Ok(_)) = self.ws.next().await {}
    }
}

fn identify(token: &str, shard: [u32; 2]) -> Value {
    json!({"op": 2, "d": {
        "token": token, "intents": 513, "shard": shard,
        "properties": {"os": "linux", "browser": "onair", "device": "onair"},
    }})
}

fn heartbeat(seq: Option<u64>) -> Value {
    json!({"op": 1, "d": seq})
}

fn options() -> ServerOptions {
    ServerOptions {
        token: TOKEN.to_owned(),
        ..ServerOptions::default()
    }
}

/// A guild id that lands on `shard` of `shards`.
fn guild_on(shard: u32, shards: u32) -> String {
    let id = (u64::from(shard) + u64::from(shards) * 1000) << 22;
    let id = id.to_string();
    assert_eq!(shard_for(&id, shards), Some(shard));
    id
}

#[tokio::test(start_paused = true)]
async fn hello_acks_ready_with_the_resume_url_and_dispatch_sequences() {
    let server = GatewayServer::start(options()).await.unwrap();
    server.add_guild(GUILD, "Streamers", &[("1085131933462970423", "general")]);
    let mut client = Client::connect(&format!("{}/?v=10&encoding=json", server.gateway_url())).await;

    let hello = client.recv().await;
    assert_eq!(
        hello,
        json!({"op": 10, "d": {"heartbeat_interval": 41_250}, "s": null, "t": null})
    );
    client.send(heartbeat(None)).await;
    assert_eq!(client.recv().await, json!({"op": 11}));

    client.send(identify(TOKEN, [0, 1])).await;
    let ready = client.recv().await;
    assert_eq!(
        (&ready["op"], &ready["s"], &ready["t"]),
        (&json!(0), &json!(1), &json!("READY"))
    );
    let d = &ready["d"];
    assert_eq!(d["session_id"], "session-1");
    assert_eq!(d["resume_gateway_url"], server.resume_url());
    assert_eq!(d["guilds"], json!([{"id": GUILD, "unavailable": true}]));
    assert_eq!(d["shard"], json!([0, 1]));
    assert_eq!(d["user"]["bot"], true);
    assert_eq!(server.session_start_remaining(), 999);

    let seq = server
        .dispatch(GUILD, "MESSAGE_CREATE", json!({"content": "hi"}))
        .await;
    assert_eq!(seq, 2);
    assert_eq!(
        client.recv().await,
        json!({"op": 0, "s": 2, "t": "MESSAGE_CREATE", "d": {"content": "hi"}})
    );

    // While ACKs are paused a heartbeat goes unanswered: the next message is the server's own request.
    server.pause_acks(0, true).await;
    client.send(heartbeat(Some(2))).await;
    let received = server.wait_for_op(1, 2).await;
    assert_eq!(received.d, json!(2));
    assert_eq!(received.shard, Some(0));
    server.request_heartbeat(0).await;
    assert_eq!(client.recv().await["op"], 1);
    server.pause_acks(0, false).await;
    client.send(heartbeat(Some(2))).await;
    assert_eq!(client.recv().await, json!({"op": 11}));

    let connections = server.connections();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].path, "/gateway/");
    assert_eq!(connections[0].query, "v=10&encoding=json");
    assert_eq!(connections[0].shard, Some(0));
    assert_eq!(connections[0].commands, 4);
    let ops: Vec<u8> = server.log().iter().map(|r| r.op).collect();
    assert_eq!(ops, [1, 2, 1, 1]);
}

#[tokio::test(start_paused = true)]
async fn resume_replays_what_was_dispatched_while_disconnected_then_resumed() {
    let server = GatewayServer::start(ServerOptions {
        split_frames: true,
        ..options()
    })
    .await
    .unwrap();
    server.add_guild(GUILD, "Streamers", &[]);
    let query = "/?v=10&encoding=json&compress=zlib-stream";
    let mut client = Client::connect(&format!("{}{query}", server.gateway_url())).await;
    assert_eq!(client.recv().await["op"], 10);
    client.send(identify(TOKEN, [0, 1])).await;
    let ready = client.recv().await;
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_owned();
    let resume_url = ready["d"]["resume_gateway_url"].as_str().unwrap().to_owned();
    assert_eq!(
        server.dispatch(GUILD, "GUILD_MEMBER_ADD", json!({"n": 2})).await,
        2
    );
    assert_eq!(client.recv().await["s"], 2);
    // Every message came as two frames, each completed by the second.
    assert_eq!(client.binary_frames, 6);

    // 4000 keeps the session; what is dispatched meanwhile waits in it.
    client.close(4000).await;
    server
        .wait_until(|view| view.connections()[0].closed_at.is_some())
        .await;
    assert_eq!(server.connections()[0].client_close, Some(4000));
    assert_eq!(
        server.dispatch(GUILD, "GUILD_MEMBER_ADD", json!({"n": 3})).await,
        3
    );
    assert_eq!(server.dispatch(GUILD, "MESSAGE_CREATE", json!({"n": 4})).await, 4);

    let mut client = Client::connect(&format!("{resume_url}{query}")).await;
    assert_eq!(client.recv().await["op"], 10);
    client
        .send(json!({"op": 6, "d": {"token": TOKEN, "session_id": session_id, "seq": 2}}))
        .await;
    assert_eq!(
        client.recv().await,
        json!({"op": 0, "s": 3, "t": "GUILD_MEMBER_ADD", "d": {"n": 3}})
    );
    assert_eq!(
        client.recv().await,
        json!({"op": 0, "s": 4, "t": "MESSAGE_CREATE", "d": {"n": 4}})
    );
    let resumed = client.recv().await;
    assert_eq!((&resumed["s"], &resumed["t"]), (&json!(5), &json!("RESUMED")));
    server.wait_until(|view| view.connected(0)).await;
    // Live again: the next dispatch goes straight out.
    assert_eq!(server.dispatch(GUILD, "MESSAGE_CREATE", json!({"n": 6})).await, 6);
    assert_eq!(client.recv().await["s"], 6);

    let connections = server.connections();
    assert_eq!(connections[1].path, "/resume/");
    assert_eq!(connections[1].query, "v=10&encoding=json&compress=zlib-stream");
    assert_eq!(connections[1].shard, Some(0));
    assert_eq!(server.session_start_remaining(), 999, "a resume is no identify");
}

#[tokio::test(start_paused = true)]
async fn closing_with_1000_drops_the_session() {
    let server = GatewayServer::start(options()).await.unwrap();
    let mut client = Client::connect(&server.gateway_url()).await;
    client.recv().await;
    client.send(identify(TOKEN, [0, 1])).await;
    client.recv().await;
    client.close(1000).await;
    server
        .wait_until(|view| view.session(0).is_some_and(|s| !s.valid))
        .await;

    let mut client = Client::connect(&server.resume_url()).await;
    client.recv().await;
    client
        .send(json!({"op": 6, "d": {"token": TOKEN, "session_id": "session-1", "seq": 1}}))
        .await;
    assert_eq!(
        client.recv().await,
        json!({"op": 9, "d": false, "s": null, "t": null})
    );
}

#[tokio::test(start_paused = true)]
async fn wrong_token_closes_4004_and_a_command_before_identify_4003() {
    let server = GatewayServer::start(options()).await.unwrap();
    let mut client = Client::connect(&server.gateway_url()).await;
    client.recv().await;
    client.send(identify("not-the-token", [0, 1])).await;
    assert_eq!(client.close_code().await, 4004);

    let mut client = Client::connect(&server.gateway_url()).await;
    client.recv().await;
    client.send(json!({"op": 3, "d": {"status": "online"}})).await;
    assert_eq!(client.close_code().await, 4003);

    let connections = server.connections();
    assert_eq!(connections[0].server_close, Some(4004));
    assert_eq!(connections[1].server_close, Some(4003));
    assert_eq!(server.session_start_remaining(), 1000);
}

#[tokio::test(start_paused = true)]
async fn a_refused_resume_url_answers_503() {
    let server = GatewayServer::start(options()).await.unwrap();
    server.refuse_resume_url(true);
    let refused = connect_async(format!("{}/?v=10&encoding=json", server.resume_url())).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("expected HTTP 503, got {other:?}"),
    }
    assert!(server.connections().is_empty());

    server.refuse_resume_url(false);
    let mut client = Client::connect(&server.resume_url()).await;
    assert_eq!(client.recv().await["op"], 10);
}

#[tokio::test]
async fn rest_needs_the_bot_token() {
    let server = GatewayServer::start(ServerOptions {
        shards: 2,
        max_concurrency: 16,
        ..options()
    })
    .await
    .unwrap();
    server.add_guild(GUILD, "Streamers", &[("1085131933462970423", "general")]);
    // reqwest is built without a TLS provider of its own: the one OnAir sets up.
    let tls = onair_pusher::tls_config().unwrap();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .build()
        .unwrap();
    let get = |path: &str, token: Option<&str>| {
        let request = http.get(format!("{}{path}", server.api_url()));
        let request = match token {
            Some(token) => request.header("Authorization", format!("Bot {token}")),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    let unauthorized = json!({"message": "401: Unauthorized", "code": 0});
    assert_eq!(get("/gateway/bot", None).await, (401, unauthorized.clone()));
    assert_eq!(get("/gateway/bot", Some("wrong")).await, (401, unauthorized));
    let (status, mut body) = get("/gateway/bot", Some(TOKEN)).await;
    assert_eq!(status, 200);
    // The reset counts down from a day.
    let reset_after = body["session_start_limit"]["reset_after"].as_u64().unwrap();
    assert!((86_300_000..=86_400_000).contains(&reset_after), "{reset_after}");
    body["session_start_limit"]["reset_after"] = json!(86_400_000);
    assert_eq!(
        body,
        json!({"url": server.gateway_url(), "shards": 2, "session_start_limit": {
            "total": 1000, "remaining": 1000, "reset_after": 86_400_000, "max_concurrency": 16,
        }})
    );

    let (status, user) = get("/users/@me", Some(TOKEN)).await;
    assert_eq!(
        (status, &user["id"], &user["bot"]),
        (200, &json!("1379067022540931072"), &json!(true))
    );
    assert_eq!(
        get(&format!("/guilds/{GUILD}"), Some(TOKEN)).await,
        (200, json!({"id": GUILD, "name": "Streamers"}))
    );
    assert_eq!(
        get(&format!("/guilds/{GUILD}/channels"), Some(TOKEN)).await,
        (
            200,
            json!([{"id": "1085131933462970423", "name": "general", "type": 0, "guild_id": GUILD}])
        )
    );
    assert_eq!(
        get("/guilds/42/channels", Some(TOKEN)).await,
        (404, json!({"message": "Unknown Guild", "code": 10004}))
    );
}

#[tokio::test(start_paused = true)]
async fn identifies_faster_than_max_concurrency_are_refused_and_recorded() {
    let server = GatewayServer::start(ServerOptions {
        shards: 2,
        ..options()
    })
    .await
    .unwrap();
    let on_shard_1 = guild_on(1, 2);
    server.add_guild(&on_shard_1, "Second", &[]);
    let mut first = Client::connect(&server.gateway_url()).await;
    first.recv().await;
    first.send(identify(TOKEN, [0, 2])).await;
    assert_eq!(first.recv().await["t"], "READY");

    // Shard 1 shares bucket 0 with shard 0 (max_concurrency 1): too soon.
    let mut second = Client::connect(&server.gateway_url()).await;
    second.recv().await;
    second.send(identify(TOKEN, [1, 2])).await;
    assert_eq!(
        second.recv().await,
        json!({"op": 9, "d": false, "s": null, "t": null})
    );
    let violations = server.identify_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("shard 1"), "{violations:?}");

    // Five seconds later the same Identify starts shard 1's session, with its guild.
    tokio::time::advance(Duration::from_secs(5)).await;
    second.send(identify(TOKEN, [1, 2])).await;
    let ready = second.recv().await;
    assert_eq!(ready["d"]["session_id"], "session-2");
    assert_eq!(ready["d"]["shard"], json!([1, 2]));
    assert_eq!(
        ready["d"]["guilds"],
        json!([{"id": on_shard_1, "unavailable": true}])
    );
    assert_eq!(server.identify_violations().len(), 1);
    assert_eq!(server.session_start_remaining(), 998);

    // A guild's events go to its shard's connection.
    assert_eq!(server.dispatch(&on_shard_1, "MESSAGE_CREATE", json!({})).await, 2);
    assert_eq!(second.recv().await["t"], "MESSAGE_CREATE");

    // A shard count other than the server's is refused outright.
    let mut third = Client::connect(&server.gateway_url()).await;
    third.recv().await;
    third.send(identify(TOKEN, [0, 3])).await;
    assert_eq!(third.close_code().await, 4010);
}

#[tokio::test(start_paused = true)]
async fn more_than_120_commands_within_60_seconds_close_4008() {
    let server = GatewayServer::start(options()).await.unwrap();
    let mut client = Client::connect(&server.gateway_url()).await;
    client.recv().await;
    client.send(identify(TOKEN, [0, 1])).await;
    for _ in 0..119 {
        client.send(heartbeat(Some(1))).await;
    }
    server.wait_for_op(1, 119).await;

    // A minute later the window holds none of those: 120 more are within the limit, one more is not.
    tokio::time::advance(Duration::from_secs(60)).await;
    for _ in 0..120 {
        client.send(heartbeat(Some(1))).await;
    }
    server.wait_for_op(1, 239).await;
    assert!(server.rate_violations().is_empty());
    assert!(server.connections()[0].closed_at.is_none());

    client.send(heartbeat(Some(1))).await;
    assert_eq!(client.close_code().await, 4008);
    let violations = server.rate_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("121 commands"), "{violations:?}");
    assert_eq!(server.connections()[0].server_close, Some(4008));
    // Rate limited is no reason to lose the session: it is detached, still resumable.
    let session = server.wait_for_op(1, 240).await;
    assert_eq!(session.shard, Some(0));
    server
        .wait_until(|view| view.session(0).is_some_and(|s| s.valid && s.connection.is_none()))
        .await;
}

#[tokio::test(start_paused = true)]
async fn shard_controls_reach_its_connection_and_its_session() {
    let server = GatewayServer::start(options()).await.unwrap();
    let mut client = Client::connect(&server.gateway_url()).await;
    client.recv().await;
    client.send(identify(TOKEN, [0, 1])).await;
    assert_eq!(client.recv().await["t"], "READY");

    server.reconnect(0).await;
    assert_eq!(
        client.recv().await,
        json!({"op": 7, "d": null, "s": null, "t": null})
    );
    server.invalid_session(0, true).await;
    assert_eq!(
        client.recv().await,
        json!({"op": 9, "d": true, "s": null, "t": null})
    );
    assert_eq!(server.wait_for_op(2, 1).await.d["token"], TOKEN);

    // A dropped connection: no close frame either way, the session stays resumable.
    server.drop_connection(0).await;
    match client.ws.next().await {
        Some(Err(_)) | None => {}
        other => panic!("expected the connection to drop, got {other:?}"),
    }
    let dropped = &server.connections()[0];
    assert!(dropped.closed_at.is_some());
    assert_eq!((dropped.client_close, dropped.server_close), (None, None));
    server
        .wait_until(|view| view.session(0).is_some_and(|s| s.valid && s.connection.is_none()))
        .await;

    let resume = json!({"op": 6, "d": {"token": TOKEN, "session_id": "session-1", "seq": 1}});
    let mut client = Client::connect(&server.resume_url()).await;
    client.recv().await;
    client.send(resume.clone()).await;
    let resumed = client.recv().await;
    assert_eq!((&resumed["s"], &resumed["t"]), (&json!(2), &json!("RESUMED")));

    // 4009 ends the session too: the next Resume is refused.
    server.close(0, 4009).await;
    assert_eq!(client.close_code().await, 4009);
    assert_eq!(server.connections()[1].server_close, Some(4009));
    let mut client = Client::connect(&server.resume_url()).await;
    client.recv().await;
    client.send(resume).await;
    assert_eq!(client.recv().await["d"], false);

    // Invalid Session false on a live connection drops its new session; commands then need an Identify.
    tokio::time::advance(Duration::from_secs(5)).await;
    client.send(identify(TOKEN, [0, 1])).await;
    assert_eq!(client.recv().await["d"]["session_id"], "session-2");
    server.invalid_session(0, false).await;
    assert_eq!(client.recv().await["d"], false);
    server
        .wait_until(|view| view.session(0).is_some_and(|s| !s.valid) && !view.connected(0))
        .await;
    client.send(json!({"op": 3, "d": {"status": "online"}})).await;
    assert_eq!(client.close_code().await, 4003);
}
