//! The soak: realistic traffic for a long time through the real `onair run --relay`, restarted again and
//! again (mostly a graceful stop, sometimes `kill -9`), with relay clients that resume across every cut;
//! then the account of every event. `cargo xtask soak [--for DURATION]` builds and runs it.
//!
//! - **Kick**: a busy chat from the scripted Pusher server (one frame per message, each with its own id).
//! - **Twitch**: follows as EventSub notifications from the scripted EventSub server (each with its own
//!   message id), Helix and the token check answered by a wiremock stand-in. A new process starts a new
//!   EventSub session, and Twitch replays nothing across sessions: only what was sent on a session's
//!   socket counts as delivered.
//! - **Discord**: messages in a watched channel from the scripted Gateway (zlib-stream), dispatched only
//!   while a connection is attached: an event dispatched while OnAir is down belongs to a session a new
//!   process never resumes, as with Discord, and is not counted as delivered.
//! - **Relay**: clients (socket.io-client, node) subscribed to everything, each resuming with `after` =
//!   the last offset it received whenever the relay goes away; at the end each must have received every
//!   stored event from its first on, once, in order (`relay_gaps` counts what is missing or repeated).
//! - **Restarts**: before a graceful stop the servers pause and the soak waits until the store holds what
//!   they delivered, then Ctrl-C (SIGINT); a `kill -9` comes in full traffic, and what was delivered on
//!   the killed connections but not stored is counted as `in_flight_at_kill`, apart from `lost`.
//! - **Samples** every few seconds: RSS, PSS, open file descriptors and threads of `onair run`, and the
//!   database's size; `rss_slope_mb_per_h` is the steepest least-squares slope of RSS over one process's
//!   life (after its first 20 s).
//!
//! It ends with `RESULT soak minutes=N events=N lost=N duplicated=N in_flight_at_kill=N relay_gaps=N
//! rss_slope_mb_per_h=N fds_end=N` and fails (exit 1) on any loss, duplicate or relay gap.
//!
//! Usage: `soak [--onair PATH] [--for 2m] [--restart-every 30s] [--rate 200] [--seed N]`; without
//! `--onair`, the `onair` built beside the soak (the same target folder and profile).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onair_discord::testing::{GatewayServer, ServerOptions};
use onair_pusher::server::ScriptedServer;
use onair_twitch::testing::{EventSubServer, ServerSocket};
use serde_json::{Value, json};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const GUILD: &str = "1085131932938797063";
const CHANNEL: &str = "1085131964526100482";
const BOT_TOKEN: &str = "MTM3OTA2NzAyMjU0MDkzMTA3Mg.soak-secret";
const RELAY_TOKEN: &str = "soak-relay-token";
const KICK_SPEC: &str = "kick:soakchannel@4781203/4760932";
const TWITCH_TOKEN: &str = "soak-twitch-token";
const BROADCASTER: &str = "52731608";
const RELAY_CLIENTS: usize = 3;

/// The run's settings, from the command line.
struct Settings {
    onair: PathBuf,
    duration: Duration,
    restart_every: Duration,
    rate: u32,
    seed: u64,
}

fn settings() -> Result<Settings, String> {
    let mut settings = Settings {
        onair: PathBuf::new(),
        duration: Duration::from_secs(120),
        restart_every: Duration::from_secs(30),
        rate: 200,
        seed: 17,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let duration = || humantime::parse_duration(&value).map_err(|e| format!("{flag} {value}: {e}"));
        match flag.as_str() {
            "--onair" => settings.onair = PathBuf::from(&value),
            "--for" => settings.duration = duration()?,
            "--restart-every" => settings.restart_every = duration()?,
            "--rate" => settings.rate = value.parse().map_err(|e| format!("--rate {value}: {e}"))?,
            "--seed" => settings.seed = value.parse().map_err(|e| format!("--seed {value}: {e}"))?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if settings.onair.as_os_str().is_empty() {
        let beside = std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name(format!("onair{}", std::env::consts::EXE_SUFFIX));
        if !beside.is_file() {
            return Err(format!(
                "no onair at {}: build it first (cargo build -p onair), or pass --onair PATH",
                beside.display()
            ));
        }
        settings.onair = beside;
    }
    Ok(settings)
}

/// How a connection of `onair run` ended, as far as the account goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ending {
    /// Still up (or ended by a graceful stop after the store caught up).
    Graceful,
    /// The process was killed with `kill -9` while it was up.
    Killed,
}

/// What the servers delivered: per platform, each message number with the incarnation of `onair run`
/// it was delivered to.
#[derive(Default)]
struct Delivered {
    kick: Vec<(u64, usize)>,
    twitch: Vec<(u64, usize)>,
    discord: Vec<(u64, usize)>,
}

impl Delivered {
    fn total(&self) -> usize {
        self.kick.len() + self.twitch.len() + self.discord.len()
    }
}

/// Shared between the traffic tasks and the conductor.
struct Traffic {
    delivered: Mutex<Delivered>,
    /// Which `onair run` is up (its number), or `None` while traffic is paused.
    running: watch::Sender<Option<usize>>,
}

#[tokio::main]
async fn main() {
    let settings = match settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    };
    match soak(settings).await {
        Ok(clean) => std::process::exit(if clean { 0 } else { 1 }),
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    }
}

async fn soak(settings: Settings) -> Result<bool, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = dir.path().join("onair.db");
    let pusher = ScriptedServer::bind().await.map_err(|e| e.to_string())?;
    let pusher_url = pusher.url("soak-key");
    let gateway = Arc::new(
        GatewayServer::start(ServerOptions {
            token: BOT_TOKEN.to_owned(),
            heartbeat_interval: Duration::from_secs(5),
            ..ServerOptions::default()
        })
        .await
        .map_err(|e| e.to_string())?,
    );
    gateway.add_guild(GUILD, "Soak Server", &[(CHANNEL, "general")]);
    let helix = helix_stand_in().await;
    let eventsub = EventSubServer::start().await.map_err(|e| e.to_string())?;
    let endpoints = Endpoints {
        pusher: pusher_url.clone(),
        helix: helix.uri(),
        eventsub: eventsub.url().to_owned(),
        discord: gateway.api_url(),
    };
    let relay_port = free_port()?;
    let (running, _) = watch::channel(None);
    let traffic = Arc::new(Traffic {
        delivered: Mutex::new(Delivered::default()),
        running,
    });
    let kick = tokio::spawn(kick_traffic(
        pusher_accepts(pusher),
        traffic.clone(),
        settings.rate,
    ));
    let discord = tokio::spawn(discord_traffic(
        gateway.clone(),
        traffic.clone(),
        settings.rate / 10,
    ));
    let twitch = tokio::spawn(twitch_traffic(
        eventsub_accepts(eventsub),
        traffic.clone(),
        settings.rate / 20,
    ));
    let received: Vec<Arc<Mutex<Vec<i64>>>> = (0..RELAY_CLIENTS).map(|_| Arc::default()).collect();
    let clients: Vec<_> = received
        .iter()
        .map(|offsets| tokio::spawn(relay_client(relay_port, offsets.clone())))
        .collect();

    let started = Instant::now();
    let mut rng = fastrand::Rng::with_seed(settings.seed);
    let mut endings: Vec<Ending> = Vec::new();
    let mut samples: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut fds_end = 0;
    let mut incarnation = 0;
    let mut never_stored = 0i64;
    loop {
        let mut onair = start_onair(
            &settings.onair,
            dir.path(),
            &db,
            &endpoints,
            relay_port,
            incarnation,
        )?;
        let pid = onair.id().ok_or("onair run ended at once")?;
        if let Err(e) = wait_connected(&db, incarnation, &gateway).await {
            return Err(format!("{e}; it said:\n{}", log_tail(dir.path(), incarnation)));
        }
        traffic.running.send_replace(Some(incarnation));
        let life_started = Instant::now();
        let mut rss = Vec::new();
        let last = started.elapsed() + settings.restart_every >= settings.duration;
        let until = life_started
            + settings
                .restart_every
                .min(settings.duration.saturating_sub(started.elapsed()));
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_secs(5).min(until - Instant::now())).await;
            if let Some(sample) = sample(pid, &db) {
                println!(
                    "soak: {:>5.0}s run {incarnation}: rss {:.1} MB, pss {:.1} MB, fds {}, threads {}, db {:.1} MB",
                    started.elapsed().as_secs_f64(),
                    sample.rss_mb,
                    sample.pss_mb,
                    sample.fds,
                    sample.threads,
                    sample.db_mb
                );
                fds_end = sample.fds;
                let age = life_started.elapsed().as_secs_f64();
                if age >= 20.0 {
                    rss.push((age / 3600.0, sample.rss_mb));
                }
            }
        }
        samples.push(rss);
        let kill = !last && rng.u32(0..4) == 0;
        if kill {
            signal(pid, "KILL");
            traffic.running.send_replace(None);
            endings.push(Ending::Killed);
        } else {
            traffic.running.send_replace(None);
            catch_up(&db, &traffic, never_stored).await;
            signal(pid, "INT");
            endings.push(Ending::Graceful);
        }
        let status = tokio::time::timeout(Duration::from_secs(60), onair.wait())
            .await
            .map_err(|_| "onair run did not stop within 60 s".to_string())?
            .map_err(|e| e.to_string())?;
        if kill {
            // What the killed run had not committed never will be (no platform here resends to a new
            // session): the graceful stops' catch-up does not wait for it.
            let stored = query_i64(&db, STORED_TRAFFIC).await.unwrap_or(0);
            never_stored = lock(&traffic.delivered).total() as i64 - stored;
        }
        if !kill && !status.success() {
            return Err(format!("onair run {incarnation} ended badly: {status}"));
        }
        println!(
            "soak: run {incarnation} {}",
            if kill {
                "killed (kill -9)"
            } else {
                "stopped (Ctrl-C)"
            }
        );
        incarnation += 1;
        if last {
            break;
        }
    }
    kick.abort();
    twitch.abort();
    discord.abort();
    for client in clients {
        client.abort();
    }
    let received: Vec<Vec<i64>> = received.iter().map(|r| lock(r).clone()).collect();
    let clean = account(
        &db,
        &traffic,
        &endings,
        &received,
        &samples,
        fds_end,
        started.elapsed(),
    )
    .await?;
    if !clean {
        // What is needed to look into it: the database and every run's output.
        println!("soak: its files are kept in {}", dir.keep().display());
    }
    Ok(clean)
}

/// A port free now, for the relay (a fixed one, so clients find it again after each restart).
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Where the stand-ins for the platforms listen.
struct Endpoints {
    pusher: String,
    helix: String,
    eventsub: String,
    discord: String,
}

/// Starts run `incarnation`, its output going to `run-N.log` beside the database.
fn start_onair(
    onair: &Path,
    home: &Path,
    db: &Path,
    endpoints: &Endpoints,
    relay_port: u16,
    incarnation: usize,
) -> Result<Child, String> {
    let log = std::fs::File::create(log_path(home, incarnation)).map_err(|e| e.to_string())?;
    let log_too = log.try_clone().map_err(|e| e.to_string())?;
    Command::new(onair)
        .arg("--db")
        .arg(db)
        .args(["run", "--watch", KICK_SPEC, "--watch", "twitch:soakcast"])
        .args(["--watch", &format!("discord:{GUILD}/{CHANNEL}")])
        .arg("--relay")
        .arg(format!("127.0.0.1:{relay_port}"))
        .env("ONAIR_KICK_PUSHER_URL", &endpoints.pusher)
        .env("ONAIR_KICK_API_URL", "http://127.0.0.1:9")
        .env("ONAIR_TWITCH_EVENTSUB_URL", &endpoints.eventsub)
        .env("ONAIR_TWITCH_HELIX_URL", &endpoints.helix)
        .env("ONAIR_TWITCH_AUTH_URL", &endpoints.helix)
        .env("ONAIR_TWITCH_CLIENT_ID", "soak-client")
        .env("ONAIR_TWITCH_ACCESS_TOKEN", TWITCH_TOKEN)
        .env("ONAIR_DISCORD_API_URL", &endpoints.discord)
        .env("ONAIR_DISCORD_BOT_TOKEN", BOT_TOKEN)
        .env("ONAIR_RELAY_TOKEN", RELAY_TOKEN)
        .env("ONAIR_SECRET_STORE", "file")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_too)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", onair.display()))
}

fn log_path(home: &Path, incarnation: usize) -> PathBuf {
    home.join(format!("run-{incarnation}.log"))
}

/// The last lines `onair run` wrote, for an error message.
fn log_tail(home: &Path, incarnation: usize) -> String {
    let text = std::fs::read_to_string(log_path(home, incarnation)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Twitch's token check and Helix, as Twitch answers a broadcaster's own token with every scope: the
/// channel, no stream, every EventSub subscription created, nobody in the fallback's follower list.
async fn helix_stand_in() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/validate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "client_id": "soak-client", "login": "soakcast", "user_id": BROADCASTER,
            "scopes": onair_twitch::subscriptions::scopes(), "expires_in": 5_000_000,
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "id": BROADCASTER, "login": "soakcast", "display_name": "SoakCast",
        }]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/streams"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/eventsub/subscriptions"))
        .respond_with(|request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            ResponseTemplate::new(202).set_body_json(json!({
                "data": [{"id": format!("sub-{}", body["type"]), "status": "enabled", "type": body["type"],
                          "version": body["version"], "condition": body["condition"], "cost": 0,
                          "transport": body["transport"], "created_at": "2026-12-07T18:00:00Z"}],
                "total": 1, "total_cost": 0, "max_total_cost": 10,
            }))
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/channels/followers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "pagination": {}})))
        .mount(&server)
        .await;
    server
}

fn signal(pid: u32, name: &str) {
    let _ = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status();
}

/// Waits until both connections of run `incarnation` are up: Kick's (the state logged in the store) and
/// Discord's shard (attached at the Gateway).
async fn wait_connected(db: &Path, incarnation: usize, gateway: &GatewayServer) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let wanted = incarnation as i64 + 1;
    loop {
        let kick_up = query_i64(
            db,
            "SELECT count(*) FROM connection_log WHERE platform = 'kick' AND state = 'connected'",
        )
        .await
        .unwrap_or(0)
            >= wanted;
        let discord_up = query_i64(
            db,
            "SELECT count(*) FROM connection_log WHERE platform = 'discord' AND state = 'connected'",
        )
        .await
        .unwrap_or(0)
            >= wanted
            && discord_attached(gateway);
        let twitch_up = query_i64(
            db,
            "SELECT count(*) FROM connection_log WHERE platform = 'twitch' AND state = 'connected'",
        )
        .await
        .unwrap_or(0)
            >= wanted;
        if kick_up && twitch_up && discord_up {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("run {incarnation} did not connect within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn query_i64(db: &Path, sql: &str) -> Option<i64> {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .ok()?;
    let value = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut conn)
        .await
        .ok();
    let _ = conn.close().await;
    value
}

/// The events of the soak's traffic in the store.
const STORED_TRAFFIC: &str = "SELECT count(*) FROM events WHERE kind IN ('chat_message', 'follow')";

/// Waits (up to 30 s) until the store holds as many events as the servers delivered, less
/// `never_stored` (what killed runs took with them).
async fn catch_up(db: &Path, traffic: &Traffic, never_stored: i64) {
    let delivered = lock(&traffic.delivered).total() as i64 - never_stored;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let stored = query_i64(db, STORED_TRAFFIC).await.unwrap_or(0);
        if stored >= delivered {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Pusher server's connections, one after the other, greeted and subscribed.
fn pusher_accepts(
    mut server: ScriptedServer,
) -> tokio::sync::mpsc::Receiver<onair_pusher::server::ServerConn> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while let Some(mut conn) = server.accept().await {
            if conn.establish("soak.1", 120).await.is_err() {
                continue;
            }
            let mut subscribed = true;
            for _ in 0..5 {
                let confirmed = tokio::time::timeout(Duration::from_secs(10), conn.accept_subscribe()).await;
                if !matches!(confirmed, Ok(Some(_))) {
                    subscribed = false;
                    break;
                }
            }
            if subscribed && tx.send(conn).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Kick chat at `rate` frames a second while traffic runs, on the connection of the run that is up: run
/// N's is the server's N-th (without network faults, each run connects once).
async fn kick_traffic(
    mut connections: tokio::sync::mpsc::Receiver<onair_pusher::server::ServerConn>,
    traffic: Arc<Traffic>,
    rate: u32,
) {
    let template = kick_template();
    let mut running = traffic.running.subscribe();
    let mut next = 0u64;
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    let per_tick = (rate / 100).max(1);
    let mut current: Option<(usize, onair_pusher::server::ServerConn)> = None;
    let mut taken = 0usize;
    loop {
        ticks.tick().await;
        let Some(incarnation) = *running.borrow_and_update() else {
            if running.changed().await.is_err() {
                return;
            }
            continue;
        };
        while current.as_ref().is_none_or(|(n, _)| *n < incarnation) {
            let Some(conn) = connections.recv().await else {
                return;
            };
            current = Some((taken, conn));
            taken += 1;
        }
        let Some((n, conn)) = current.as_mut() else {
            continue;
        };
        if *n != incarnation {
            continue;
        }
        for _ in 0..per_tick {
            let frame = template.replace("SOAK-ID", &format!("kick-{next}"));
            if conn.send_text(frame).await.is_err() {
                break;
            }
            lock(&traffic.delivered).kick.push((next, incarnation));
            next += 1;
        }
    }
}

fn kick_template() -> String {
    let data = json!({
        "id": "SOAK-ID", "chatroom_id": 4760932, "content": "soak chat, steady as she goes",
        "type": "message", "created_at": "2026-12-07T18:00:00+00:00",
        "sender": {"id": 19283746, "username": "soaker", "slug": "soaker",
                   "identity": {"color": "#FF9D00", "badges": []}},
    });
    json!({
        "event": "App\\Events\\ChatMessageEvent",
        "data": data.to_string(),
        "channel": "chatrooms.4760932.v2",
    })
    .to_string()
}

/// The EventSub server's sockets, one after the other, each welcomed at once as the next session.
fn eventsub_accepts(eventsub: EventSubServer) -> tokio::sync::mpsc::Receiver<ServerSocket> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let mut session = 0;
        while let Ok(mut socket) = eventsub.accept().await {
            if socket.welcome(&format!("session-{session}"), 30).await.is_err() {
                continue;
            }
            session += 1;
            if tx.send(socket).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Twitch follows at `rate` a second while traffic runs, on the EventSub socket of the run that is up:
/// run N's is the server's N-th session.
async fn twitch_traffic(
    mut sockets: tokio::sync::mpsc::Receiver<ServerSocket>,
    traffic: Arc<Traffic>,
    rate: u32,
) {
    let mut running = traffic.running.subscribe();
    let mut ticks = tokio::time::interval(Duration::from_millis(1000 / u64::from(rate.max(1))));
    let mut next = 0u64;
    let mut current: Option<(usize, ServerSocket)> = None;
    let mut taken = 0usize;
    loop {
        ticks.tick().await;
        let Some(incarnation) = *running.borrow_and_update() else {
            if running.changed().await.is_err() {
                return;
            }
            continue;
        };
        while current.as_ref().is_none_or(|(n, _)| *n < incarnation) {
            let Some(socket) = sockets.recv().await else {
                return;
            };
            current = Some((taken, socket));
            taken += 1;
        }
        let Some((n, socket)) = current.as_mut() else {
            continue;
        };
        if *n != incarnation {
            continue;
        }
        let event = json!({
            "user_id": format!("{}", 900_000 + next), "user_login": format!("soaker{next}"),
            "user_name": format!("Soaker{next}"), "broadcaster_user_id": BROADCASTER,
            "broadcaster_user_login": "soakcast", "broadcaster_user_name": "SoakCast",
            "followed_at": "2026-12-07T18:00:00Z",
        });
        let frame = onair_twitch::testing::notification(&format!("twitch-{next}"), "channel.follow", event);
        if socket.send(&frame).await.is_ok() {
            lock(&traffic.delivered).twitch.push((next, incarnation));
            next += 1;
        }
    }
}

/// Discord messages at `rate` a second while traffic runs and the shard is attached.
async fn discord_traffic(gateway: Arc<GatewayServer>, traffic: Arc<Traffic>, rate: u32) {
    let mut running = traffic.running.subscribe();
    let mut ticks = tokio::time::interval(Duration::from_millis(1000 / u64::from(rate.max(1))));
    let mut next = 0u64;
    loop {
        ticks.tick().await;
        let Some(incarnation) = *running.borrow_and_update() else {
            if running.changed().await.is_err() {
                return;
            }
            continue;
        };
        if !discord_attached(&gateway) {
            continue;
        }
        let message = json!({
            "id": format!("{}", 1_300_000_000_000_000_000u64 + next), "channel_id": CHANNEL,
            "guild_id": GUILD, "type": 0,
            "author": {"id": "42", "username": "soaker", "global_name": "Soaker"},
            "member": {"nick": null, "roles": []}, "content": format!("discord-{next}"),
            "timestamp": "2026-12-07T18:00:00.000000+00:00",
        });
        gateway.dispatch(GUILD, "MESSAGE_CREATE", message).await;
        lock(&traffic.delivered).discord.push((next, incarnation));
        next += 1;
    }
}

/// Whether a shard's connection is open at the Gateway.
fn discord_attached(gateway: &GatewayServer) -> bool {
    gateway
        .connections()
        .iter()
        .any(|c| c.closed_at.is_none() && c.shard.is_some())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A relay client that keeps coming back: subscribed to everything, resuming after the last offset it
/// received each time the relay goes away; every offset it receives is added to `offsets`, in order.
async fn relay_client(port: u16, offsets: Arc<Mutex<Vec<i64>>>) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../peers/socket.io-client/relay-client.mjs");
    let url = format!("http://127.0.0.1:{port}");
    loop {
        let after = lock(&offsets).last().copied().unwrap_or(0);
        let mut command = Command::new("node");
        command
            .arg(&script)
            .arg(&url)
            .arg(RELAY_TOKEN)
            .arg("{}")
            .arg(after.to_string());
        let Ok(mut child) = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
        else {
            return;
        };
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // The client's last line can be cut short when it exits (node writes to a pipe
            // asynchronously); its event comes again on the next resume.
            let Ok(line) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if let Some(offset) = line.get("event").and_then(|e| e["offset"].as_i64()) {
                lock(&offsets).push(offset);
            }
        }
        let _ = child.wait().await;
        // The relay is away (restarting): ask again shortly.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One sample of `onair run` and the database.
struct Sample {
    rss_mb: f64,
    pss_mb: f64,
    fds: usize,
    threads: usize,
    db_mb: f64,
}

fn sample(pid: u32, db: &Path) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |text: &str, name: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    Some(Sample {
        rss_mb: field(&status, "VmRSS:")? / 1024.0,
        pss_mb: field(&rollup, "Pss:").unwrap_or(0.0) / 1024.0,
        fds: std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count(),
        threads: field(&status, "Threads:")? as usize,
        db_mb: (size(db.to_path_buf()) + size(wal)) as f64 / 1_048_576.0,
    })
}

/// The least-squares slope of `points` (x, y), or 0 with fewer than three.
fn slope(points: &[(f64, f64)]) -> f64 {
    if points.len() < 3 {
        return 0.0;
    }
    let n = points.len() as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    if den == 0.0 { 0.0 } else { num / den }
}

/// Compares what the servers delivered with what the store holds and what the relay clients received;
/// prints the figures and the RESULT line; true when nothing was lost, doubled or skipped.
async fn account(
    db: &Path,
    traffic: &Traffic,
    endings: &[Ending],
    received: &[Vec<i64>],
    samples: &[Vec<(f64, f64)>],
    fds_end: usize,
    elapsed: Duration,
) -> Result<bool, String> {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT platform, json_extract(data, '$.text') FROM events WHERE kind = 'chat_message'",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| e.to_string())?;
    // Kick's chat and Twitch's follows by their source ids; Discord's messages by their text below.
    let source_ids: Vec<(String, String)> = sqlx::query_as(
        "SELECT platform, source_id FROM events WHERE (kind = 'chat_message' AND platform = 'kick') \
         OR (kind = 'follow' AND platform = 'twitch')",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| e.to_string())?;
    let offsets: Vec<i64> = sqlx::query_scalar("SELECT offset FROM events ORDER BY offset")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;

    let mut stored: HashMap<(&str, String), usize> = HashMap::new();
    for (platform, id) in &source_ids {
        let platform = if platform == "twitch" { "twitch" } else { "kick" };
        *stored.entry((platform, id.clone())).or_default() += 1;
    }
    for (platform, text) in &rows {
        if platform == "discord" {
            *stored.entry(("discord", text.clone())).or_default() += 1;
        }
    }
    let duplicated: usize = stored.values().map(|n| n - 1).sum();
    let delivered = lock(&traffic.delivered);
    let (mut lost, mut in_flight, mut events) = (0, 0, 0);
    for (platform, list, key) in [
        // Kick chat's source id is `chat:` and Kick's message id.
        ("kick", &delivered.kick, "chat:kick-"),
        // Twitch's is the notification's message id.
        ("twitch", &delivered.twitch, "twitch-"),
        ("discord", &delivered.discord, "discord-"),
    ] {
        // Per run: how many delivered, and the first few missing.
        let mut runs: BTreeMap<usize, (usize, Vec<u64>)> = BTreeMap::new();
        for (n, incarnation) in list {
            events += 1;
            let run = runs.entry(*incarnation).or_default();
            run.0 += 1;
            if stored.contains_key(&(platform, format!("{key}{n}"))) {
                continue;
            }
            run.1.push(*n);
            match endings.get(*incarnation) {
                Some(Ending::Killed) => in_flight += 1,
                _ => lost += 1,
            }
        }
        for (run, (count, missing)) in runs {
            if !missing.is_empty() {
                println!(
                    "soak: {platform}, run {run} ({:?}): {count} delivered, {} not stored (from {key}{} to {key}{})",
                    endings.get(run),
                    missing.len(),
                    missing[0],
                    missing[missing.len() - 1]
                );
            }
        }
    }
    drop(delivered);
    // Each client must have every stored event from its first on, once, in order.
    let mut relay_gaps = 0;
    for got in received {
        let Some(first) = got.first() else {
            relay_gaps += offsets.len();
            continue;
        };
        let expected: Vec<i64> = offsets.iter().copied().filter(|o| o >= first).collect();
        let got_set: HashSet<i64> = got.iter().copied().collect();
        let missing = expected.iter().filter(|o| !got_set.contains(o)).count();
        let repeated = got.len() - got_set.len();
        relay_gaps += missing + repeated;
        if missing + repeated > 0 {
            println!("soak: a relay client missed {missing} and got {repeated} twice");
        }
    }
    let rss_slope = samples.iter().map(|s| slope(s)).fold(0.0_f64, f64::max);
    let kills = endings.iter().filter(|e| **e == Ending::Killed).count();
    println!(
        "soak: {} runs ({kills} killed with kill -9), {events} events delivered, {} stored",
        endings.len(),
        stored.len()
    );
    println!(
        "RESULT soak minutes={:.1} events={events} lost={lost} duplicated={duplicated} in_flight_at_kill={in_flight} \
         relay_gaps={relay_gaps} rss_slope_mb_per_h={rss_slope:.1} fds_end={fds_end}",
        elapsed.as_secs_f64() / 60.0
    );
    Ok(lost == 0 && duplicated == 0 && relay_gaps == 0)
}
