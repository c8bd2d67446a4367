//! `cargo xtask run [ARGS...]`: setup, then the app in release mode with ARGS, exiting with the app's code.

use std::ffi::OsString;

use crate::{cmd, setup};

/// The cargo arguments that run the app; ARGS follow the `--`.
///
/// For now the app is the `onair` command-line daemon; when `src-tauri/` exists this becomes the desktop app.
const RUN_APP: &[&str] = &["run", "--release", "-p", "onair", "--bin", "onair", "--"];

/// Runs setup, then the app with `args`; returns the app's exit code.
pub fn run(args: &[OsString]) -> Result<i32, String> {
    setup::run()?;
    let mut command = cmd::cargo();
    command.args(RUN_APP).args(args);
    let status = cmd::status(&mut command)?;
    Ok(cmd::exit_code(status))
}
