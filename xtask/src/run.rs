//! `cargo xtask run [ARGS...]`: setup, then the desktop app (the UI built and embedded, release mode) with
//! ARGS, exiting with the app's code.

use std::ffi::OsString;

use crate::{cmd, setup};

/// The cargo arguments that build and run the app with its UI embedded; ARGS follow the `--`.
const RUN_APP: &[&str] = &[
    "run",
    "--release",
    "-p",
    "onair-desktop",
    "--features",
    "custom-protocol",
    "--",
];

/// Runs setup, builds the UI, then the app with `args`; returns the app's exit code.
pub fn run(args: &[OsString]) -> Result<i32, String> {
    setup::run()?;
    cmd::run(setup::npm().args(["run", "build"]).current_dir("ui"))?;
    let mut command = cmd::cargo();
    command.args(RUN_APP).args(args);
    let status = cmd::status(&mut command)?;
    Ok(cmd::exit_code(status))
}
