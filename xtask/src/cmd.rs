//! Running other programs: with inherited stdio (failing with a message that names the command), quietly as a
//! probe, capturing stdout, or streaming stdout through while keeping some lines; plus showing a command line
//! the way a user would type it, and finding the repository root.

use std::borrow::Cow;
use std::env;
use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// The repository root: the parent of the xtask crate (taken from cargo at run time, else at build time).
pub fn repo_root() -> PathBuf {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.clone(), Path::to_path_buf)
}

/// Makes the repository root the current directory, so every command below runs there.
pub fn enter_repo_root() -> Result<(), String> {
    let root = repo_root();
    env::set_current_dir(&root)
        .map_err(|e| format!("cannot enter the repository root {}: {e}", root.display()))
}

/// A `cargo` command: the cargo that runs this xtask (`$CARGO`), else the one on `PATH`.
pub fn cargo() -> Command {
    Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `command` with inherited stdio and returns its exit status; fails only when it cannot start.
pub fn status(command: &mut Command) -> Result<ExitStatus, String> {
    command
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", display(command)))
}

/// Runs `command` with inherited stdio; fails, naming the command, when it cannot start or does not succeed.
pub fn run(command: &mut Command) -> Result<(), String> {
    let status = status(command)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", display(command)))
    }
}

/// Runs `command` silently and tells whether it started and succeeded.
pub fn probe(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `command` silently and returns its stdout (lossily decoded) whatever its exit status, or `None` when
/// it cannot start.
pub fn stdout_of(command: &mut Command) -> Option<String> {
    let output = command.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `command` with stdout piped through to ours line by line (stdin and stderr inherited), and returns
/// the lines `keep` accepts, without their line endings. Fails, naming the command, like [`run`].
pub fn run_tee(command: &mut Command, keep: impl Fn(&str) -> bool) -> Result<Vec<String>, String> {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", display(command)))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| format!("no stdout from `{}`", display(command)))?;
    let kept = tee_lines(BufReader::new(stdout), &mut io::stdout().lock(), keep)
        .map_err(|e| format!("while streaming the output of `{}`: {e}", display(command)));
    // Reap the child even when streaming failed.
    let status = child
        .wait()
        .map_err(|e| format!("waiting for `{}`: {e}", display(command)))?;
    let kept = kept?;
    if status.success() {
        Ok(kept)
    } else {
        Err(format!("`{}` failed ({status})", display(command)))
    }
}

/// Copies `input` to `output` line by line (flushing each) and returns the lines `keep` accepts, trimmed of
/// their line endings.
fn tee_lines(
    mut input: impl BufRead,
    output: &mut impl Write,
    keep: impl Fn(&str) -> bool,
) -> io::Result<Vec<String>> {
    let mut kept = Vec::new();
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        if input.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(kept);
        }
        output.write_all(&buffer)?;
        output.flush()?;
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim_end_matches(['\n', '\r']);
        if keep(line) {
            kept.push(line.to_owned());
        }
    }
}

/// The exit code to pass on for a child's `status`: its code, else (killed by a signal) 128 + the signal.
pub fn exit_code(status: ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    1
}

/// `command` as a user would type it: its environment additions, the program's file name, the quoted args.
pub fn display(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let program = program.file_stem().unwrap_or(program.as_os_str());
    let mut words: Vec<String> = command
        .get_envs()
        .filter_map(|(key, value)| Some(format!("{}={}", key.to_string_lossy(), value?.to_string_lossy())))
        .collect();
    words.push(program.to_string_lossy().into_owned());
    words.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    shell_line(&words)
}

/// The words joined into one shell command line, each quoted when it needs to be.
pub fn shell_line<S: AsRef<OsStr>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| quote(&w.as_ref().to_string_lossy()).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` quoted for a POSIX shell when it holds anything but plainly safe characters.
pub fn quote(word: &str) -> Cow<'_, str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(quote("--no-install-recommends"), "--no-install-recommends");
        assert_eq!(
            quote("DEBIAN_FRONTEND=noninteractive"),
            "DEBIAN_FRONTEND=noninteractive"
        );
        assert_eq!(quote("two words"), "'two words'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("${Status}"), "'${Status}'");
    }

    #[test]
    fn display_shows_env_program_name_and_args() {
        let mut command = Command::new("/usr/local/bin/cargo");
        command.env("CI", "true").args(["fmt", "--all", "--", "--check"]);
        assert_eq!(display(&command), "CI=true cargo fmt --all -- --check");
    }

    #[test]
    fn tee_passes_everything_through_and_keeps_matching_lines() {
        let input = b"compiling\nRESULT a=1\r\nnoise\nRESULT b=2".as_slice();
        let mut output = Vec::new();
        let kept = tee_lines(input, &mut output, |l| l.starts_with("RESULT ")).expect("in-memory io");
        assert_eq!(output, input);
        assert_eq!(kept, ["RESULT a=1", "RESULT b=2"]);
    }

    #[cfg(unix)]
    #[test]
    fn run_fails_naming_the_command() {
        let err = run(Command::new("false").arg("--flag")).expect_err("`false` fails");
        assert!(err.contains("`false --flag` failed"), "{err}");
        let err = run(&mut Command::new("/nonexistent/xtask-no-such-program")).expect_err("cannot start");
        assert!(err.contains("cannot start `xtask-no-such-program`"), "{err}");
        assert!(probe(&mut Command::new("true")));
        assert!(!probe(&mut Command::new("false")));
    }

    #[test]
    fn repo_root_holds_the_workspace_manifest() {
        assert!(repo_root().join("xtask").join("Cargo.toml").is_file());
    }
}
