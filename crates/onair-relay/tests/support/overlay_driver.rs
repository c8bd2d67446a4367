//! The overlays' test driver (`overlays/test/driver.mjs`: node, playwright-core, headless Chromium) as the
//! Rust tests use it, shared by onair-relay's `tests/overlays.rs` and onair's `tests/overlay_simulate.rs`
//! (each includes this file): finding Chromium (skipped loudly off CI when it is absent, a failure on CI),
//! starting the driver, sending it commands and reading what it says.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

/// Whether this runs on CI, as `cargo xtask test` decides it.
fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// The Chromium to drive (`CHROMIUM`, or Debian's), or `None` (said loudly) when it is absent off CI.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        !on_ci(),
        "no Chromium at {} on CI: `cargo xtask setup` installs Debian's `chromium`",
        path.display()
    );
    eprintln!(
        "\n!!!!!!!! SKIPPED: no Chromium at {}; the overlays are NOT tested. Install it (`cargo xtask setup` \
         installs Debian's `chromium`) or point CHROMIUM at one. !!!!!!!!\n",
        path.display()
    );
    None
}

/// The overlays' npm project (its pages, and the driver under `test/`).
pub fn overlays_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../onair-relay/overlays")
}

/// The running driver.
pub struct OverlayDriver {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl OverlayDriver {
    /// Starts the driver on `chromium`.
    pub fn start(chromium: &Path) -> OverlayDriver {
        let dir = overlays_dir();
        assert!(
            dir.join("node_modules/playwright-core").is_dir(),
            "the overlays' npm packages are not installed: run `cargo xtask setup` (no {})",
            dir.join("node_modules/playwright-core").display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("test/driver.mjs"))
            .env("CHROMIUM", chromium)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        OverlayDriver {
            stdin: child.stdin.take().unwrap(),
            lines: BufReader::new(child.stdout.take().unwrap()).lines(),
            _child: child,
        }
    }

    /// Sends one command.
    pub async fn send(&mut self, command: Value) {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next thing the driver says; a page or driver error fails the test.
    pub async fn next(&mut self) -> Value {
        let line = timeout(Duration::from_secs(60), self.lines.next_line())
            .await
            .expect("the driver said nothing for 60 s")
            .unwrap()
            .expect("the driver ended");
        let line: Value = serde_json::from_str(&line).unwrap();
        for failure in ["page_error", "driver_error"] {
            assert!(line.get(failure).is_none(), "{line}");
        }
        line
    }
}
