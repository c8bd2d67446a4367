//! `cargo xtask soak [ARGS...]`: setup, then the soak (tests/src/bin/soak.rs) on release builds of `onair`
//! and of the soak itself, with ARGS (`--for 1h`, `--restart-every 5m`, `--rate 200`, `--seed N`); its
//! last line is its `RESULT` line, and it exits non-zero on any lost, doubled or skipped event.

use std::ffi::OsString;

use crate::{cmd, setup};

/// The cargo arguments that build what the soak runs (`onair` and the soak, side by side).
pub const BUILD: &[&str] = &["build", "-p", "onair", "-p", "onair-tests", "--bins"];

/// Runs setup, builds both in release mode, then the soak with `args`; returns its exit code.
pub fn run(args: &[OsString]) -> Result<i32, String> {
    setup::run()?;
    cmd::run(cmd::cargo().args(BUILD).arg("--release"))?;
    let mut command = cmd::cargo();
    command
        .args(["run", "--release", "-p", "onair-tests", "--bin", "soak", "--"])
        .args(args);
    let status = cmd::status(&mut command)?;
    Ok(cmd::exit_code(status))
}
