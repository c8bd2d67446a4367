//! `cargo xtask bench [NAME...]`: setup, then the named benchmarks (all known ones when none), streaming their
//! output and printing their machine-readable `RESULT ` lines together at the end. The table of known
//! benchmarks lives here.

use crate::{cmd, setup};

/// The prefix of the machine-readable line a bench binary prints last.
const RESULT_PREFIX: &str = "RESULT ";

/// A known benchmark: the name `cargo xtask bench` takes, and the cargo package and bench target that run it.
#[derive(Debug, PartialEq, Eq)]
struct Bench {
    /// The name on the command line.
    name: &'static str,
    /// The package holding the bench (`cargo bench -p`).
    package: &'static str,
    /// The bench target (`cargo bench --bench`).
    target: &'static str,
    /// Whether it runs the desktop app: the UI is built first, embedded (`custom-protocol`), and the bench
    /// runs under Xvfb with a private D-Bus session.
    desktop: bool,
}

/// Every known benchmark, in the order `bench` with no names runs them. The one place to add a bench.
const BENCHES: &[Bench] = &[
    Bench {
        name: "store",
        package: "onair-store",
        target: "store",
        desktop: false,
    },
    Bench {
        name: "pusher",
        package: "onair-pusher",
        target: "pusher",
        desktop: false,
    },
    Bench {
        name: "twitch",
        package: "onair-twitch",
        target: "eventsub",
        desktop: false,
    },
    Bench {
        name: "discord",
        package: "onair-discord",
        target: "gateway",
        desktop: false,
    },
    Bench {
        name: "relay",
        package: "onair-relay",
        target: "relay",
        desktop: false,
    },
    Bench {
        name: "app",
        package: "onair-desktop",
        target: "app",
        desktop: true,
    },
];

/// Runs setup, then the selected benchmarks; the last line printed is a `RESULT ` line.
pub fn run(names: &[String]) -> Result<(), String> {
    // Check the names before setup, so a typo fails at once.
    let benches = select(names)?;
    setup::run()?;
    let mut results = Vec::new();
    for bench in benches {
        let mut command = bench_command(bench)?;
        let line = cmd::display(&command);
        println!("\n==> bench {}: {line}", bench.name);
        let lines = cmd::run_tee(&mut command, |l| result_line(l).is_some())
            .map_err(|e| format!("bench `{}`: {e}; reproduce with:\n  {line}", bench.name))?;
        if lines.is_empty() {
            return Err(format!(
                "bench `{}` printed no `{RESULT_PREFIX}` line; reproduce with:\n  {line}",
                bench.name
            ));
        }
        results.extend(lines);
    }
    println!("\n==> bench results");
    for result in &results {
        println!("{result}");
    }
    Ok(())
}

/// The command that runs `bench` (building the UI first for the desktop's).
fn bench_command(bench: &Bench) -> Result<std::process::Command, String> {
    let args = ["bench", "-p", bench.package, "--bench", bench.target];
    if !bench.desktop {
        let mut command = cmd::cargo();
        command.args(args);
        return Ok(command);
    }
    cmd::run(setup::npm().args(["run", "build"]).current_dir("ui"))?;
    if !cfg!(target_os = "linux") {
        let mut command = cmd::cargo();
        command.args(args).args(["--features", "custom-protocol"]);
        return Ok(command);
    }
    let mut command = std::process::Command::new("xvfb-run");
    command
        .args(["-a", "-s", "-screen 0 1280x800x24", "dbus-run-session", "--"])
        .arg(cmd::cargo().get_program())
        .args(args)
        .args(["--features", "custom-protocol"]);
    Ok(command)
}

/// The benches `names` ask for, in the order given and without repeats; all known ones when `names` is
/// empty. An unknown name fails, listing the known ones.
fn select(names: &[String]) -> Result<Vec<&'static Bench>, String> {
    if names.is_empty() {
        return Ok(BENCHES.iter().collect());
    }
    let mut selected: Vec<&'static Bench> = Vec::new();
    for name in names {
        let bench = BENCHES.iter().find(|b| b.name == name).ok_or_else(|| {
            let known: Vec<&str> = BENCHES.iter().map(|b| b.name).collect();
            format!(
                "unknown bench `{name}`; the known benches are: {}",
                known.join(", ")
            )
        })?;
        if !selected.contains(&bench) {
            selected.push(bench);
        }
    }
    Ok(selected)
}

/// `line` (without its line ending) when it is a machine-readable result line, i.e. starts with `RESULT `.
fn result_line(line: &str) -> Option<&str> {
    let line = line.trim_end_matches(['\n', '\r']);
    line.starts_with(RESULT_PREFIX).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn no_names_select_every_known_bench() {
        let all = select(&[]).expect("no names is fine");
        assert_eq!(all.len(), BENCHES.len());
        assert_eq!(
            all[0],
            &Bench {
                name: "store",
                package: "onair-store",
                target: "store",
                desktop: false,
            }
        );
    }

    #[test]
    fn known_names_are_found_once() {
        let selected = select(&names(&["store", "store"])).expect("store is known");
        assert_eq!(selected.iter().map(|b| b.name).collect::<Vec<_>>(), ["store"]);
    }

    #[test]
    fn discord_runs_the_gateway_bench_of_onair_discord() {
        let selected = select(&names(&["discord"])).expect("discord is known");
        assert_eq!(
            selected,
            [&Bench {
                name: "discord",
                package: "onair-discord",
                target: "gateway",
                desktop: false,
            }]
        );
    }

    #[test]
    fn an_unknown_name_fails_listing_the_known_ones() {
        let err = select(&names(&["store", "stor"])).expect_err("stor is unknown");
        assert!(err.contains("`stor`") && err.contains("store"), "{err}");
    }

    #[test]
    fn result_lines_are_recognised() {
        assert_eq!(
            result_line("RESULT bench=store events_per_s=51234\n"),
            Some("RESULT bench=store events_per_s=51234")
        );
        assert_eq!(result_line("RESULT x=1\r\n"), Some("RESULT x=1"));
        assert_eq!(result_line("RESULT"), None);
        assert_eq!(result_line("RESULTS x=1"), None);
        assert_eq!(result_line(" RESULT x=1"), None);
        assert_eq!(result_line("test store ... bench"), None);
    }

    #[test]
    fn bench_names_are_unique() {
        for (i, bench) in BENCHES.iter().enumerate() {
            assert!(
                BENCHES[i + 1..].iter().all(|b| b.name != bench.name),
                "{} twice",
                bench.name
            );
        }
    }
}
