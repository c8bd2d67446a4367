//! `cargo xtask soak [ARGS...]`: setup, then the soak (tests/src/bin/soak.rs) on release builds of `onair`
//! and of the soak itself, with ARGS (`--for 1h`, `--restart-every 5m`, `--rate 200`, `--seed N`, `--calm`); its
//! last line is its `RESULT` line, and it exits non-zero on any lost, doubled or skipped event.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::{cmd, setup};

/// The cargo arguments that build what the soak runs (`onair` and the soak, side by side).
pub const BUILD: &[&str] = &["build", "-p", "onair", "-p", "onair-tests", "--bins"];

/// Runs setup, builds both in release mode, then the soak with `args`; returns its exit code.
pub fn run(args: &[OsString]) -> Result<i32, String> {
    setup::run()?;
    cmd::run(cmd::cargo().args(BUILD).arg("--release"))?;
    let mut command = std::process::Command::new(built("soak", "release"));
    command.args(args);
    let status = cmd::status(&mut command)?;
    Ok(cmd::exit_code(status))
}

/// Where cargo put `program` of `profile` (`CARGO_TARGET_DIR`, else `target/`).
pub fn built(program: &str, profile: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target
        .join(profile)
        .join(format!("{program}{}", std::env::consts::EXE_SUFFIX))
}
