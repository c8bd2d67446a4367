//! `cargo xtask bench relay`: the relay serving a thousand real socket.io-clients on the loopback, side by
//! side in the same run with a plain node socket.io server (npm `socket.io`, the reference server, 4.8 like
//! the client) broadcasting the same events to the same number of clients.
//!
//! The clients: per server, one node process (`peers/socket.io-client/bench-clients.mjs`, the npm
//! socket.io-client over the websocket transport) opens [`CLIENTS`] clients with the token, each subscribed
//! to everything, and reports what they received as JSON lines; the bench waits for its signals (all
//! connected, phase expected, phase received), never for a time. The reference server is
//! `peers/socket.io-server/broadcast-server.mjs`: it takes the events' JSON lines on stdin and broadcasts
//! each with `io.to(subscribers).emit("event", payload)`. Both servers and both sets of clients stay up for
//! the whole run, and the phases alternate between the servers, so a busy machine slows both alike.
//!
//! The events: the sample traffic of onair-core (chat-heavy, realistic sizes), committed with offsets; the
//! payload each client receives is the event's JSON v1 object, the same for both servers. The ingest time
//! is the event's own `received_at`: the bench stamps it (`Utc::now()`) just before it hands the event to
//! the server, i.e. before `Relay::publish` (which then encodes it) or before writing its JSON line to the
//! node server's stdin (which node then parses). A client's latency is its receive time on the same
//! machine's wall clock minus that stamp. The clients of a server share one node process, which takes each
//! event's thousand deliveries one after the other (some 10-20 µs each), so a paced event's latencies spread
//! over the tens of milliseconds that fan-out takes: the latencies are those of a thousand clients on one
//! small machine, not of one client alone (with 10 clients, p50 is about a millisecond).
//!
//! The phases, each on one server then the other:
//! - warm-up: [`WARMUP_EVENTS`] events as fast as the server takes them, not reported;
//! - then [`ROUNDS`] rounds of
//!   - paced: [`PACED_EVENTS`] events at a steady [`PACED_RATE`] per second, a very busy chat. Latency is
//!     only reported from here (p50, p99 and max over every delivery of every round): in a flood, latency
//!     measures the length of the queue the flood built, not the server;
//!   - flood: [`FLOOD_EVENTS`] events as fast as the server takes them (the relay: publish, then yield to
//!     the runtime; node: as fast as its stdin pipe takes the lines). Throughput = events / (last delivery
//!     to any client - first event's stamp), best of the rounds; an event counts once it has reached all
//!     the clients (deliveries per second are that times [`CLIENTS`]).
//!
//! Every client must receive every event once and in order, or the bench fails saying what was missing.
//! Also shown: the CPU time of the server's process and of its clients' process over the floods (in cores
//! busy, and the server's per 1000 deliveries: when the one node process of the clients is the limit, the
//! servers' rates come close and their CPU per delivery says more), and memory: VmRSS with the clients
//! connected before any event and VmHWM at the end, of the bench process for the relay (which runs in it)
//! and of the node server's process.
//!
//! The last line is `RESULT relay clients=N events_per_s=N p99_ms=N node_events_per_s=N ratio=N`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use onair_core::{Event, Offset, sample};
use onair_relay::{Relay, RelayOptions};
use secrecy::SecretString;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

/// Socket.IO clients per server.
const CLIENTS: usize = 1000;
/// Events sent before the measured phases, to warm up both servers and the clients (JIT, buffers).
const WARMUP_EVENTS: usize = 200;
/// Rounds of the paced and flood phases.
const ROUNDS: usize = 3;
/// Events of a paced phase.
const PACED_EVENTS: usize = 200;
/// Events per second in a paced phase: a very busy chat (20,000 deliveries a second to the clients), slow
/// enough that the one node process of the clients keeps up on a small machine (at 50/s it fell behind, and
/// the latency measured its own queue).
const PACED_RATE: u32 = 20;
/// Events of a flood phase. It stays under the relay's per-client buffer ([`RelayOptions::client_buffer`]):
/// a flood longer than that disconnects clients that fall behind, by design.
const FLOOD_EVENTS: usize = 500;
/// How long all the clients may take to connect and subscribe.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the driver may stay silent past a phase's publishing (it gives up on its own after 30 s of
/// silence and reports what arrived).
const PHASE_GRACE: Duration = Duration::from_secs(90);
/// The sample traffic's seed and population of chatters.
const TRAFFIC_SEED: u64 = 0x5eed;
const CHATTERS: u32 = 5000;

/// What to do when the npm peers are missing.
const SETUP_HINT: &str = "run `cargo xtask setup` (it installs the npm peers; Node.js 20+ must be installed)";

fn main() {
    raise_open_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("bench relay: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let clients_script = peer_script("socket.io-client", "socket.io-client", "bench-clients.mjs")?;
    let server_script = peer_script("socket.io-server", "socket.io", "broadcast-server.mjs")?;
    let token = format!("bench-{}", uuid::Uuid::now_v7().simple());
    let mut events = sample_events();
    let bytes: usize = events.iter().map(|e| e.to_json_line().len()).sum();
    println!(
        "relay bench: {CLIENTS} socket.io-clients per server (websocket, one node process) on 127.0.0.1; \
         sample chat-heavy events of {} bytes of JSON on average",
        bytes / events.len()
    );
    println!(
        "phases, alternating between the servers: warm-up {WARMUP_EVENTS} events; then {ROUNDS} rounds of \
         paced {PACED_EVENTS} events at {PACED_RATE}/s (latency) and flood {FLOOD_EVENTS} events as fast as \
         the server takes them (throughput)"
    );

    let mut options = RelayOptions::new(SecretString::from(token.clone()));
    options.addr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    if FLOOD_EVENTS.max(WARMUP_EVENTS) > options.client_buffer {
        return Err(format!(
            "a flood of {FLOOD_EVENTS} events would overflow the relay's per-client buffer of {}",
            options.client_buffer
        ));
    }
    let relay = Relay::start(options, None).await.map_err(|e| e.to_string())?;
    let url = format!("http://{}", relay.local_addr());
    let ours = Side::connect("relay", Server::Relay(relay), &url, &token, &clients_script).await?;
    let node = NodeServer::start(&server_script, &token).await?;
    let url = format!("http://127.0.0.1:{}", node.port);
    let theirs = Side::connect("node", Server::Node(node), &url, &token, &clients_script).await?;
    let mut sides = [ours, theirs];

    let (warmup, mut rest) = events.split_at_mut(WARMUP_EVENTS);
    for side in &mut sides {
        side.phase(Phase::Warmup, warmup).await?;
    }
    for _ in 0..ROUNDS {
        let (paced, after) = rest.split_at_mut(PACED_EVENTS);
        let (flood, after) = after.split_at_mut(FLOOD_EVENTS);
        rest = after;
        for side in &mut sides {
            side.phase(Phase::Paced, paced).await?;
        }
        for side in &mut sides {
            side.phase(Phase::Flood, flood).await?;
        }
    }
    let [ours, theirs] = sides;
    let ours = ours.finish().await;
    let theirs = theirs.finish().await;
    report(&ours, &theirs);
    Ok(())
}

/// Prints the table and the `RESULT` line.
fn report(ours: &Measured, theirs: &Measured) {
    println!("\n== side by side ({CLIENTS} clients each)");
    println!("{:<34} {:>16} {:>16}", "", "relay", "node socket.io");
    let row = |what: &str, ours: String, theirs: String| println!("{what:<34} {ours:>16} {theirs:>16}");
    row(
        "connect + subscribe all",
        format!("{:.1} s", ours.connect_seconds),
        format!("{:.1} s", theirs.connect_seconds),
    );
    for (what, pick) in [
        ("paced latency p50", Latency::P50),
        ("paced latency p99", Latency::P99),
        ("paced latency max", Latency::Max),
    ] {
        row(
            what,
            format!("{:.2} ms", ours.paced.latency(pick)),
            format!("{:.2} ms", theirs.paced.latency(pick)),
        );
    }
    row(
        &format!("flood events/s (best of {ROUNDS})"),
        format!("{:.0}", ours.events_per_s),
        format!("{:.0}", theirs.events_per_s),
    );
    row(
        "flood deliveries/s",
        format!("{:.0}", ours.events_per_s * CLIENTS as f64),
        format!("{:.0}", theirs.events_per_s * CLIENTS as f64),
    );
    row(
        "flood CPU: server (cores busy)",
        cores(ours.flood_cpu.server_cores()),
        cores(theirs.flood_cpu.server_cores()),
    );
    row(
        "flood CPU: clients (cores busy)",
        cores(ours.flood_cpu.clients_cores()),
        cores(theirs.flood_cpu.clients_cores()),
    );
    row(
        "server CPU per 1000 deliveries",
        ms(ours.flood_cpu.server_ms_per_1000()),
        ms(theirs.flood_cpu.server_ms_per_1000()),
    );
    row(
        "RSS connected, before events",
        mib(ours.memory_connected.map(|m| m.rss_kib)),
        mib(theirs.memory_connected.map(|m| m.rss_kib)),
    );
    row(
        "RSS peak (VmHWM)",
        mib(ours.memory_end.map(|m| m.peak_kib)),
        mib(theirs.memory_end.map(|m| m.peak_kib)),
    );
    println!("(the relay's memory and CPU are the bench process's: the relay runs in it)");
    let ratio = ours.events_per_s / theirs.events_per_s;
    println!(
        "RESULT relay clients={CLIENTS} events_per_s={:.0} p99_ms={:.2} node_events_per_s={:.0} ratio={ratio:.2}",
        ours.events_per_s,
        ours.paced.latency(Latency::P99),
        theirs.events_per_s,
    );
}

/// The events of the run, committed with offsets 1, 2, ... in phase order; both servers get the same ones
/// (their `received_at` is stamped again as each is sent).
fn sample_events() -> Vec<Event> {
    let total = WARMUP_EVENTS + ROUNDS * (PACED_EVENTS + FLOOD_EVENTS);
    sample::Traffic::new(TRAFFIC_SEED, CHATTERS)
        .take(total)
        .enumerate()
        .map(|(i, mut event)| {
            event.offset = Some(Offset(i as i64 + 1));
            event
        })
        .collect()
}

/// A server under measurement.
enum Server {
    Relay(Relay),
    Node(NodeServer),
}

impl Server {
    /// Stamps `event` as ingested now and hands it to the server.
    async fn send(&mut self, event: &mut Event) -> Result<(), String> {
        event.received_at = Utc::now();
        match self {
            Server::Relay(relay) => {
                relay.publish(event);
                Ok(())
            }
            Server::Node(node) => node.broadcast(event).await,
        }
    }

    /// The id of the process the server runs in.
    fn pid(&self) -> Option<u32> {
        match self {
            Server::Relay(_) => Some(std::process::id()),
            Server::Node(node) => node.child.id(),
        }
    }

    /// Stops it (the relay tells nobody to come back: its clients are gone).
    async fn stop(self) {
        match self {
            Server::Relay(relay) => relay.shutdown(Duration::ZERO).await,
            Server::Node(node) => node.stop().await,
        }
    }
}

/// The kinds of phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Paced,
    Flood,
}

impl Phase {
    /// Its name in the driver's reports.
    fn name(self) -> &'static str {
        match self {
            Phase::Warmup => "warm-up",
            Phase::Paced => "paced",
            Phase::Flood => "flood",
        }
    }
}

/// One server with its clients, and what has been measured so far.
struct Side {
    label: &'static str,
    server: Server,
    driver: Driver,
    connect_seconds: f64,
    memory_connected: Option<Memory>,
    /// The last paced phase's report (its `all` covers every paced phase).
    paced: Option<PhaseReport>,
    events_per_s: f64,
    flood_cpu: FloodCpu,
}

impl Side {
    /// Starts the clients of `server` at `url` and waits until all are connected and subscribed.
    async fn connect(
        label: &'static str,
        server: Server,
        url: &str,
        token: &str,
        clients_script: &Path,
    ) -> Result<Side, String> {
        let mut driver = Driver::start(clients_script, url, token).await?;
        let connect_seconds = driver
            .connected()
            .await
            .map_err(|e| format!("{label} at {url}: {e}"))?;
        let memory_connected = server.pid().and_then(Memory::of);
        println!(
            "{label} at {url}: {CLIENTS} clients connected and subscribed in {connect_seconds:.1} s; server \
             RSS {}",
            mib(memory_connected.map(|m| m.rss_kib))
        );
        Ok(Side {
            label,
            server,
            driver,
            connect_seconds,
            memory_connected,
            paced: None,
            events_per_s: 0.0,
            flood_cpu: FloodCpu::new(),
        })
    }

    /// Sends `events` to the server (paced at [`PACED_RATE`] per second, or as fast as it takes them),
    /// waits for the driver's report that every client has them all, and keeps what it measured.
    async fn phase(&mut self, phase: Phase, events: &mut [Event]) -> Result<(), String> {
        let name = phase.name();
        let offset = |event: Option<&Event>| event.and_then(|e| e.offset).map_or(0, |o| o.0);
        let (first, last) = (offset(events.first()), offset(events.last()));
        self.driver.expect(name, first, last).await?;
        let cpu_before = self.cpu();
        let mut ticks =
            (phase == Phase::Paced).then(|| tokio::time::interval(Duration::from_secs(1) / PACED_RATE));
        let started = Instant::now();
        for event in events.iter_mut() {
            match ticks.as_mut() {
                Some(ticks) => {
                    ticks.tick().await;
                }
                None => tokio::task::yield_now().await,
            }
            self.server.send(event).await?;
        }
        let report = self.driver.phase_report(started.elapsed() + PHASE_GRACE).await?;
        let seconds = started.elapsed().as_secs_f64();
        report.check(name).map_err(|e| format!("{}: {e}", self.label))?;
        let summary = report.summary();
        match phase {
            Phase::Warmup => println!("{}: warm-up: {summary}", self.label),
            Phase::Paced => {
                println!("{}: paced: {summary}", self.label);
                self.paced = Some(report);
            }
            Phase::Flood => {
                let rate = report.events_per_s();
                let (server, clients) = self.cpu();
                self.flood_cpu.add(
                    seconds,
                    report.received,
                    cpu_before.0.zip(server).map(|(a, b)| b - a),
                    cpu_before.1.zip(clients).map(|(a, b)| b - a),
                );
                println!(
                    "{}: flood: {rate:.0} events/s ({:.0} deliveries/s); {summary}",
                    self.label,
                    rate * CLIENTS as f64
                );
                self.events_per_s = self.events_per_s.max(rate);
            }
        }
        Ok(())
    }

    /// The CPU seconds used so far by the server's process and by the clients' process.
    fn cpu(&self) -> (Option<f64>, Option<f64>) {
        (
            self.server.pid().and_then(cpu_seconds),
            self.driver.child.id().and_then(cpu_seconds),
        )
    }

    /// Reads the memory at the end, disconnects the clients and stops the server.
    async fn finish(self) -> Measured {
        let memory_end = self.server.pid().and_then(Memory::of);
        self.driver.close().await;
        self.server.stop().await;
        Measured {
            connect_seconds: self.connect_seconds,
            paced: self.paced.map(|p| p.all).unwrap_or_default(),
            events_per_s: self.events_per_s,
            flood_cpu: self.flood_cpu,
            memory_connected: self.memory_connected,
            memory_end,
        }
    }
}

/// What one server's run measured.
struct Measured {
    connect_seconds: f64,
    /// Latency over every paced phase.
    paced: Latencies,
    /// The best flood's.
    events_per_s: f64,
    flood_cpu: FloodCpu,
    memory_connected: Option<Memory>,
    memory_end: Option<Memory>,
}

/// Where the CPU went during the floods (each from its first event sent to its report), added up.
struct FloodCpu {
    seconds: f64,
    deliveries: usize,
    /// The server's process (the relay's is the bench process); `None` once unknown.
    server_seconds: Option<f64>,
    /// The clients' node process; `None` once unknown.
    clients_seconds: Option<f64>,
}

impl FloodCpu {
    fn new() -> FloodCpu {
        FloodCpu {
            seconds: 0.0,
            deliveries: 0,
            server_seconds: Some(0.0),
            clients_seconds: Some(0.0),
        }
    }

    /// Adds a flood of `seconds` and `deliveries` in which the server and the clients used `server` and
    /// `clients` seconds of CPU.
    fn add(&mut self, seconds: f64, deliveries: usize, server: Option<f64>, clients: Option<f64>) {
        self.seconds += seconds;
        self.deliveries += deliveries;
        self.server_seconds = self.server_seconds.zip(server).map(|(a, b)| a + b);
        self.clients_seconds = self.clients_seconds.zip(clients).map(|(a, b)| a + b);
    }

    /// The server's CPU in cores busy (1.0: one core all the time).
    fn server_cores(&self) -> Option<f64> {
        Some(self.server_seconds? / self.seconds)
    }

    /// The clients' CPU in cores busy.
    fn clients_cores(&self) -> Option<f64> {
        Some(self.clients_seconds? / self.seconds)
    }

    /// The server's CPU time per 1000 deliveries, in ms.
    fn server_ms_per_1000(&self) -> Option<f64> {
        Some(self.server_seconds? * 1000.0 * 1000.0 / self.deliveries as f64)
    }
}

/// One phase as the driver saw it (see bench-clients.mjs for each field).
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // Every field is read from the driver's report; some only show in `Debug`.
struct PhaseReport {
    name: String,
    clients: usize,
    events: usize,
    expected: usize,
    received: usize,
    duplicates: usize,
    out_of_order: usize,
    stray: usize,
    unreadable: usize,
    timed_out: bool,
    /// Over this phase's deliveries (`p50_ms`, `p99_ms`, `max_ms`).
    #[serde(flatten)]
    latencies: Latencies,
    first_ingest_ms: Option<f64>,
    last_receive_ms: Option<f64>,
    span_ms: Option<f64>,
    /// Over every phase so far of the same name.
    all: Latencies,
}

/// Latencies over some deliveries, in ms; `None` when there were none.
#[derive(Debug, Default, Deserialize)]
struct Latencies {
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    max_ms: Option<f64>,
}

impl Latencies {
    fn latency(&self, which: Latency) -> f64 {
        match which {
            Latency::P50 => self.p50_ms,
            Latency::P99 => self.p99_ms,
            Latency::Max => self.max_ms,
        }
        .unwrap_or(f64::NAN)
    }
}

/// Which latency of a phase.
#[derive(Clone, Copy)]
enum Latency {
    P50,
    P99,
    Max,
}

impl PhaseReport {
    /// Fails unless every client received every event of phase `name` once, in order, and nothing else.
    fn check(&self, name: &str) -> Result<(), String> {
        if self.name != name {
            return Err(format!(
                "the client driver reported phase `{}` while `{name}` was under way",
                self.name
            ));
        }
        let complete = self.received == self.expected
            && self.duplicates == 0
            && self.out_of_order == 0
            && self.stray == 0
            && self.unreadable == 0
            && !self.timed_out;
        if complete {
            return Ok(());
        }
        Err(format!(
            "phase {name}: the clients received {} of {} deliveries ({} events x {} clients){}; duplicates {}, \
             out of order {}, outside the phase {}, unreadable {}",
            self.received,
            self.expected,
            self.events,
            self.clients,
            if self.timed_out {
                ", then nothing for 30 s"
            } else {
                ""
            },
            self.duplicates,
            self.out_of_order,
            self.stray,
            self.unreadable
        ))
    }

    /// Events per second that reached every client: the events over the time from the first one's stamp to
    /// the last delivery.
    fn events_per_s(&self) -> f64 {
        let seconds = self.span_ms.unwrap_or(f64::NAN) / 1000.0;
        self.events as f64 / seconds.max(1e-9)
    }

    fn summary(&self) -> String {
        format!(
            "{} deliveries in {:.0} ms, latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.received,
            self.span_ms.unwrap_or(f64::NAN),
            self.latencies.latency(Latency::P50),
            self.latencies.latency(Latency::P99),
            self.latencies.latency(Latency::Max)
        )
    }
}

/// A line of the driver's stdout.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DriverLine {
    Connected { clients: usize, seconds: f64 },
    Expecting { phase: String },
    Phase(Box<PhaseReport>),
    Error { message: String },
}

/// The node process of the clients (bench-clients.mjs).
struct Driver {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Driver {
    async fn start(script: &Path, url: &str, token: &str) -> Result<Driver, String> {
        let mut child = node(script)
            .args([url, token, &CLIENTS.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_error)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the client driver's pipes were not set up".into());
        };
        Ok(Driver {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// The next line the driver prints that the bench can read, within `limit`. Lines it cannot read are
    /// reported and skipped; an `error` line or the driver's exit is an error.
    async fn next(&mut self, limit: Duration) -> Result<DriverLine, String> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut skipped = None;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line())
                .await
                .map_err(|_| match &skipped {
                    None => format!("the client driver said nothing for {} s", limit.as_secs()),
                    Some(line) => format!(
                        "the client driver said nothing the bench could read for {} s (the last line it \
                         skipped: {line})",
                        limit.as_secs()
                    ),
                })?
                .map_err(|e| format!("reading the client driver's output: {e}"))?;
            let Some(line) = line else {
                let status = self
                    .child
                    .wait()
                    .await
                    .map_or_else(|e| e.to_string(), |s| s.to_string());
                return Err(format!("the client driver ended ({status}) without reporting"));
            };
            match serde_json::from_str::<DriverLine>(&line) {
                Ok(DriverLine::Error { message }) => {
                    return Err(format!(
                        "the client driver failed: {message} (is the server up? if node or socket.io-client \
                         is missing, {SETUP_HINT})"
                    ));
                }
                Ok(line) => return Ok(line),
                Err(e) => {
                    eprintln!("bench relay: skipped a line of the client driver ({e}): {line}");
                    skipped = Some(line);
                }
            }
        }
    }

    /// Waits until every client is connected and subscribed; the seconds that took.
    async fn connected(&mut self) -> Result<f64, String> {
        match self.next(CONNECT_TIMEOUT).await? {
            DriverLine::Connected { clients, seconds } if clients == CLIENTS => Ok(seconds),
            other => Err(format!(
                "the client driver said {other:?} instead of `connected` with {CLIENTS} clients"
            )),
        }
    }

    /// Tells the driver the next phase's offsets and waits for its answer.
    async fn expect(&mut self, phase: &str, first: i64, last: i64) -> Result<(), String> {
        let command = serde_json::json!({ "expect": { "phase": phase, "first": first, "last": last } });
        self.command(&command).await?;
        match self.next(Duration::from_secs(30)).await? {
            DriverLine::Expecting { phase: answered } if answered == phase => Ok(()),
            other => Err(format!(
                "the client driver said {other:?} instead of `expecting` {phase}"
            )),
        }
    }

    /// Waits for the report of the phase under way.
    async fn phase_report(&mut self, limit: Duration) -> Result<PhaseReport, String> {
        match self.next(limit).await? {
            DriverLine::Phase(report) => Ok(*report),
            other => Err(format!(
                "the client driver said {other:?} instead of a phase report"
            )),
        }
    }

    async fn command(&mut self, command: &serde_json::Value) -> Result<(), String> {
        let line = format!("{command}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("the client driver does not take commands ({e})"))
    }

    /// Disconnects the clients and waits (briefly) for the driver to exit.
    async fn close(mut self) {
        let _ = self.command(&serde_json::json!({ "close": {} })).await;
        if timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

/// The reference server (broadcast-server.mjs) in its node process.
struct NodeServer {
    child: Child,
    stdin: ChildStdin,
    port: u16,
}

impl NodeServer {
    async fn start(script: &Path, token: &str) -> Result<NodeServer, String> {
        let mut child = node(script)
            .arg(token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_error)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the node server's pipes were not set up".into());
        };
        #[derive(Deserialize)]
        struct Listening {
            listening: Port,
        }
        #[derive(Deserialize)]
        struct Port {
            port: u16,
        }
        let mut lines = BufReader::new(stdout).lines();
        let line = timeout(Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| "the node server did not say where it listens within 30 s".to_owned())?
            .map_err(|e| format!("reading the node server's output: {e}"))?
            .ok_or_else(|| format!("the node server ended before it listened; {SETUP_HINT}"))?;
        let Listening {
            listening: Port { port },
        } = serde_json::from_str(&line)
            .map_err(|e| format!("the node server printed {line:?} instead of where it listens ({e})"))?;
        Ok(NodeServer { child, stdin, port })
    }

    async fn broadcast(&mut self, event: &Event) -> Result<(), String> {
        let mut line = event.to_json_line();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("the node server does not take events ({e})"))
    }

    /// Closes its stdin (it then closes its connections and exits) and waits briefly.
    async fn stop(self) {
        let NodeServer { mut child, stdin, .. } = self;
        drop(stdin);
        if timeout(Duration::from_secs(10), child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
    }
}

/// A `node SCRIPT` command.
fn node(script: &Path) -> Command {
    let mut command = Command::new("node");
    command.arg(script);
    command
}

fn spawn_error(e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("no `node` on PATH: install Node.js 20+, then {SETUP_HINT}")
    } else {
        format!("could not start node: {e}")
    }
}

/// `peers/<dir>/<script>`, once `package` is installed there.
fn peer_script(dir: &str, package: &str, script: &str) -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = root.ancestors().nth(2).unwrap_or(root);
    let dir = root.join("peers").join(dir);
    if !dir.join("node_modules").join(package).is_dir() {
        return Err(format!(
            "{package} is not installed in {}: {SETUP_HINT}",
            dir.display()
        ));
    }
    Ok(dir.join(script))
}

/// A process's resident memory, from /proc (Linux).
#[derive(Debug, Clone, Copy)]
struct Memory {
    /// VmRSS: resident now.
    rss_kib: u64,
    /// VmHWM: the most it has been resident.
    peak_kib: u64,
}

impl Memory {
    /// The memory of process `pid`; `None` where /proc does not say.
    fn of(pid: u32) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(Memory {
            rss_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
        })
    }
}

/// Cores busy for a table; "n/a" when unknown.
fn cores(busy: Option<f64>) -> String {
    busy.map_or_else(|| "n/a".to_owned(), |busy| format!("{busy:.2}"))
}

/// Milliseconds for a table; "n/a" when unknown.
fn ms(ms: Option<f64>) -> String {
    ms.map_or_else(|| "n/a".to_owned(), |ms| format!("{ms:.1} ms"))
}

/// The CPU time (user and system, all threads) process `pid` has used, in seconds; `None` where /proc does
/// not say (Linux only).
fn cpu_seconds(pid: u32) -> Option<f64> {
    #[cfg(unix)]
    {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The fields after the command (in parentheses, which may hold spaces): state is the 3rd field,
        // utime and stime the 14th and 15th, in clock ticks.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
        let used = ticks(14)? + ticks(15)?;
        Some(used as f64 / rustix::param::clock_ticks_per_second() as f64)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        None
    }
}

/// KiB as MiB for a table; "n/a" when unknown.
fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
    )
}

/// Raises this process's soft limit of open files to its hard limit: the relay holds a socket per client
/// (and the node processes, which inherit it, do too). Where that fails the bench goes on, and a client that
/// cannot connect is reported.
fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if let Err(e) = setrlimit(Resource::Nofile, raised) {
                eprintln!(
                    "bench relay: could not raise the open-file limit from {:?} ({e}); {CLIENTS} clients need \
                     over {CLIENTS}: raise it with `ulimit -n`",
                    limit.current
                );
            }
        }
    }
}
