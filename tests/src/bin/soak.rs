//! The soak: realistic traffic for a long time through the real `onair run --relay`, every platform behind
//! a fault proxy playing a chaos schedule, `onair run` restarted again and again (mostly a graceful stop,
//! sometimes `kill -9`), with relay clients that resume across every cut; then the account of every event.
//! `cargo xtask soak [--for DURATION]` builds and runs it.
//!
//! - **Kick**: a busy chat from the scripted Pusher server (one frame per message, each with its own id),
//!   on the newest connection, pings answered (activity timeout 10 s, so a stalled socket is noticed).
//! - **Twitch**: follows as EventSub notifications from the scripted EventSub server (each with its own
//!   message id; keepalive 10 s), on the newest session; Helix and the token check answered by a wiremock
//!   stand-in. Twitch replays nothing across sessions.
//! - **Discord**: messages in a watched channel from the scripted Gateway (zlib-stream, heartbeat 5 s),
//!   REST on the same port; a session that resumes gets what it missed replayed, as with Discord.
//! - **Faults**: one `onair-faultproxy` in front of each (Pusher, EventSub, Helix, Discord), each playing
//!   its own seeded chaos schedule during every run of `onair run`: latency and jitter, a bandwidth cap,
//!   half-open stalls (long enough, at times, for the keepalive rules to notice), writes split into
//!   1-7 bytes, cuts inside a frame, refused connections.
//! - **Delivered** means what the proxy wrote to OnAir's socket (its tap: complete WebSocket frames,
//!   Discord's inflated with the connection's zlib context), never what a server merely sent: a frame
//!   held by a stall and dropped with the connection was not delivered. Each delivered message belongs to
//!   the run whose process had the connection open.
//! - **Relay**: clients (socket.io-client, node) subscribed to everything, each resuming with `after` =
//!   the last offset it received whenever the relay goes away; at the end each must have received every
//!   stored event from its first on, once, in order (`relay_gaps` counts what is missing or repeated).
//! - **Restarts**: before a graceful stop the chaos ends, every platform must deliver again within 90 s
//!   (no connection stalls for good), the servers pause and the soak waits until the store holds what
//!   was delivered, then Ctrl-C (SIGINT); a `kill -9` comes in full traffic and chaos, and what was
//!   delivered to the killed process but not stored is counted as `in_flight_at_kill`, apart from `lost`.
//! - **Samples** every few seconds: RSS, PSS, open file descriptors and threads of `onair run`, and the
//!   database's size; `rss_slope_mb_per_h` is the steepest least-squares slope of RSS over one process's
//!   life (after its first 20 s).
//!
//! It ends with `RESULT soak minutes=N events=N lost=N duplicated=N in_flight_at_kill=N relay_gaps=N
//! rss_slope_mb_per_h=N fds_end=N faults=N` and fails (exit 1) on any loss, duplicate or relay gap.
//!
//! Usage: `soak [--onair PATH] [--for 2m] [--restart-every 30s] [--rate 200] [--seed N] [--calm]`
//! (`--calm`: no chaos); without `--onair`, the `onair` built beside the soak (the same target folder
//! and profile).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onair_discord::testing::{GatewayServer, ServerOptions};
use onair_faultproxy::{Chaos, Conditions, FaultProxy, Playing, Schedule, Stall, WsFrame};
use onair_pusher::server::{ScriptedServer, ServerConn};
use onair_twitch::testing::helix::HelixStandIn;
use onair_twitch::testing::{EventSubServer, ServerSocket};
use serde_json::{Value, json};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, timeout};
use wiremock::MockServer;

const GUILD: &str = "1085131932938797063";
const CHANNEL: &str = "1085131964526100482";
const BOT_TOKEN: &str = "MTM3OTA2NzAyMjU0MDkzMTA3Mg.soak-secret";
const RELAY_TOKEN: &str = "soak-relay-token";
const KICK_SPEC: &str = "kick:soakchannel@4781203/4760932";
const TWITCH_TOKEN: &str = "soak-twitch-token";
const BROADCASTER: &str = "52731608";
const RELAY_CLIENTS: usize = 3;
/// How long a platform may deliver nothing once the chaos ends before the soak calls it stalled.
const RECOVERY: Duration = Duration::from_secs(90);
/// How long a server's write may block (a stalled or capped connection) before it looks for a newer one.
const SEND_PATIENCE: Duration = Duration::from_secs(2);

/// The run's settings, from the command line.
struct Settings {
    onair: PathBuf,
    duration: Duration,
    restart_every: Duration,
    rate: u32,
    seed: u64,
    chaos: bool,
}

fn settings() -> Result<Settings, String> {
    let mut settings = Settings {
        onair: PathBuf::new(),
        duration: Duration::from_secs(120),
        restart_every: Duration::from_secs(30),
        rate: 200,
        seed: 17,
        chaos: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--calm" {
            settings.chaos = false;
            continue;
        }
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

/// How a run of `onair run` ended, as far as the account goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ending {
    /// Still up (or ended by a graceful stop after the store caught up).
    Graceful,
    /// The process was killed with `kill -9` while it was up.
    Killed,
}

/// The platforms, in the order of [`Proxies::all`].
const PLATFORMS: [&str; 3] = ["kick", "twitch", "discord"];

/// The fault proxies, one per server.
struct Proxies {
    kick: FaultProxy,
    twitch: FaultProxy,
    helix: FaultProxy,
    discord: FaultProxy,
}

impl Proxies {
    fn all(&self) -> [&FaultProxy; 4] {
        [&self.kick, &self.twitch, &self.discord, &self.helix]
    }
}

/// What one proxy's connections delivered: message numbers, read from the tap by `parse`. A connection
/// that ended delivers nothing more, so its numbers are read once.
struct Tally {
    parse: fn(&[WsFrame]) -> Vec<u64>,
    ended: HashMap<usize, Vec<u64>>,
}

impl Tally {
    fn new(parse: fn(&[WsFrame]) -> Vec<u64>) -> Tally {
        Tally {
            parse,
            ended: HashMap::new(),
        }
    }

    /// Each message number delivered (once, however often it was), with the moment the connection that
    /// first delivered it opened.
    fn delivered(&mut self, proxy: &FaultProxy) -> BTreeMap<u64, Instant> {
        let mut out = BTreeMap::new();
        for connection in proxy.connections() {
            let numbers = match self.ended.get(&connection.id()) {
                Some(numbers) => numbers.clone(),
                None => {
                    let ended = connection.end().is_some();
                    let numbers = (self.parse)(&connection.frames());
                    if ended {
                        self.ended.insert(connection.id(), numbers.clone());
                    }
                    numbers
                }
            };
            for n in numbers {
                out.entry(n).or_insert(connection.opened_at());
            }
        }
        out
    }
}

/// The number after `marker` in `text` (`kick-12` gives 12 for `kick-`).
fn number_after(text: &str, marker: &str) -> Option<u64> {
    let at = text.find(marker)? + marker.len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Kick chat frames carry `kick-N` as the message id (inside the JSON-encoded `data`).
fn kick_numbers(frames: &[WsFrame]) -> Vec<u64> {
    frames
        .iter()
        .filter_map(|f| number_after(f.text()?, "kick-"))
        .collect()
}

/// EventSub notifications carry `twitch-N` as their message id.
fn twitch_numbers(frames: &[WsFrame]) -> Vec<u64> {
    frames
        .iter()
        .filter_map(|f| number_after(f.text()?, "\"message_id\":\"twitch-"))
        .collect()
}

/// Discord's messages say `discord-N`.
fn discord_numbers(frames: &[WsFrame]) -> Vec<u64> {
    onair_tests::gateway_payloads(frames)
        .iter()
        .filter(|payload| payload["t"] == "MESSAGE_CREATE")
        .filter_map(|payload| number_after(payload["d"]["content"].as_str()?, "discord-"))
        .collect()
}

/// What was delivered, per platform, and to which run.
struct Account {
    tallies: [Tally; 3],
    /// When each run started (its connections opened after).
    starts: Vec<Instant>,
}

impl Account {
    /// Per platform, each delivered message number with the run it was delivered to.
    fn delivered(&mut self, proxies: &Proxies) -> [BTreeMap<u64, usize>; 3] {
        let [kick, twitch, discord] = &mut self.tallies;
        let starts = &self.starts;
        let run_of = |opened: Instant| starts.partition_point(|s| *s <= opened).saturating_sub(1);
        [
            (kick, &proxies.kick),
            (twitch, &proxies.twitch),
            (discord, &proxies.discord),
        ]
        .map(|(tally, proxy)| {
            tally
                .delivered(proxy)
                .into_iter()
                .map(|(n, opened)| (n, run_of(opened)))
                .collect()
        })
    }

    fn total(&mut self, proxies: &Proxies) -> [usize; 3] {
        self.delivered(proxies).map(|d| d.len())
    }
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
    let result = soak_in(dir.path(), settings).await;
    if result != Ok(true) {
        // What is needed to look into it: the database and every run's output.
        println!("soak: its files are kept in {}", dir.keep().display());
    }
    result
}

async fn soak_in(dir: &Path, settings: Settings) -> Result<bool, String> {
    let db = dir.join("onair.db");
    let pusher = ScriptedServer::bind().await.map_err(|e| e.to_string())?;
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
    let proxy = |upstream: std::net::SocketAddr, n: u64| {
        FaultProxy::start_seeded(upstream, settings.seed.wrapping_mul(31).wrapping_add(n))
    };
    let eventsub_addr = address_of(eventsub.url())?;
    let proxies = Proxies {
        kick: proxy(pusher.addr(), 1).await.map_err(|e| e.to_string())?,
        twitch: proxy(eventsub_addr, 2).await.map_err(|e| e.to_string())?,
        helix: proxy(*helix.address(), 3).await.map_err(|e| e.to_string())?,
        discord: proxy(gateway.addr(), 4).await.map_err(|e| e.to_string())?,
    };
    gateway.announce(proxies.discord.addr());
    let endpoints = Endpoints {
        pusher: pusher
            .url("soak-key")
            .replace(&pusher.addr().to_string(), &proxies.kick.addr().to_string()),
        helix: format!("http://{}", proxies.helix.addr()),
        eventsub: eventsub
            .url()
            .replace(&eventsub_addr.to_string(), &proxies.twitch.addr().to_string()),
        discord: format!("http://{}/api/v10", proxies.discord.addr()),
    };
    let relay_port = free_port()?;
    let (running, _) = watch::channel(false);
    let kick = tokio::spawn(kick_traffic(
        pusher_accepts(pusher),
        running.subscribe(),
        settings.rate,
    ));
    let discord = tokio::spawn(discord_traffic(
        gateway.clone(),
        running.subscribe(),
        settings.rate / 10,
    ));
    let twitch = tokio::spawn(twitch_traffic(
        eventsub_accepts(eventsub),
        running.subscribe(),
        settings.rate / 20,
    ));
    let received: Vec<Arc<Mutex<Vec<i64>>>> = (0..RELAY_CLIENTS).map(|_| Arc::default()).collect();
    let clients: Vec<_> = received
        .iter()
        .map(|offsets| tokio::spawn(relay_client(relay_port, offsets.clone())))
        .collect();

    let mut account = Account {
        tallies: [
            Tally::new(kick_numbers),
            Tally::new(twitch_numbers),
            Tally::new(discord_numbers),
        ],
        starts: Vec::new(),
    };
    let started = Instant::now();
    let mut rng = fastrand::Rng::with_seed(settings.seed);
    let mut endings: Vec<Ending> = Vec::new();
    let mut samples: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut fds_end = 0;
    let mut faults = 0;
    let mut incarnation = 0;
    let mut never_stored = 0i64;
    loop {
        let connected_before = connected_counts(&db).await;
        account.starts.push(Instant::now());
        let mut onair = start_onair(&settings.onair, dir, &db, &endpoints, relay_port, incarnation)?;
        let pid = onair.id().ok_or("onair run ended at once")?;
        if let Err(e) = wait_connected(&db, connected_before, &gateway).await {
            return Err(format!("{e}; it said:\n{}", log_tail(dir, incarnation)));
        }
        running.send_replace(true);
        let life_started = Instant::now();
        let last = started.elapsed() + settings.restart_every >= settings.duration;
        let life = settings
            .restart_every
            .min(settings.duration.saturating_sub(started.elapsed()));
        let until = life_started + life;
        // Each proxy its own chaos for this run's life, ending a little before it.
        let mut chaos: Vec<(usize, Playing)> = Vec::new();
        if settings.chaos {
            for (k, proxy) in proxies.all().into_iter().enumerate() {
                let schedule = Schedule::random(
                    settings.seed ^ ((incarnation as u64) << 8 | k as u64),
                    &Chaos {
                        duration: life.saturating_sub(Duration::from_secs(5)),
                        gap: Duration::from_secs(3)..Duration::from_secs(12),
                        length: Duration::from_secs(1)..Duration::from_secs(25),
                        ..Chaos::default()
                    },
                );
                faults += schedule.steps().len();
                chaos.push((k, proxy.play(schedule)));
            }
        }
        let mut rss = Vec::new();
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_secs(5).min(until - Instant::now())).await;
            for (k, playing) in &mut chaos {
                while let Ok(Some(played)) = timeout(Duration::ZERO, playing.next()).await {
                    println!(
                        "soak: {:>5.0}s run {incarnation}: {} {:?} {:?}",
                        started.elapsed().as_secs_f64(),
                        ["pusher", "eventsub", "discord", "helix"][*k],
                        played.fault,
                        played.phase
                    );
                }
            }
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
            running.send_replace(false);
            endings.push(Ending::Killed);
        } else {
            calm(&proxies, chaos).await;
            if let Err(e) = recovered(&mut account, &proxies).await {
                return Err(format!(
                    "run {incarnation}: {e}; it said:\n{}",
                    log_tail(dir, incarnation)
                ));
            }
            running.send_replace(false);
            settle(&mut account, &proxies).await;
            catch_up(&db, &mut account, &proxies, never_stored).await;
            signal(pid, "INT");
            endings.push(Ending::Graceful);
        }
        let status = timeout(Duration::from_secs(60), onair.wait())
            .await
            .map_err(|_| "onair run did not stop within 60 s".to_string())?
            .map_err(|e| e.to_string())?;
        if kill {
            // What the killed run had not committed never will be (no platform here resends to a new
            // session): the graceful stops' catch-up does not wait for it. Its connections are gone, so
            // nothing more can reach it; the chaos goes on into the next run's start-up no more.
            for proxy in proxies.all() {
                proxy.set(Conditions::clean());
                proxy.refuse(false).await;
            }
            let stored = query_i64(&db, STORED_TRAFFIC).await.unwrap_or(0);
            never_stored = account.total(&proxies).iter().sum::<usize>() as i64 - stored;
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
    let delivered = account.delivered(&proxies);
    let clean = report(
        &db,
        &delivered,
        &endings,
        &received,
        &samples,
        fds_end,
        faults,
        started.elapsed(),
    )
    .await?;
    Ok(clean)
}

/// The `host:port` of a `ws://` or `http://` URL.
fn address_of(url: &str) -> Result<std::net::SocketAddr, String> {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority
        .parse()
        .map_err(|e| format!("{url} names no address: {e}"))
}

/// Ends the chaos: the players stopped, the network clean and listening, and a connection still held
/// half-open by a stall reset (it would never come back).
async fn calm(proxies: &Proxies, chaos: Vec<(usize, Playing)>) {
    drop(chaos);
    for proxy in proxies.all() {
        let stalled: Vec<_> = proxy
            .open_connections()
            .into_iter()
            .filter(|c| c.conditions().stall != Stall::None)
            .collect();
        // Reset first: lifted, the stall would pass on in a burst what it held, and the reset would then
        // throw away whatever of it the system had not handed over yet.
        for connection in stalled {
            connection.reset().await;
        }
        proxy.set(Conditions::clean());
        proxy.refuse(false).await;
    }
}

/// Waits until every platform delivers something new with the network clean: what a fault broke came
/// back (within [`RECOVERY`]).
async fn recovered(account: &mut Account, proxies: &Proxies) -> Result<(), String> {
    let before = account.total(proxies);
    let deadline = Instant::now() + RECOVERY;
    loop {
        let now = account.total(proxies);
        let behind: Vec<&str> = (0..3)
            .filter(|&k| now[k] <= before[k])
            .map(|k| PLATFORMS[k])
            .collect();
        if behind.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} delivered nothing for {} s after the faults ended: the connection did not come back",
                behind.join(", "),
                RECOVERY.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// With the servers paused, waits until the proxies have passed on what they held (nothing delivered
/// for a second, at most 30 s).
async fn settle(account: &mut Account, proxies: &Proxies) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = account.total(proxies);
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline && quiet_since.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = account.total(proxies);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
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

/// Twitch's token check and Helix, as Twitch answers a broadcaster's own token with every scope.
async fn helix_stand_in() -> MockServer {
    HelixStandIn {
        token: TWITCH_TOKEN.to_owned(),
        client_id: "soak-client".to_owned(),
        user_id: BROADCASTER.to_owned(),
        login: "soakcast".to_owned(),
        display_name: "SoakCast".to_owned(),
        expires_in: 5_000_000,
        existing: Vec::new(),
    }
    .start()
    .await
}

fn signal(pid: u32, name: &str) {
    let _ = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status();
}

/// How many times each platform's connection was logged connected in the store.
async fn connected_counts(db: &Path) -> [i64; 3] {
    let mut counts = [0; 3];
    for (k, platform) in PLATFORMS.iter().enumerate() {
        counts[k] = query_i64(
            db,
            &format!(
                "SELECT count(*) FROM connection_log WHERE platform = '{platform}' AND state = 'connected'"
            ),
        )
        .await
        .unwrap_or(0);
    }
    counts
}

/// Waits until every platform's connection of the new run is up: logged connected once more than
/// `before`, and Discord's shard attached at the Gateway.
async fn wait_connected(db: &Path, before: [i64; 3], gateway: &GatewayServer) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = connected_counts(db).await;
        let down: Vec<&str> = (0..3)
            .filter(|&k| now[k] <= before[k] || (PLATFORMS[k] == "discord" && !discord_attached(gateway)))
            .map(|k| PLATFORMS[k])
            .collect();
        if down.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{} did not connect within 60 s", down.join(", ")));
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

/// Waits (up to 30 s) until the store holds as many events as were delivered, less `never_stored`
/// (what killed runs took with them).
async fn catch_up(db: &Path, account: &mut Account, proxies: &Proxies, never_stored: i64) {
    let delivered = account.total(proxies).iter().sum::<usize>() as i64 - never_stored;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let stored = query_i64(db, STORED_TRAFFIC).await.unwrap_or(0);
        if stored >= delivered {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Pusher server's connections, one after the other, greeted (activity timeout 10 s) and their five
/// feeds' subscriptions confirmed.
fn pusher_accepts(mut server: ScriptedServer) -> mpsc::Receiver<ServerConn> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Some(mut conn) = server.accept().await {
            let tx = tx.clone();
            // Each on its own: one held up by a stall must not hold up the next.
            tokio::spawn(async move {
                if conn.establish("soak.1", 10).await.is_err() {
                    return;
                }
                for _ in 0..5 {
                    let confirmed = timeout(Duration::from_secs(30), conn.accept_subscribe()).await;
                    if !matches!(confirmed, Ok(Some(_))) {
                        return;
                    }
                }
                let _ = tx.send(conn).await;
            });
        }
    });
    rx
}

/// Kick chat at `rate` frames a second while `running`, on the newest subscribed connection (an older
/// one is given up); the client's pings answered.
async fn kick_traffic(
    mut connections: mpsc::Receiver<ServerConn>,
    running: watch::Receiver<bool>,
    rate: u32,
) {
    const PONG: &str = r#"{"event":"pusher:pong","data":"{}"}"#;
    let template = kick_template();
    let mut next = 0u64;
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    let per_tick = (rate / 100).max(1);
    let mut current: Option<ServerConn> = None;
    loop {
        let Some(conn) = newest(&mut connections, &mut current).await else {
            return;
        };
        tokio::select! {
            frame = conn.recv() => match frame {
                None => current = None,
                Some(frame) if frame.event == "pusher:ping" => {
                    if timeout(SEND_PATIENCE, conn.send_text(PONG)).await.is_err() {
                        continue;
                    }
                }
                Some(_) => {}
            },
            _ = ticks.tick() => {
                if !*running.borrow() {
                    continue;
                }
                for _ in 0..per_tick {
                    let frame = template.replace("SOAK-ID", &format!("kick-{next}"));
                    next += 1;
                    match timeout(SEND_PATIENCE, conn.send_text(frame)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => {
                            current = None;
                            break;
                        }
                        // Held up (a stall, a bandwidth cap): look for a newer connection.
                        Err(_) => break,
                    }
                }
            }
        }
    }
}

/// The newest of the connections `accepted` hands over (kept in `current`; an older one is given up),
/// waiting for one when there is none; `None` once no more can come.
async fn newest<'a, T>(accepted: &mut mpsc::Receiver<T>, current: &'a mut Option<T>) -> Option<&'a mut T> {
    while let Ok(newer) = accepted.try_recv() {
        *current = Some(newer);
    }
    if current.is_none() {
        *current = Some(accepted.recv().await?);
    }
    current.as_mut()
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

/// The EventSub server's sockets, one after the other, each welcomed at once as the next session
/// (keepalive 10 s).
fn eventsub_accepts(eventsub: EventSubServer) -> mpsc::Receiver<ServerSocket> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut session = 0;
        loop {
            // A handshake the chaos cuts fails, and one it stalls must not hold up the next client's.
            let Ok(Ok(mut socket)) = timeout(Duration::from_secs(5), eventsub.accept()).await else {
                continue;
            };
            session += 1;
            let tx = tx.clone();
            tokio::spawn(async move {
                if timeout(
                    Duration::from_secs(30),
                    socket.welcome(&format!("session-{session}"), 10),
                )
                .await
                .is_ok_and(|sent| sent.is_ok())
                {
                    let _ = tx.send(socket).await;
                }
            });
        }
    });
    rx
}

/// Twitch follows at `rate` a second while `running`, on the newest session's socket; a keepalive
/// when a second passes without one.
async fn twitch_traffic(
    mut sockets: mpsc::Receiver<ServerSocket>,
    running: watch::Receiver<bool>,
    rate: u32,
) {
    let mut ticks = tokio::time::interval(Duration::from_millis(1000 / u64::from(rate.max(1))));
    let mut next = 0u64;
    let mut current: Option<ServerSocket> = None;
    let mut last_sent = Instant::now();
    loop {
        ticks.tick().await;
        let Some(socket) = newest(&mut sockets, &mut current).await else {
            return;
        };
        let sent = if *running.borrow() {
            let event = json!({
                "user_id": format!("{}", 900_000 + next), "user_login": format!("soaker{next}"),
                "user_name": format!("Soaker{next}"), "broadcaster_user_id": BROADCASTER,
                "broadcaster_user_login": "soakcast", "broadcaster_user_name": "SoakCast",
                "followed_at": "2026-12-07T18:00:00Z",
            });
            let frame =
                onair_twitch::testing::notification(&format!("twitch-{next}"), "channel.follow", event);
            next += 1;
            timeout(SEND_PATIENCE, socket.send(&frame)).await
        } else if last_sent.elapsed() >= Duration::from_secs(1) {
            timeout(SEND_PATIENCE, socket.keepalive()).await
        } else {
            continue;
        };
        match sent {
            Ok(Ok(())) => last_sent = Instant::now(),
            Ok(Err(_)) => current = None,
            Err(_) => {}
        }
    }
}

/// Discord messages at `rate` a second while `running` and the shard is attached (through the proxy).
async fn discord_traffic(gateway: Arc<GatewayServer>, mut running: watch::Receiver<bool>, rate: u32) {
    let mut ticks = tokio::time::interval(Duration::from_millis(1000 / u64::from(rate.max(1))));
    let mut next = 0u64;
    loop {
        ticks.tick().await;
        if !*running.borrow_and_update() {
            if running.changed().await.is_err() {
                return;
            }
            continue;
        }
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
        next += 1;
        let _ = timeout(SEND_PATIENCE, gateway.dispatch(GUILD, "MESSAGE_CREATE", message)).await;
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

/// Compares what was delivered with what the store holds and what the relay clients received; prints the
/// figures and the RESULT line; true when nothing was lost, doubled or skipped.
#[allow(clippy::too_many_arguments)]
async fn report(
    db: &Path,
    delivered: &[BTreeMap<u64, usize>; 3],
    endings: &[Ending],
    received: &[Vec<i64>],
    samples: &[Vec<(f64, f64)>],
    fds_end: usize,
    faults: usize,
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
    let (mut lost, mut in_flight, mut events) = (0, 0, 0);
    // Kick chat's source id is `chat:` and Kick's message id; Twitch's is the notification's message id.
    for ((platform, list), key) in PLATFORMS
        .iter()
        .zip(delivered)
        .zip(["chat:kick-", "twitch-", "discord-"])
    {
        // Per run: how many delivered, and the first few missing.
        let mut runs: BTreeMap<usize, (usize, Vec<u64>)> = BTreeMap::new();
        for (n, incarnation) in list {
            events += 1;
            let run = runs.entry(*incarnation).or_default();
            run.0 += 1;
            if stored.contains_key(&(*platform, format!("{key}{n}"))) {
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
         relay_gaps={relay_gaps} rss_slope_mb_per_h={rss_slope:.1} fds_end={fds_end} faults={faults}",
        elapsed.as_secs_f64() / 60.0
    );
    Ok(lost == 0 && duplicated == 0 && relay_gaps == 0)
}
