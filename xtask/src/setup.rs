//! `cargo xtask setup`: installs what a build and its tests need (the system packages, rustfmt and clippy,
//! the npm packages of the peer programs the tests run; later the UI's), idempotently, and quickly when
//! nothing is missing. The lists of apt packages and npm projects live here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use crate::cmd;

/// The Debian/Ubuntu packages a build needs. The one place to list them.
pub const APT_PACKAGES: &[&str] = &[
    // Finds system libraries for the `-sys` crates.
    "pkg-config",
    // Compiles C code: the bundled SQLite of sqlx's libsqlite3-sys.
    "gcc",
    "libc6-dev",
    // Cargo's git dependencies and the build's version stamping.
    "git",
    // TLS roots for fetching crates and git over HTTPS.
    "ca-certificates",
    // The desktop app (Tauri 2 on Linux): the web view, the tray, icons, the `enigo`-free input stack.
    "build-essential",
    "file",
    "libwebkit2gtk-4.1-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libxdo-dev",
    "libssl-dev",
    // Its end-to-end test: a private X server, D-Bus session and notification daemon, `gdbus` (the tray
    // as a panel sees it), WebKit's WebDriver, and fonts for the emoji and scripts of the simulated chat
    // (so screenshots show them).
    "xvfb",
    "xauth",
    "dbus-x11",
    "libglib2.0-bin",
    "webkit2gtk-driver",
    "dunst",
    "fonts-noto-color-emoji",
    "fonts-noto-cjk",
    // The relay's overlays are tested in headless Chromium (Debian's, at /usr/bin/chromium), driven by
    // playwright-core, which downloads no browser of its own.
    "chromium",
];

/// How apt commands get root: already root, `sudo` without a password, or not at all (the user must run them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Privilege {
    /// Running as root: run apt directly.
    Root,
    /// `sudo -n true` works: run apt through `sudo -n`.
    Sudo,
    /// Neither: print the command for the user to run with `sudo`.
    Manual,
}

/// Installs whatever is missing, printing one line per check.
pub fn run() -> Result<(), String> {
    apt_packages()?;
    rust_components()?;
    npm_projects()?;
    if cfg!(target_os = "linux") {
        tauri_driver()?;
    }
    Ok(())
}

/// The tauri-driver version line to install: 2.x (a plain install would pick a 3.0 alpha).
const TAURI_DRIVER_VERSION: &str = "^2";

/// Where setup installs tauri-driver: under `target/`, so it never touches the user's own tools.
pub fn tauri_driver_path() -> PathBuf {
    Path::new("target").join("tools").join("bin").join("tauri-driver")
}

/// Installs tauri-driver (the WebDriver bridge of the desktop app's E2E test) unless it is there.
fn tauri_driver() -> Result<(), String> {
    let path = tauri_driver_path();
    if path.is_file() {
        println!("setup: tauri-driver ok");
        return Ok(());
    }
    println!("setup: installing tauri-driver {TAURI_DRIVER_VERSION} into target/tools");
    cmd::run(cmd::cargo().args([
        "install",
        "tauri-driver",
        "--version",
        TAURI_DRIVER_VERSION,
        "--locked",
        "--root",
        "target/tools",
    ]))
}

/// Makes sure every package of [`APT_PACKAGES`] is installed (on systems with dpkg).
fn apt_packages() -> Result<(), String> {
    if !cmd::probe(Command::new("dpkg-query").arg("--version")) {
        println!(
            "setup: no dpkg here, apt packages skipped: make sure a C compiler is installed (cc/gcc/clang, or \
             MSVC on Windows) for the bundled SQLite"
        );
        return Ok(());
    }
    let missing = missing_apt_packages();
    if missing.is_empty() {
        println!("setup: apt packages ok");
        return Ok(());
    }
    let privilege = privilege();
    let commands = apt_commands(&missing, privilege);
    if privilege == Privilege::Manual {
        return Err(format!(
            "missing apt packages: {}; install them with:\n  {}",
            missing.join(" "),
            commands
                .iter()
                .map(|c| cmd::shell_line(c))
                .collect::<Vec<_>>()
                .join(" && ")
        ));
    }
    println!("setup: installing apt packages: {}", missing.join(" "));
    for argv in &commands {
        cmd::run(Command::new(&argv[0]).args(&argv[1..]))?;
    }
    let still_missing = missing_apt_packages();
    if !still_missing.is_empty() {
        return Err(format!(
            "apt packages still missing after installing: {}",
            still_missing.join(" ")
        ));
    }
    println!("setup: apt packages ok (installed {})", missing.join(" "));
    Ok(())
}

/// The packages of [`APT_PACKAGES`] that dpkg does not report as installed.
fn missing_apt_packages() -> Vec<&'static str> {
    APT_PACKAGES
        .iter()
        .copied()
        .filter(|name| {
            let status = cmd::stdout_of(Command::new("dpkg-query").args(["-W", "-f=${Status}\n", name]));
            !status.as_deref().is_some_and(is_installed)
        })
        .collect()
}

/// Whether `dpkg-query -W -f='${Status}\n'` output says the package is installed: some line (one per
/// architecture) reads `<want> <flag> installed`, e.g. `install ok installed` or `hold ok installed`.
fn is_installed(status: &str) -> bool {
    status.lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        matches!(words.as_slice(), [_, "ok", "installed"])
    })
}

/// How this process can get root for apt.
fn privilege() -> Privilege {
    let uid = cmd::stdout_of(Command::new("id").arg("-u"));
    if uid.as_deref().map(str::trim) == Some("0") {
        Privilege::Root
    } else if cmd::probe(Command::new("sudo").args(["-n", "true"])) {
        Privilege::Sudo
    } else {
        Privilege::Manual
    }
}

/// The commands (argv lists) that install `packages`: `apt-get update`, then a non-interactive
/// `apt-get install` without recommends, each behind the `sudo` that `privilege` calls for.
fn apt_commands(packages: &[&str], privilege: Privilege) -> Vec<Vec<String>> {
    let prefix: &[&str] = match privilege {
        Privilege::Root => &[],
        Privilege::Sudo => &["sudo", "-n"],
        Privilege::Manual => &["sudo"],
    };
    // `env` sets DEBIAN_FRONTEND past sudo, which would otherwise reset the environment.
    let update = ["apt-get", "update"].as_slice();
    let install = [
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
    ];
    let words = |parts: &[&[&str]]| parts.concat().into_iter().map(String::from).collect::<Vec<_>>();
    vec![words(&[prefix, update]), words(&[prefix, &install, packages])]
}

/// The rustup components behind `cargo fmt` and `cargo clippy`: (component, cargo subcommand).
const RUST_COMPONENTS: &[(&str, &str)] = &[("rustfmt", "fmt"), ("clippy", "clippy")];

/// Makes sure `cargo fmt` and `cargo clippy` work, adding the components with rustup when they are missing.
fn rust_components() -> Result<(), String> {
    let missing = missing_rust_components();
    if missing.is_empty() {
        println!("setup: rustfmt and clippy ok");
        return Ok(());
    }
    if !cmd::probe(Command::new("rustup").arg("--version")) {
        return Err(format!(
            "missing {} and no rustup to add them: install them for your Rust toolchain (with rustup: \
             `rustup component add rustfmt clippy`)",
            missing.join(" and ")
        ));
    }
    println!("setup: adding rust components: {}", missing.join(" "));
    cmd::run(Command::new("rustup").args(["component", "add"]).args(&missing))?;
    let still_missing = missing_rust_components();
    if !still_missing.is_empty() {
        return Err(format!(
            "still missing after `rustup component add`: {}",
            still_missing.join(" ")
        ));
    }
    println!("setup: rustfmt and clippy ok (added {})", missing.join(" "));
    Ok(())
}

/// The components of [`RUST_COMPONENTS`] whose cargo subcommand does not answer `--version`.
fn missing_rust_components() -> Vec<&'static str> {
    RUST_COMPONENTS
        .iter()
        .filter(|(_, subcommand)| !cmd::probe(cmd::cargo().args([subcommand, "--version"])))
        .map(|(component, _)| *component)
        .collect()
}

/// The npm projects setup installs, as directories relative to the repository root, each with a committed
/// `package-lock.json`. The one place to list them; the UI (`ui`) joins with the dashboard.
pub const NPM_PROJECTS: &[&str] = &[
    // soketi, a Pusher-protocol server: the real peer of onair-pusher's tests.
    "peers/soketi",
    // pusher-js, the reference Pusher client: the other side of onair-pusher's parse benchmark.
    "peers/pusher-js",
    // socket.io-client, the reference Socket.IO client: the other side of onair-relay's tests.
    "peers/socket.io-client",
    // The relay's overlays: socket.io-client's browser bundle, which onair-relay's build.rs embeds, and
    // playwright-core, which drives Chromium in their tests.
    "crates/onair-relay/overlays",
    // socket.io, the reference Socket.IO server: the side-by-side reference of onair-relay's benchmark.
    "peers/socket.io-server",
    // The dashboard (Svelte, Vite), its checks and unit tests, and webdriverio for the app's E2E test.
    "ui",
];

/// The oldest Node.js major version the npm projects run on (soketi's uWebSockets.js build ships the Node 20
/// ABI).
const MIN_NODE_MAJOR: u32 = 20;

/// What to tell a user who lacks a suitable Node.js.
const INSTALL_NODE: &str = "install Node.js 20 or newer with npm (https://nodejs.org, or your package \
                            manager, e.g. `apt-get install nodejs npm` where its nodejs is 20+)";

/// Makes sure `node` (recent enough) and `npm` exist, then installs the packages of every project of
/// [`NPM_PROJECTS`] whose `node_modules` is missing or stale.
fn npm_projects() -> Result<(), String> {
    node_and_npm()?;
    for dir in NPM_PROJECTS {
        npm_project(dir)?;
    }
    Ok(())
}

/// Fails, saying what to install, unless `node` is at least [`MIN_NODE_MAJOR`] and `npm` answers.
fn node_and_npm() -> Result<(), String> {
    let Some(version) = cmd::stdout_of(Command::new("node").arg("--version")) else {
        return Err(format!("no `node` on PATH: {INSTALL_NODE}"));
    };
    let version = version.trim();
    match node_major(version) {
        Some(major) if major >= MIN_NODE_MAJOR => {}
        Some(_) => return Err(format!("node {version} is too old: {INSTALL_NODE}")),
        None => {
            return Err(format!(
                "cannot read the version of `node` (`{version}`): {INSTALL_NODE}"
            ));
        }
    }
    if !cmd::probe(npm().arg("--version")) {
        return Err(format!(
            "no working `npm` on PATH (node {version} is there): {INSTALL_NODE}"
        ));
    }
    Ok(())
}

/// The major version in the output of `node --version`, e.g. 20 for `v20.20.2`.
fn node_major(version: &str) -> Option<u32> {
    version.trim().strip_prefix('v')?.split('.').next()?.parse().ok()
}

/// An `npm` command (`npm.cmd` on Windows, where npm is a batch file that `Command` does not find by its bare
/// name).
pub fn npm() -> Command {
    Command::new(if cfg!(windows) { "npm.cmd" } else { "npm" })
}

/// Runs `npm ci` in `dir` when its packages are missing or older than its lockfile, printing one line.
fn npm_project(dir: &str) -> Result<(), String> {
    let path = Path::new(dir);
    let lock = path.join("package-lock.json");
    let lock_time = modified(&lock).ok_or_else(|| {
        format!(
            "{} is missing: it must be committed with its package.json",
            lock.display()
        )
    })?;
    if !needs_npm_ci(modified(&installed_marker(path)), lock_time) {
        println!("setup: {dir} npm packages ok");
        return Ok(());
    }
    println!("setup: {dir} npm packages: installing (npm ci)");
    // `npm ci` never prompts; stdin is closed anyway so nothing can wait for an answer.
    cmd::run(
        npm()
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(path)
            .stdin(Stdio::null()),
    )?;
    if modified(&installed_marker(path)).is_none() {
        return Err(format!(
            "`npm ci` in {dir} succeeded but left no {}",
            installed_marker(path).display()
        ));
    }
    println!("setup: {dir} npm packages ok (installed)");
    Ok(())
}

/// The file whose age stands for the age of `dir`'s `node_modules`: npm's own record of what it installed,
/// `node_modules/.package-lock.json`, written last by a complete `npm ci` or `npm install` (so an interrupted
/// install, which leaves `node_modules` without it, counts as missing).
fn installed_marker(dir: &Path) -> PathBuf {
    dir.join("node_modules").join(".package-lock.json")
}

/// When `path` was last modified, or `None` when it does not exist (or the system keeps no such time).
fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Whether `npm ci` must run: the packages are missing (`installed` is `None`) or older than the lockfile.
fn needs_npm_ci(installed: Option<SystemTime>, lock: SystemTime) -> bool {
    installed.is_none_or(|installed| installed < lock)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn installed_status_is_recognised() {
        assert!(is_installed("install ok installed\n"));
        assert!(is_installed("hold ok installed"));
        // One line per installed architecture of a multi-arch package.
        assert!(is_installed("install ok installed\ninstall ok installed\n"));
        assert!(!is_installed(""));
        assert!(!is_installed("unknown ok not-installed\n"));
        assert!(!is_installed("deinstall ok config-files\n"));
        assert!(!is_installed("install ok half-installed\n"));
        assert!(!is_installed("install reinstreq half-installed\n"));
    }

    #[test]
    fn apt_commands_as_root() {
        let commands = apt_commands(&["gcc", "git"], Privilege::Root);
        assert_eq!(
            commands,
            [
                vec!["apt-get", "update"],
                vec![
                    "env",
                    "DEBIAN_FRONTEND=noninteractive",
                    "apt-get",
                    "install",
                    "-y",
                    "--no-install-recommends",
                    "gcc",
                    "git"
                ],
            ]
        );
    }

    #[test]
    fn apt_commands_through_sudo() {
        let commands = apt_commands(&["pkg-config"], Privilege::Sudo);
        assert_eq!(commands[0], ["sudo", "-n", "apt-get", "update"]);
        assert_eq!(commands[1][..3], ["sudo", "-n", "env"]);
        assert_eq!(commands[1].last().map(String::as_str), Some("pkg-config"));
        let manual: Vec<String> = apt_commands(&["gcc"], Privilege::Manual)
            .iter()
            .map(|c| cmd::shell_line(c))
            .collect();
        assert_eq!(
            manual,
            [
                "sudo apt-get update",
                "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc"
            ]
        );
    }

    #[test]
    fn node_major_reads_node_version_output() {
        assert_eq!(node_major("v20.20.2\n"), Some(20));
        assert_eq!(node_major("v22.1.0"), Some(22));
        assert_eq!(node_major("v8.17.0"), Some(8));
        assert_eq!(node_major("20.1.0"), None);
        assert_eq!(node_major("vx.1"), None);
        assert_eq!(node_major(""), None);
    }

    #[test]
    fn npm_ci_runs_when_packages_are_missing_or_stale() {
        let lock = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let second = Duration::from_secs(1);
        assert!(needs_npm_ci(None, lock));
        assert!(needs_npm_ci(Some(lock - second), lock));
        // npm writes both files in the same instant: equal times are up to date.
        assert!(!needs_npm_ci(Some(lock), lock));
        assert!(!needs_npm_ci(Some(lock + second), lock));
    }

    #[test]
    fn every_npm_project_has_its_manifest_and_lockfile() {
        let root = cmd::repo_root();
        for dir in NPM_PROJECTS {
            for file in ["package.json", "package-lock.json"] {
                assert!(root.join(dir).join(file).is_file(), "{dir}/{file} is missing");
            }
        }
    }

    #[test]
    fn the_package_list_has_no_duplicates() {
        let mut names = APT_PACKAGES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), APT_PACKAGES.len());
    }
}
