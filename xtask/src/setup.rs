//! `cargo xtask setup`: installs what a build needs (the system packages, rustfmt and clippy, later the UI's
//! npm packages), idempotently, and quickly when nothing is missing. The list of apt packages lives here.

use std::process::Command;

use crate::cmd;

/// The Debian/Ubuntu packages a build needs. The one place to list them.
///
/// The desktop app's packages (libwebkit2gtk-4.1-dev, libayatana-appindicator3-dev, librsvg2-dev,
/// libxdo-dev, libssl-dev, build-essential, file, ...) join this list with the Tauri issue.
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
    ui_packages()
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

/// The UI's npm packages: the place where setup will install them, doing nothing for now.
///
/// When the Svelte dashboard lands in `ui/`, this checks that `node` and `npm` exist (failing with the
/// instruction to install them), runs `npm ci` in `ui/` when `ui/node_modules` is missing or older than
/// `ui/package-lock.json`, and prints `setup: ui packages ok`. Until then there is nothing to install.
fn ui_packages() -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
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
    fn the_package_list_has_no_duplicates() {
        let mut names = APT_PACKAGES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), APT_PACKAGES.len());
    }
}
