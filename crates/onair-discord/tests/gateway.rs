//! The Gateway client (`DiscordPlatform` -> `ShardConnector` -> `DiscordShard`) against the scripted
//! Gateway (`testing`, zlib-stream on, real time: see `server`): Identify with the query parameters, READY, the
//! fixtures' dispatches recorded (and the unwatched ones not), heartbeats after `interval x jitter` then
//! every interval carrying the last sequence, op 1 answered at once; a missed ACK closing the zombie with
//! 4000 and resuming on the resume URL with everything missed replayed once; Invalid Session true and
//! false; op 7; each close code's class; a resume URL that refuses; two shards paced one Identify per 5 s,
//! and so are two servers planned one by one on one platform (as the desktop does); the command limit; no
//! session starts left: no socket until the allowance resets, and a warning meanwhile.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use onair_core::{ChannelRef, ConnectionState, Event, EventData, EventKind, LiveConnection};
use onair_discord::testing::{GatewayServer, ServerOptions};
use onair_discord::{DiscordConfig, DiscordPlatform, DiscordShard, Watched, shard_for};
use onair_pusher::BackoffPolicy;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

const TOKEN: &str = "test-token";
const GUILD: &str = "1085131932938797063";
const GENERAL: &str = "1085131964526100482";
const OFF_TOPIC: &str = "1085131964526100999";

fn fixture_data(name: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/discord/");
    let payload: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).unwrap()).unwrap();
    payload["d"].clone()
}

fn member_add(user: &str) -> Value {
    let mut d = fixture_data("03_guild_member_add.json");
    d["user"]["id"] = json!(user);
    d["user"]["username"] = json!(format!("user{user}"));
    d
}

fn member_add_to(guild: &str, user: &str) -> Value {
    let mut d = member_add(user);
    d["guild_id"] = json!(guild);
    d
}

fn message(channel: &str, content: &str) -> Value {
    let mut d = fixture_data("04_message_create.json");
    d["channel_id"] = json!(channel);
    d["content"] = json!(content);
    d
}

/// The scripted Gateway. Heartbeats every hour unless a test asks otherwise: the tests run in real time
/// (over real sockets the paused clock can jump to the next timer before a read completes, which makes
/// heartbeats look unanswered), and only the heartbeat tests want them.
async fn server(options: ServerOptions) -> GatewayServer {
    let server = GatewayServer::start(ServerOptions {
        token: TOKEN.to_owned(),
        ..options
    })
    .await
    .unwrap();
    server.add_guild(
        GUILD,
        "Nova's Den",
        &[(GENERAL, "general"), (OFF_TOPIC, "off-topic")],
    );
    server
}

fn hourly() -> ServerOptions {
    ServerOptions {
        heartbeat_interval: Duration::from_secs(3600),
        ..ServerOptions::default()
    }
}

fn platform(server: &GatewayServer) -> DiscordPlatform {
    let config = DiscordConfig {
        api_url: server.api_url(),
        // Quick retries, and enough of them that a test's many reconnects never use them up.
        backoff: BackoffPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
            max_retries: 100,
            jitter: true,
        },
        ..DiscordConfig::default()
    };
    DiscordPlatform::new(config, SecretString::from(TOKEN)).unwrap()
}

fn watched(guilds: &[&str]) -> Watched {
    let mut watched = Watched::default();
    for guild in guilds {
        watched.add(
            ChannelRef::new(*guild, format!("guild {guild}")),
            [GENERAL.to_owned()],
        );
    }
    watched
}

struct Running {
    shard: DiscordShard,
    events: mpsc::Receiver<Event>,
    state: watch::Receiver<ConnectionState>,
}

async fn connect(server: &GatewayServer) -> Running {
    let plan = platform(server).plan(&watched(&[GUILD])).await.unwrap();
    assert_eq!(plan.shards.len(), 1);
    let (sink, events) = mpsc::channel(64);
    let shard = plan.shards[0].start(sink);
    let state = shard.state();
    Running { shard, events, state }
}

async fn state_where(
    state: &mut watch::Receiver<ConnectionState>,
    what: impl Fn(&ConnectionState) -> bool,
) -> ConnectionState {
    state.wait_for(|s| what(s)).await.unwrap().clone()
}

fn connected(state: &ConnectionState, session: &str) -> bool {
    matches!(state, ConnectionState::Connected { session: Some(s) } if s == session)
}

async fn next_events(events: &mut mpsc::Receiver<Event>, n: usize) -> Vec<Event> {
    let mut got = Vec::new();
    while got.len() < n {
        got.push(events.recv().await.unwrap());
    }
    got
}

#[tokio::test]
async fn it_identifies_then_records_the_watched_dispatches_only() {
    let server = server(hourly()).await;
    let mut running = connect(&server).await;
    let identify = server.wait_for_op(2, 1).await;
    assert_eq!(identify.d["token"], TOKEN);
    assert_eq!(identify.d["shard"], json!([0, 1]));
    assert_eq!(identify.d["intents"], json!(onair_discord::frame::INTENTS));
    assert_eq!(identify.query, "v=10&encoding=json&compress=zlib-stream");
    state_where(&mut running.state, |s| connected(s, "session-1")).await;

    server
        .dispatch(
            GUILD,
            "GUILD_MEMBER_ADD",
            fixture_data("03_guild_member_add.json"),
        )
        .await;
    server
        .dispatch(GUILD, "MESSAGE_CREATE", fixture_data("04_message_create.json"))
        .await;
    server
        .dispatch(GUILD, "MESSAGE_CREATE", message(OFF_TOPIC, "not recorded"))
        .await;
    server
        .dispatch(
            GUILD,
            "TYPING_START",
            json!({"channel_id": GENERAL, "guild_id": GUILD}),
        )
        .await;
    server
        .dispatch(
            GUILD,
            "GUILD_MEMBER_ADD",
            member_add_to("1085131932938797999", "7"),
        )
        .await;
    let user = json!({"id": "878021663365795851", "username": "hoshino.mika", "global_name": "星野ミカ ✨"});
    server
        .dispatch(GUILD, "GUILD_BAN_ADD", json!({"guild_id": GUILD, "user": user}))
        .await;
    server
        .dispatch(
            GUILD,
            "GUILD_BAN_REMOVE",
            json!({"guild_id": GUILD, "user": user}),
        )
        .await;
    server
        .dispatch(
            GUILD,
            "GUILD_MEMBER_REMOVE",
            json!({"guild_id": GUILD, "user": user}),
        )
        .await;
    let events = next_events(&mut running.events, 5).await;
    let kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::MemberJoin,
            EventKind::ChatMessage,
            EventKind::Ban,
            EventKind::Unban,
            EventKind::MemberLeave
        ]
    );
    let join = &events[0];
    assert_eq!(join.platform, onair_core::Platform::Discord);
    assert_eq!(join.channel.platform_id, GUILD);
    assert_eq!(join.source_id.as_deref(), Some("session-1:2"));
    let member = join.actor.as_ref().unwrap();
    assert_eq!(
        (
            member.id.as_str(),
            member.login.as_str(),
            member.display_name.as_str()
        ),
        ("878021663365795851", "hoshino.mika", "星野ミカ ✨")
    );
    assert_eq!(join.occurred_at.to_rfc3339(), "2026-11-21T18:25:41.512+00:00");
    let EventData::ChatMessage(chat) = &events[1].data else {
        panic!("{:?}", events[1].data)
    };
    assert_eq!(
        chat.text,
        "こんばんは <@1379067022540931072> — is the stream starting soon? 🎮🔥"
    );
    assert_eq!(chat.room_id.as_deref(), Some(GENERAL));
    assert_eq!(
        events[1].actor.as_ref().unwrap().display_name,
        "ミカ",
        "the server nickname wins"
    );
    assert_eq!(events[2].target.as_ref().unwrap().login, "hoshino.mika");
    assert!(events[1].raw.is_some(), "the dispatch's data is kept");

    Box::new(running.shard).shutdown().await;
    server
        .wait_until(|v| v.connections()[0].closed_at.is_some())
        .await;
    assert_eq!(
        server.connections()[0].client_close,
        Some(1000),
        "a shutdown ends the session"
    );
}

/// With a one-second interval, each message split across two frames.
#[tokio::test]
async fn a_missed_ack_is_a_zombie_closed_with_4000_and_resumed_with_nothing_lost_or_doubled() {
    let server = server(ServerOptions {
        split_frames: true,
        heartbeat_interval: Duration::from_secs(1),
        ..ServerOptions::default()
    })
    .await;
    let mut running = connect(&server).await;
    state_where(&mut running.state, |s| connected(s, "session-1")).await;
    for user in 1..=3 {
        server
            .dispatch(GUILD, "GUILD_MEMBER_ADD", member_add(&user.to_string()))
            .await;
    }
    next_events(&mut running.events, 3).await;
    // The client's next connection waits for its Hello until the missed events are in the session.
    server.hold_new_connections(true);
    server.pause_acks(0, true).await;
    // The next heartbeat goes unanswered; the one after finds the connection zombied.
    let unanswered = server.log().iter().filter(|r| r.op == 1).count() + 1;
    server.wait_for_op(1, unanswered).await;
    server
        .wait_until(|v| v.connections()[0].closed_at.is_some())
        .await;
    assert_eq!(
        server.connections()[0].client_close,
        Some(4000),
        "closed keeping the session"
    );
    // Events while the client is away, kept in the session for the resume.
    for user in 4..=6 {
        server
            .dispatch(GUILD, "GUILD_MEMBER_ADD", member_add(&user.to_string()))
            .await;
    }
    server.pause_acks(0, false).await;
    server.hold_new_connections(false);
    let resume = server.wait_for_op(6, 1).await;
    assert_eq!(resume.d["session_id"], "session-1");
    assert_eq!(resume.d["seq"], 4, "the last one received: 5 to 7 are replayed");
    assert_eq!(resume.d["token"], TOKEN);
    assert_eq!(resume.path.trim_end_matches('/'), "/resume");
    assert_eq!(
        resume.query, "v=10&encoding=json&compress=zlib-stream",
        "the parameters survive the reconnect"
    );
    server.dispatch(GUILD, "GUILD_MEMBER_ADD", member_add("7")).await;
    let events = next_events(&mut running.events, 4).await;
    let users: Vec<&str> = events
        .iter()
        .map(|e| e.actor.as_ref().unwrap().id.as_str())
        .collect();
    assert_eq!(users, ["4", "5", "6", "7"]);
    let ids: Vec<&str> = events.iter().map(|e| e.source_id.as_deref().unwrap()).collect();
    assert_eq!(
        ids,
        ["session-1:5", "session-1:6", "session-1:7", "session-1:9"],
        "RESUMED was seq 8"
    );
    state_where(&mut running.state, |s| connected(s, "session-1")).await;
    assert_eq!(
        server.log().iter().filter(|r| r.op == 2).count(),
        1,
        "no second Identify"
    );
    Box::new(running.shard).shutdown().await;
    assert!(running.events.recv().await.is_none());
}

/// The hour-long interval keeps the regular heartbeats out of the way.
#[tokio::test]
async fn a_heartbeat_request_is_answered_at_once() {
    let server = server(hourly()).await;
    let mut running = connect(&server).await;
    state_where(&mut running.state, |s| connected(s, "session-1")).await;
    let before = server.log().iter().filter(|r| r.op == 1).count();
    let asked_at = Instant::now();
    server.request_heartbeat(0).await;
    let answer = tokio::time::timeout(Duration::from_secs(10), server.wait_for_op(1, before + 1))
        .await
        .expect("no heartbeat after the request");
    assert!(
        answer.at - asked_at < Duration::from_secs(1),
        "after {:?}",
        answer.at - asked_at
    );
    assert_eq!(answer.d, json!(1), "with the last sequence (READY)");
    Box::new(running.shard).shutdown().await;
}

/// With a two-second interval (and room for a loaded machine).
#[tokio::test]
async fn heartbeats_start_within_an_interval_then_come_every_interval_with_the_last_sequence() {
    let interval = Duration::from_secs(2);
    let server = server(ServerOptions {
        heartbeat_interval: interval,
        ..ServerOptions::default()
    })
    .await;
    let mut running = connect(&server).await;
    state_where(&mut running.state, |s| connected(s, "session-1")).await;
    server.dispatch(GUILD, "GUILD_MEMBER_ADD", member_add("1")).await;
    running.events.recv().await.unwrap();
    let opened = server.connections()[0].opened_at;
    let mut at = Vec::new();
    for n in 1..=4 {
        at.push(server.wait_for_op(1, n).await);
    }
    let slack = Duration::from_millis(700);
    assert!(
        at[0].at - opened <= interval + slack,
        "first after {:?}",
        at[0].at - opened
    );
    for pair in at.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap + slack >= interval && gap <= interval + slack,
            "{gap:?} between heartbeats"
        );
    }
    assert_eq!(at[3].d, json!(2), "the last sequence (READY 1, the join 2)");
    assert!(server.log().iter().filter(|r| r.op == 1).count() >= 4);
    Box::new(running.shard).shutdown().await;
}

#[tokio::test]
async fn invalid_session_resumes_when_resumable_and_starts_anew_after_one_to_five_seconds_when_not() {
    let server = server(hourly()).await;
    let mut running = connect(&server).await;
    state_where(&mut running.state, |s| connected(s, "session-1")).await;
    server.invalid_session(0, true).await;
    let resume = server.wait_for_op(6, 1).await;
    assert_eq!(resume.d["session_id"], "session-1");
    state_where(&mut running.state, |s| connected(s, "session-1")).await;

    server.invalid_session(0, false).await;
    let waiting = state_where(&mut running.state, |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    })
    .await;
    let ConnectionState::Reconnecting { next_in, .. } = waiting else {
        unreachable!()
    };
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(5)).contains(&next_in),
        "a new session in {next_in:?}"
    );
    let identify = server.wait_for_op(2, 2).await;
    let closed = server.connections()[1].closed_at.unwrap();
    assert_eq!(
        server.connections()[1].client_close,
        Some(1000),
        "the session is over"
    );
    let waited = identify.at - closed;
    assert!(
        (Duration::from_secs(1)..=Duration::from_millis(5500)).contains(&waited),
        "a new session after {waited:?}"
    );
    assert_eq!(
        identify.path.trim_end_matches('/'),
        "/gateway",
        "new sessions go to the main URL"
    );
    state_where(&mut running.state, |s| connected(s, "session-2")).await;
    assert_eq!(server.log().iter().filter(|r| r.op == 6).count(), 1);
    Box::new(running.shard).shutdown().await;
}

/// Waits until the shard is connected with `session`.
async fn up(running: &mut Running, session: &str) {
    state_where(&mut running.state, |s| connected(s, session)).await;
}

#[tokio::test]
async fn reconnect_requests_and_resumable_codes_resume_while_the_others_start_anew() {
    let server = server(hourly()).await;
    let mut running = connect(&server).await;
    up(&mut running, "session-1").await;
    server.reconnect(0).await;
    assert_eq!(
        server.wait_for_op(6, 1).await.d["session_id"],
        "session-1",
        "op 7 resumes"
    );
    up(&mut running, "session-1").await;
    for (i, code) in [4000u16, 4001, 4002, 4008].into_iter().enumerate() {
        server.close(0, code).await;
        let resume = server.wait_for_op(6, i + 2).await;
        assert_eq!(resume.d["session_id"], "session-1", "{code} resumes");
        up(&mut running, "session-1").await;
    }
    server.drop_connection(0).await;
    let resume = server.wait_for_op(6, 6).await;
    assert_eq!(resume.d["session_id"], "session-1", "a drop resumes");
    up(&mut running, "session-1").await;
    let mut identifies = 1;
    let mut current = "session-1".to_owned();
    for code in [4003u16, 4007, 4009] {
        server.close(0, code).await;
        identifies += 1;
        let identify = server.wait_for_op(2, identifies).await;
        assert_eq!(
            identify.path.trim_end_matches('/'),
            "/gateway",
            "{code} starts a new session"
        );
        let now = state_where(
            &mut running.state,
            |s| matches!(s, ConnectionState::Connected { session: Some(s) } if *s != current),
        )
        .await;
        let ConnectionState::Connected {
            session: Some(session),
        } = now
        else {
            unreachable!()
        };
        up(&mut running, &session).await;
        current = session;
    }
    assert_eq!(
        server.log().iter().filter(|r| r.op == 6).count(),
        6,
        "no resume after those"
    );
    Box::new(running.shard).shutdown().await;
}

#[tokio::test]
async fn fatal_codes_stop_with_what_to_fix() {
    for (code, says) in [
        (4004u16, "Reset Token"),
        (4010, "shard"),
        (4011, "shards"),
        (4012, "update OnAir"),
        (4013, "update OnAir"),
        (4014, "Server Members intent"),
    ] {
        let server = server(hourly()).await;
        let mut running = connect(&server).await;
        state_where(&mut running.state, |s| connected(s, "session-1")).await;
        server.close(0, code).await;
        let failed = state_where(&mut running.state, |s| {
            matches!(s, ConnectionState::Failed { .. })
        })
        .await;
        let ConnectionState::Failed { reason } = failed else {
            unreachable!()
        };
        assert!(reason.contains(says), "{code}: {reason}");
        assert!(!reason.contains(TOKEN));
        assert_eq!(server.connections().len(), 1, "{code}: no new connection");
        Box::new(running.shard).shutdown().await;
    }
}

#[tokio::test]
async fn a_resume_url_that_refuses_falls_back_to_a_new_session_on_the_main_url() {
    let server = server(hourly()).await;
    let mut running = connect(&server).await;
    state_where(&mut running.state, |s| connected(s, "session-1")).await;
    server.refuse_resume_url(true);
    server.drop_connection(0).await;
    let identify = server.wait_for_op(2, 2).await;
    assert_eq!(identify.path.trim_end_matches('/'), "/gateway");
    state_where(&mut running.state, |s| connected(s, "session-2")).await;
    assert_eq!(server.log().iter().filter(|r| r.op == 6).count(), 0);
    server.dispatch(GUILD, "GUILD_MEMBER_ADD", member_add("8")).await;
    let event = running.events.recv().await.unwrap();
    assert_eq!(event.source_id.as_deref(), Some("session-2:2"));
    Box::new(running.shard).shutdown().await;
}

/// Two guilds on different shards of two.
fn guilds_on_two_shards() -> (String, String) {
    let on = |shard: u32| {
        (1u64..)
            .map(|n| (n << 22).to_string())
            .find(|id| shard_for(id, 2) == Some(shard))
            .unwrap()
    };
    (on(0), on(1))
}

#[tokio::test]
async fn two_shards_identify_five_seconds_apart_each_with_its_own_state() {
    let server = server(ServerOptions {
        shards: 2,
        max_concurrency: 1,
        ..hourly()
    })
    .await;
    let (first, second) = guilds_on_two_shards();
    server.add_guild(&first, "first", &[]);
    server.add_guild(&second, "second", &[]);
    let plan = platform(&server)
        .plan(&watched(&[&first, &second]))
        .await
        .unwrap();
    assert_eq!(plan.total, 2);
    let shards: Vec<String> = plan.shards.iter().map(|s| s.shard().to_string()).collect();
    assert_eq!(shards, ["0/2", "1/2"]);
    let (sink, mut events) = mpsc::channel(64);
    let running: Vec<DiscordShard> = plan.shards.iter().map(|s| s.start(sink.clone())).collect();
    drop(sink);
    let a = server.wait_for_op(2, 1).await;
    let b = server.wait_for_op(2, 2).await;
    assert!(b.at - a.at >= Duration::from_secs(5), "{:?} apart", b.at - a.at);
    let mut shard_ids: Vec<Value> = vec![a.d["shard"].clone(), b.d["shard"].clone()];
    shard_ids.sort_by_key(|v| v[0].as_u64());
    assert_eq!(shard_ids, [json!([0, 2]), json!([1, 2])]);
    assert!(
        server.identify_violations().is_empty(),
        "{:?}",
        server.identify_violations()
    );
    for shard in &running {
        let mut state = shard.state();
        state_where(&mut state, |s| matches!(s, ConnectionState::Connected { .. })).await;
    }
    server
        .dispatch(
            &first,
            "GUILD_MEMBER_ADD",
            json!({"guild_id": first, "user": {"id": "1", "username": "one"}}),
        )
        .await;
    server
        .dispatch(
            &second,
            "GUILD_MEMBER_ADD",
            json!({"guild_id": second, "user": {"id": "2", "username": "two"}}),
        )
        .await;
    let got: BTreeSet<String> = next_events(&mut events, 2)
        .await
        .into_iter()
        .map(|e| e.channel.platform_id)
        .collect();
    assert_eq!(got, BTreeSet::from([first.clone(), second.clone()]));
    // One shard lost: the other keeps its own state.
    server.close(1, 4004).await;
    let mut failed = running[1].state();
    state_where(&mut failed, |s| matches!(s, ConnectionState::Failed { .. })).await;
    assert!(matches!(
        *running[0].state().borrow(),
        ConnectionState::Connected { .. }
    ));
    assert_eq!(plan.starts_left().remaining, 998);
    for shard in running {
        Box::new(shard).shutdown().await;
    }
}

#[tokio::test]
async fn servers_planned_one_by_one_on_one_platform_share_the_identify_pacing() {
    let server = server(ServerOptions {
        max_concurrency: 1,
        ..hourly()
    })
    .await;
    let other = (2u64 << 22).to_string();
    server.add_guild(&other, "other", &[]);
    // As the desktop does: one plan per server, each opening the shard that serves it.
    let discord = platform(&server);
    let first = discord.plan(&watched(&[GUILD])).await.unwrap();
    let second = discord.plan(&watched(&[&other])).await.unwrap();
    let (sink, _events) = mpsc::channel(64);
    let running = [
        first.shards[0].start(sink.clone()),
        second.shards[0].start(sink.clone()),
    ];
    drop(sink);
    let a = server.wait_for_op(2, 1).await;
    let b = server.wait_for_op(2, 2).await;
    assert!(b.at - a.at >= Duration::from_secs(5), "{:?} apart", b.at - a.at);
    assert!(
        server.identify_violations().is_empty(),
        "{:?}",
        server.identify_violations()
    );
    for shard in &running {
        let mut state = shard.state();
        state_where(&mut state, |s| matches!(s, ConnectionState::Connected { .. })).await;
    }
    for shard in running {
        Box::new(shard).shutdown().await;
    }
}

#[tokio::test]
async fn commands_are_paced_under_the_limit() {
    let server = server(hourly()).await;
    let mut running = connect(&server).await;
    state_where(&mut running.state, |s| connected(s, "session-1")).await;
    for i in 0..200 {
        let presence = json!({"op": 3, "d": {"since": null, "activities": [{"name": format!("stream {i}"), "type": 3}], "status": "online", "afk": false}});
        running.shard.send(presence.to_string()).unwrap();
    }
    // 55 at once, then one a second (the limiter's own test shows no 60 s window over 115).
    let burst = server.wait_for_op(3, 55).await;
    let paced = server.wait_for_op(3, 58).await;
    let gap = paced.at - burst.at;
    assert!(
        (Duration::from_millis(2500)..Duration::from_secs(5)).contains(&gap),
        "3 more after {gap:?}"
    );
    let sent = server.log().iter().filter(|r| r.op == 3).count();
    assert!(sent < 62, "{sent} sent within about 3 s");
    assert!(
        server.rate_violations().is_empty(),
        "{:?}",
        server.rate_violations()
    );
    assert_eq!(server.connections().len(), 1, "never closed for sending too fast");
    Box::new(running.shard).shutdown().await;
}

#[tokio::test]
async fn with_no_session_starts_left_it_waits_for_the_reset_before_connecting_and_says_so() {
    let server = server(ServerOptions {
        session_start_remaining: 0,
        reset_after: Duration::from_secs(2),
        ..hourly()
    })
    .await;
    let plan = platform(&server).plan(&watched(&[GUILD])).await.unwrap();
    assert_eq!(plan.starts_left().remaining, 0);
    let started = Instant::now();
    let (sink, _events) = mpsc::channel(64);
    let shard = plan.shards[0].start(sink);
    let mut warnings = shard.warnings();
    let said = warnings.wait_for(|w| !w.is_empty()).await.unwrap().clone();
    assert!(said[0].contains("no more new sessions"), "{said:?}");
    assert!(server.connections().is_empty(), "no socket opened while waiting");
    let mut state = shard.state();
    state_where(&mut state, |s| connected(s, "session-1")).await;
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "after {:?}",
        started.elapsed()
    );
    assert!(warnings.borrow().is_empty(), "the warning is gone once connected");
    assert!(
        server.identify_violations().is_empty(),
        "{:?}",
        server.identify_violations()
    );
    Box::new(shard).shutdown().await;
}
