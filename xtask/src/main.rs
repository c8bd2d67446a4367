//! `cargo xtask`: OnAir's own automation (`setup`, `test`, `run`, `bench`), written with std only so it
//! compiles in seconds.
//!
//! This module owns the command-line dispatch and the usage text; each command lives in its own module,
//! and `cmd` holds the helpers that run other programs.

mod bench;
mod cmd;
mod run;
mod setup;
mod soak;
mod test;

use std::env;
use std::ffi::OsString;
use std::process;

/// The commands with their one-line descriptions, in the order `help` lists them.
const COMMANDS: &[(&str, &str)] = &[
    (
        "setup",
        "install what builds and tests need (apt, rustfmt, clippy, npm peers); quick when nothing is missing",
    ),
    (
        "test",
        "setup, then the fmt check, the UI's checks and tests, clippy (-D warnings), the workspace's tests and the app's E2E: what CI runs",
    ),
    (
        "run [ARGS...]",
        "setup, then build the UI and run the desktop app in release mode with ARGS",
    ),
    (
        "bench [NAME...]",
        "setup, then run the named benchmarks (all when none); their RESULT lines come last",
    ),
    (
        "soak [ARGS...]",
        "setup, then the soak on release builds (--for 1h, --restart-every 5m): traffic, restarts, kill -9; a RESULT line",
    ),
    ("help", "print this help"),
];

fn main() {
    let mut args = env::args_os().skip(1);
    let command = args.next();
    let rest: Vec<OsString> = args.collect();
    let code = match dispatch(command.as_deref().map(|c| c.to_string_lossy()).as_deref(), &rest) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    };
    process::exit(code);
}

/// Runs `command` with its `args`; returns the process exit code on success.
fn dispatch(command: Option<&str>, args: &[OsString]) -> Result<i32, String> {
    match command {
        None | Some("help" | "-h" | "--help") => {
            print!("{}", usage());
            return Ok(0);
        }
        Some("setup" | "test" | "run" | "bench" | "soak") => {}
        Some(other) => {
            eprint!("{}", usage());
            return Err(format!(
                "unknown command `{other}` (the commands are listed above)"
            ));
        }
    }
    cmd::enter_repo_root()?;
    match command {
        Some("setup") => {
            no_args("setup", args)?;
            setup::run().map(|()| 0)
        }
        Some("test") => {
            no_args("test", args)?;
            test::run().map(|()| 0)
        }
        Some("run") => run::run(args),
        Some("soak") => soak::run(args),
        _ => {
            let names: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
            bench::run(&names).map(|()| 0)
        }
    }
}

/// Fails when a command that takes no arguments was given some.
fn no_args(command: &str, args: &[OsString]) -> Result<(), String> {
    match args.first() {
        None => Ok(()),
        Some(arg) => Err(format!(
            "`{command}` takes no arguments (got `{}`)",
            arg.to_string_lossy()
        )),
    }
}

/// The usage text: one line per command.
fn usage() -> String {
    let width = COMMANDS.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text =
        String::from("OnAir's automation.\n\nUsage: cargo xtask <COMMAND> [ARGS...]\n\nCommands:\n");
    for (name, description) in COMMANDS {
        text.push_str(&format!("  {name:<width$}  {description}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_lists_every_command() {
        let text = usage();
        for name in [
            "setup",
            "test",
            "run [ARGS...]",
            "bench [NAME...]",
            "soak [ARGS...]",
            "help",
        ] {
            assert!(
                text.lines().any(|l| l.trim_start().starts_with(name)),
                "{name} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn unknown_command_fails_and_names_it() {
        let err = dispatch(Some("frobnicate"), &[]).expect_err("unknown command must fail");
        assert!(err.contains("frobnicate"), "{err}");
    }

    #[test]
    fn commands_without_arguments_reject_them() {
        assert!(no_args("setup", &[]).is_ok());
        let err = no_args("test", &[OsString::from("--fast")]).expect_err("extra args must fail");
        assert!(err.contains("--fast") && err.contains("test"), "{err}");
    }
}
