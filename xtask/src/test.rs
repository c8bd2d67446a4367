//! `cargo xtask test`: what CI runs. Setup, then the steps in order (the fmt check, clippy with warnings as
//! errors, the workspace's tests), stopping at the first failure with the command that reproduces it.

use std::env;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use crate::{cmd, setup};

/// What a step runs.
#[derive(Debug)]
enum Tool {
    /// `cargo ARGS`.
    Cargo,
    /// `npm ARGS` in a folder.
    Npm(&'static str),
    /// `bash SCRIPT ARGS`, with the tools setup installed.
    Bash(&'static str),
    /// A program of the workspace an earlier step built (debug), run from the target folder: `cargo run`
    /// would resolve features for it alone and rebuild dependencies the earlier build already has.
    Built(&'static str),
}

/// One step: a name for the banner and the failure message, and what it runs.
#[derive(Debug)]
struct Step {
    /// Short name, e.g. `clippy`.
    name: &'static str,
    /// The program.
    tool: Tool,
    /// Its arguments.
    args: Vec<&'static str>,
}

impl Step {
    fn command(&self) -> Command {
        let mut command = match self.tool {
            Tool::Cargo => cmd::cargo(),
            Tool::Npm(dir) => {
                let mut npm = setup::npm();
                npm.current_dir(dir);
                npm
            }
            Tool::Bash(script) => {
                let mut bash = Command::new("bash");
                bash.arg(script).env("TAURI_DRIVER", setup::tauri_driver_path());
                bash
            }
            Tool::Built(program) => Command::new(crate::soak::built(program, "debug")),
        };
        command.args(&self.args);
        command
    }

    /// The step as a line: `name: program args` (with the folder for npm).
    #[cfg(test)]
    fn line(&self) -> String {
        match self.tool {
            Tool::Cargo => format!("{}: cargo {}", self.name, self.args.join(" ")),
            Tool::Npm(dir) => format!("{}: npm {} (in {dir})", self.name, self.args.join(" ")),
            Tool::Bash(script) => format!("{}: bash {script} {}", self.name, self.args.join(" "))
                .trim_end()
                .to_owned(),
            Tool::Built(program) => format!("{}: {program} {}", self.name, self.args.join(" ")),
        }
    }
}

/// Runs setup, then every step in order.
pub fn run() -> Result<(), String> {
    setup::run()?;
    let locked = is_ci(env::var_os("CI").as_deref()) && Path::new("Cargo.lock").is_file();
    let steps = steps(locked, cfg!(target_os = "linux"));
    for (index, step) in steps.iter().enumerate() {
        let mut command = step.command();
        let line = cmd::display(&command);
        println!("\n==> test [{}/{}] {}: {line}", index + 1, steps.len(), step.name);
        let status = cmd::status(&mut command)?;
        if !status.success() {
            return Err(format!(
                "test step `{}` failed ({status}); reproduce with:\n  {line}",
                step.name
            ));
        }
    }
    println!("\n==> test: all {} steps passed", steps.len());
    Ok(())
}

/// The steps in order; `locked` (on CI with a committed Cargo.lock) adds `--locked` to the ones that resolve
/// dependencies; `e2e` (Linux, where Xvfb and WebKitWebDriver run) adds the desktop app's end-to-end test.
fn steps(locked: bool, e2e: bool) -> Vec<Step> {
    let lock: &[&'static str] = if locked { &["--locked"] } else { &[] };
    let cargo = |name, args: Vec<&'static str>| Step {
        name,
        tool: Tool::Cargo,
        args,
    };
    let ui = |name, args: &[&'static str]| Step {
        name,
        tool: Tool::Npm("ui"),
        args: args.to_vec(),
    };
    let mut steps = vec![
        cargo("fmt", vec!["fmt", "--all", "--", "--check"]),
        // The desktop app embeds the built UI: it must exist before clippy and the tests compile it.
        ui("ui build", &["run", "build"]),
        ui("ui check", &["run", "check"]),
        ui("ui lint", &["run", "lint"]),
        ui("ui test", &["test"]),
        cargo(
            "clippy",
            [
                &["clippy"],
                lock,
                &[
                    "--workspace",
                    "--all-targets",
                    "--all-features",
                    "--",
                    "-D",
                    "warnings",
                ],
            ]
            .concat(),
        ),
        cargo(
            "test",
            [&["test"], lock, &["--workspace", "--all-features"]].concat(),
        ),
        // The short soak: two minutes of traffic, restarts and a kill -9 (`cargo xtask soak` for longer).
        cargo("soak build", [crate::soak::BUILD, lock].concat()),
        Step {
            name: "soak",
            tool: Tool::Built("soak"),
            args: vec!["--for", "2m"],
        },
    ];
    if e2e {
        // The app, and the `onair` command its E2E runs beside it on the app's database.
        steps.push(cargo(
            "app build",
            [
                &["build"],
                lock,
                &[
                    "-p",
                    "onair-desktop",
                    "-p",
                    "onair",
                    "--features",
                    "onair-desktop/custom-protocol",
                ],
            ]
            .concat(),
        ));
        steps.push(Step {
            name: "e2e",
            tool: Tool::Bash("ui/e2e/run.sh"),
            args: vec![],
        });
    }
    steps
}

/// Whether the `CI` environment variable says we run on CI: set, and neither empty, `0` nor `false`.
fn is_ci(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(locked: bool, e2e: bool) -> Vec<String> {
        steps(locked, e2e).iter().map(Step::line).collect()
    }

    #[test]
    fn steps_build_the_ui_before_clippy_and_end_with_the_app_e2e() {
        assert_eq!(
            lines(false, true),
            [
                "fmt: cargo fmt --all -- --check",
                "ui build: npm run build (in ui)",
                "ui check: npm run check (in ui)",
                "ui lint: npm run lint (in ui)",
                "ui test: npm test (in ui)",
                "clippy: cargo clippy --workspace --all-targets --all-features -- -D warnings",
                "test: cargo test --workspace --all-features",
                "soak build: cargo build -p onair -p onair-tests --bins",
                "soak: soak --for 2m",
                "app build: cargo build -p onair-desktop -p onair --features onair-desktop/custom-protocol",
                "e2e: bash ui/e2e/run.sh",
            ]
        );
    }

    #[test]
    fn locked_goes_before_the_double_dash_and_e2e_only_where_it_runs() {
        let locked = lines(true, false);
        assert_eq!(locked.len(), 9);
        assert_eq!(
            locked[5],
            "clippy: cargo clippy --locked --workspace --all-targets --all-features -- -D warnings"
        );
        assert_eq!(locked[6], "test: cargo test --locked --workspace --all-features");
        assert_eq!(locked[8], "soak: soak --for 2m");
    }

    #[test]
    fn ci_detection() {
        assert!(is_ci(Some(OsStr::new("true"))));
        assert!(is_ci(Some(OsStr::new("1"))));
        assert!(!is_ci(None));
        assert!(!is_ci(Some(OsStr::new(""))));
        assert!(!is_ci(Some(OsStr::new("0"))));
        assert!(!is_ci(Some(OsStr::new("False"))));
    }
}
