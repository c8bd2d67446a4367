//! `cargo xtask bench app`: the release app (UI embedded) under Xvfb, with its own data folders.
//! Measures the time from launch to the dashboard's first paint (the app logs it), the idle PSS of all
//! the app's processes (the app and WebKit's web and network processes, from /proc/PID/smaps_rollup),
//! then, after a second launch asks the running app to simulate a fast stream, the PSS once the store holds
//! `ONAIR_BENCH_EVENTS` events (default 100000) with the live feed open. Linux only. The last line:
//! `RESULT app first_paint_ms=N idle_pss_mb=N loaded_pss_mb=N`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const APP: &str = env!("CARGO_BIN_EXE_onair-desktop");
/// How long the app gets to settle before a measurement.
const SETTLE: Duration = Duration::from_secs(5);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if !cfg!(target_os = "linux") {
        println!("the app bench reads /proc: Linux only");
        return Ok(());
    }
    if std::env::var_os("DISPLAY").is_none() {
        return Err("no X display: run it through cargo xtask bench app (which starts Xvfb)".into());
    }
    let events: u64 = std::env::var("ONAIR_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("onair.db");
    let launch = |args: &[&str]| -> std::io::Result<Child> {
        Command::new(APP)
            .args(args)
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .env("ONAIR_DB", &db)
            .env("ONAIR_SECRET_STORE", "file")
            .env("NO_AT_BRIDGE", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
    };

    let started = Instant::now();
    let mut app = launch(&[])?;
    let (lines, log) = mpsc::channel::<String>();
    let stderr = app.stderr.take().ok_or("no stderr")?;
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let painted_ms = loop {
        let line = log
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "the dashboard did not paint within a minute")?;
        if line.contains("the dashboard is painted") {
            break painted_ms(&line).ok_or_else(|| format!("no time in {line:?}"))?;
        }
    };
    println!(
        "first paint: {painted_ms} ms after the app started ({} ms after launch)",
        started.elapsed().as_millis()
    );
    std::thread::spawn(move || while log.recv().is_ok() {});

    std::thread::sleep(SETTLE);
    let idle = pss_kib(app.id())?;
    println!("idle: {}", describe(&idle));

    // A second launch hands --simulate to the running app (single instance) and exits.
    let mut second = launch(&["--simulate", "2000"])?;
    second.wait()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Read beside the running app (WAL: readers do not block its writer).
    let store = rt.block_on(onair_store::Store::open_existing(&db))?;
    let filling = Instant::now();
    loop {
        std::thread::sleep(Duration::from_secs(2));
        let stored = rt.block_on(store.stats())?.events;
        print!(
            "\r{stored} events stored ({:.0} s)",
            filling.elapsed().as_secs_f64()
        );
        if stored >= events {
            println!();
            break;
        }
        if filling.elapsed() > Duration::from_secs(600) {
            return Err(format!("only {stored} events after 10 minutes").into());
        }
    }
    rt.block_on(store.close());
    std::thread::sleep(SETTLE);
    let loaded = pss_kib(app.id())?;
    println!("with {events} events: {}", describe(&loaded));
    let _ = app.kill();
    let _ = app.wait();

    let mb = |usage: &[Usage]| usage.iter().map(|u| u.1).sum::<u64>() as f64 / 1024.0;
    println!(
        "RESULT app first_paint_ms={painted_ms} idle_pss_mb={:.0} loaded_pss_mb={:.0}",
        mb(&idle),
        mb(&loaded)
    );
    Ok(())
}

/// The `ms=N` of the app's "painted" log line.
fn painted_ms(line: &str) -> Option<u64> {
    let at = line.find("ms=")? + 3;
    let digits: String = line[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A process's memory: its name, PSS and anonymous KiB.
type Usage = (String, u64, u64);

/// The memory of `pid` and every process descended from it.
fn pss_kib(pid: u32) -> Result<Vec<Usage>, Box<dyn std::error::Error>> {
    let mut family = vec![pid];
    let mut i = 0;
    while i < family.len() {
        family.extend(children(family[i]));
        i += 1;
    }
    let mut out = Vec::new();
    for pid in family {
        let Ok(rollup) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            continue;
        };
        let field = |name: &str| {
            rollup
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        out.push((name.trim().to_owned(), field("Pss:"), field("Anonymous:")));
    }
    Ok(out)
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| {
                    // The parent is the 2nd field after the command name, which is in parentheses.
                    let rest = &stat[stat.rfind(')')? + 2..];
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// "237 MB PSS (anonymous 40 MB): onair-desktop 101/18, WebKitWebProces 109/13, ..." (PSS/anonymous MB).
/// PSS counts shared libraries' pages (WebKit, Mesa's LLVM) by how many processes map them, so under Xvfb,
/// where nothing else maps them, it counts them whole; anonymous memory (heaps, JS, buffers) is what the
/// app's own work costs.
fn describe(usage: &[Usage]) -> String {
    let mb = |kib: u64| kib as f64 / 1024.0;
    let pss: u64 = usage.iter().map(|u| u.1).sum();
    let anonymous: u64 = usage.iter().map(|u| u.2).sum();
    let parts: Vec<String> = usage
        .iter()
        .map(|(n, p, u)| format!("{n} {:.0}/{:.0}", mb(*p), mb(*u)))
        .collect();
    format!(
        "{:.0} MB PSS (anonymous {:.0} MB): {}",
        mb(pss),
        mb(anonymous),
        parts.join(", ")
    )
}
