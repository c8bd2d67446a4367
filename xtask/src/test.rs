//! `cargo xtask test`: what CI runs. Setup, then the steps in order (the fmt check, clippy with warnings as
//! errors, the workspace's tests), stopping at the first failure with the command that reproduces it.

use std::env;
use std::ffi::OsStr;
use std::path::Path;

use crate::{cmd, setup};

/// One step: a name for the banner and the failure message, and the cargo arguments that run it.
#[derive(Debug)]
struct Step {
    /// Short name, e.g. `clippy`.
    name: &'static str,
    /// The arguments after `cargo`.
    args: Vec<&'static str>,
}

/// Runs setup, then every step in order.
pub fn run() -> Result<(), String> {
    setup::run()?;
    let locked = is_ci(env::var_os("CI").as_deref()) && Path::new("Cargo.lock").is_file();
    let steps = steps(locked);
    for (index, step) in steps.iter().enumerate() {
        let mut command = cmd::cargo();
        command.args(&step.args);
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
/// dependencies.
fn steps(locked: bool) -> Vec<Step> {
    let lock: &[&'static str] = if locked { &["--locked"] } else { &[] };
    vec![
        Step {
            name: "fmt",
            args: vec!["fmt", "--all", "--", "--check"],
        },
        Step {
            name: "clippy",
            args: [
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
        },
        Step {
            name: "test",
            args: [&["test"], lock, &["--workspace", "--all-features"]].concat(),
        },
    ]
}

/// Whether the `CI` environment variable says we run on CI: set, and neither empty, `0` nor `false`.
fn is_ci(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(locked: bool) -> Vec<String> {
        steps(locked)
            .iter()
            .map(|s| format!("{}: cargo {}", s.name, s.args.join(" ")))
            .collect()
    }

    #[test]
    fn steps_run_fmt_then_clippy_then_tests() {
        assert_eq!(
            lines(false),
            [
                "fmt: cargo fmt --all -- --check",
                "clippy: cargo clippy --workspace --all-targets --all-features -- -D warnings",
                "test: cargo test --workspace --all-features",
            ]
        );
    }

    #[test]
    fn locked_goes_to_clippy_and_test_before_the_double_dash() {
        assert_eq!(
            lines(true),
            [
                "fmt: cargo fmt --all -- --check",
                "clippy: cargo clippy --locked --workspace --all-targets --all-features -- -D warnings",
                "test: cargo test --locked --workspace --all-features",
            ]
        );
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
