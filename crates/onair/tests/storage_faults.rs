//! Storage faults under the real `onair`: another program holding the database's write lock for longer
//! than the busy timeout, the disk filling up (a small tmpfs in a private mount namespace), the disk
//! turning read-only while `onair run` records (an ext4 loop device the kernel is told to fail; needs
//! root), and `kill -9` of `onair run` during heavy ingest. In each, nothing panics, the output says what
//! is wrong and what to do, and nothing reported recorded is lost; recording resumes by itself when the
//! fault clears, and where it cannot clear while `onair` runs (the read-only disk), Ctrl-C ends the run
//! within its grace, saying how many received events could not be recorded.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};
use tokio::process::Command;
use tokio::time::timeout;

mod common;

const ONAIR: &str = env!("CARGO_BIN_EXE_onair");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/examples/events.jsonl");

/// Reads lines until one contains `text`; returns every line read.
async fn until<R: AsyncRead + Unpin>(lines: &mut Lines<BufReader<R>>, text: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let found = timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains(text);
            seen.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        found == Ok(true),
        "no line with {text:?} in:\n{}",
        seen.join("\n")
    );
    seen
}

fn stored(db: &Path) -> usize {
    common::stored_events(Path::new(ONAIR), db).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_lock_held_past_the_busy_timeout_holds_an_import_up_until_it_is_let_go() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let created = std::process::Command::new(ONAIR)
        .arg("--db")
        .arg(&db)
        .args(["import", EXAMPLES])
        .output()
        .unwrap();
    assert!(created.status.success());
    let file = common::twitch_follows(dir.path(), "follow-", 3_000);

    // Another program takes the write lock and keeps it.
    let mut other = SqliteConnectOptions::new().filename(&db).connect().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap();
    let mut import = Command::new(ONAIR)
        .arg("--db")
        .arg(&db)
        .arg("import")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut errors = BufReader::new(import.stderr.take().unwrap()).lines();
    let said = until(&mut errors, "store: recording is held up").await;
    let held_up = said.last().unwrap();
    assert!(
        held_up.contains("another program holds the database's write lock")
            && held_up.contains("close it")
            && held_up.contains("resumes by itself"),
        "{held_up}"
    );

    // It lets go: the import finishes by itself, with everything.
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    until(&mut errors, "store: recording again").await;
    let out = timeout(Duration::from_secs(60), import.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success());
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("imported 3000 new events"), "{report}");
    assert_eq!(stored(&db), 3_032);
}

/// Whether this machine lets a process make a private user and mount namespace (for a tmpfs of its
/// own); said loudly when not, since the disk tests then cannot run.
fn namespaces_available() -> bool {
    let ok = std::process::Command::new("unshare")
        .args(["-Urm", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIPPED: `unshare -Urm` is not permitted here (no unprivileged user namespaces), so the disk \
             cannot be filled in a private tmpfs"
        );
    }
    ok
}

/// Inside a private mount namespace: a 32 MiB tmpfs at `$DIR`, a database with the examples on it, the disk
/// filled but for a little room, then `onair import` of `$FILE` (its stderr is the script's), then the
/// number of events stored.
const FULL_DISK: &str = r#"
set -euo pipefail
mount -t tmpfs -o size=32m tmpfs "$DIR"
"$ONAIR" --db "$DIR/onair.db" import "$EXAMPLES" > /dev/null
free=$(df --output=avail -B1 "$DIR" | tail -1)
head -c $((free - 160 * 1024)) /dev/zero > "$DIR/filler"
echo "filled"
"$ONAIR" --db "$DIR/onair.db" import "$FILE"
echo "stored $("$ONAIR" --db "$DIR/onair.db" events --after 0 --limit 0 --format jsonl | wc -l)"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_holds_an_import_up_and_it_finishes_when_space_is_freed() {
    if !namespaces_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("disk");
    std::fs::create_dir(&mount).unwrap();
    let file = common::twitch_follows(dir.path(), "follow-", 5_000);
    let mut script = Command::new("unshare")
        .args(["-Urm", "bash", "-c", FULL_DISK])
        .env("DIR", &mount)
        .env("ONAIR", ONAIR)
        .env("EXAMPLES", EXAMPLES)
        .env("FILE", &file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // `unshare` runs the script in its own process: its view of the tmpfs is under /proc/PID/root.
    let filler = PathBuf::from(format!("/proc/{}/root", script.id().unwrap()))
        .join(mount.strip_prefix("/").unwrap())
        .join("filler");
    let mut out = BufReader::new(script.stdout.take().unwrap()).lines();
    let mut errors = BufReader::new(script.stderr.take().unwrap()).lines();
    until(&mut out, "filled").await;
    let said = until(&mut errors, "store: recording is held up").await;
    let held_up = said.last().unwrap();
    assert!(
        held_up.contains("the disk that holds the database is full: free some space on it"),
        "{held_up}"
    );

    std::fs::remove_file(&filler).unwrap();
    until(&mut errors, "store: recording again").await;
    let rest = until(&mut out, "stored ").await;
    assert!(
        rest.iter().any(|l| l.contains("imported 5000 new events")),
        "{rest:?}"
    );
    assert_eq!(rest.last().unwrap(), "stored 5032", "every event, once");
    assert!(script.wait().await.unwrap().success());
}

/// A Kick chat frame whose message id is `chat-N`.
fn chat_frame(n: usize) -> String {
    common::kick_frame("chat_basic.json")
        .replace("3f1c9a52-7b1e-4d0a-9c55-1e2f8a6b0d41", &format!("chat-{n}"))
}

/// Checks that the database at `db` is whole (`PRAGMA integrity_check`), stores no chat message twice and
/// holds every one of `relayed` (what a relay client received: what was reported recorded); returns the
/// chat messages' source ids.
async fn whole_with_each_once(db: &Path, relayed: &[String]) -> Vec<String> {
    let mut check = SqliteConnectOptions::new().filename(db).connect().await.unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut check)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    check.close().await.unwrap();
    let stored: Vec<String> = common::stored_events(Path::new(ONAIR), db)
        .into_iter()
        .filter(|e| e["kind"] == "chat_message")
        .map(|e| e["source_id"].as_str().unwrap().to_owned())
        .collect();
    let unique: std::collections::HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "no event stored twice");
    let missing: Vec<&String> = relayed.iter().filter(|id| !unique.contains(id)).collect();
    assert!(missing.is_empty(), "relayed but not stored: {missing:?}");
    stored
}

const TOKEN: &str = "storage-faults-token";

/// `onair run` on the scripted server with its relay, its stdout read as it comes.
fn run(dir: &Path, db: &Path, pusher_url: &str) -> common::Running {
    let mut command = Command::new(ONAIR);
    command
        .arg("--db")
        .arg(db)
        .args([
            "run",
            "--watch",
            "kick:novastreams@4781203/4760932",
            "--relay",
            "127.0.0.1:0",
        ])
        .env("ONAIR_KICK_PUSHER_URL", pusher_url)
        .env("ONAIR_KICK_API_URL", "http://127.0.0.1:9")
        .env("ONAIR_RELAY_TOKEN", TOKEN)
        .env("ONAIR_SECRET_STORE", "file")
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("HOME", dir);
    common::Running::spawn(&mut command)
}

/// `onair run` recording into `db` from a new scripted Pusher server, its connection greeted.
async fn recording(
    dir: &Path,
    db: &Path,
) -> (
    onair_pusher::server::ScriptedServer,
    String,
    common::Running,
    onair_pusher::server::ServerConn,
) {
    let mut server = onair_pusher::server::ScriptedServer::bind().await.unwrap();
    let pusher_url = server.url("kick-key");
    let onair = run(dir, db, &pusher_url);
    let mut conn = timeout(Duration::from_secs(10), server.accept())
        .await
        .unwrap()
        .unwrap();
    common::greet(&mut conn).await;
    (server, pusher_url, onair, conn)
}

/// Starts `onair run` on `db` again: it records, and a frame it had already stored (`chat-0`) stays once
/// while a new one (`chat-{new}`) is recorded.
async fn records_again(
    dir: &Path,
    db: &Path,
    server: &mut onair_pusher::server::ScriptedServer,
    pusher_url: &str,
    new: usize,
) {
    let mut onair = run(dir, db, pusher_url);
    let mut conn = timeout(Duration::from_secs(10), server.accept())
        .await
        .unwrap()
        .unwrap();
    common::greet(&mut conn).await;
    onair.wait_for("kick/novastreams: connected").await;
    conn.send_text(chat_frame(0)).await.unwrap();
    conn.send_text(chat_frame(new)).await.unwrap();
    let (status, stdout, stderr) = onair.interrupt().await;
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 events received, 1 recorded"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_onair_run_in_heavy_ingest_loses_nothing_it_reported_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("onair.db");
    let (mut server, pusher_url, mut onair, mut conn) = recording(dir.path(), &db).await;

    // A relay client: what it receives was committed (the relay serves only committed events), so it
    // is what this run reported recorded.
    let mut client =
        common::RelayClient::subscribe(&mut onair, TOKEN, r#"{"kinds": ["chat_message"]}"#).await;

    // Heavy ingest, and kill -9 in the middle of it.
    const SENT: usize = 30_000;
    let frames: Vec<_> = (0..SENT).map(|n| chat_frame(n).into()).collect();
    let blasting = tokio::spawn(async move {
        let _ = conn.blast(&frames).await;
        conn
    });
    let mut relayed = Vec::new();
    while relayed.len() < 2_000 {
        relayed.push(
            client
                .next_event()
                .await
                .expect("the relay client keeps receiving"),
        );
    }
    let pid = onair.id();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The client still reads what reached it before the kill (it ends when the relay goes).
    while let Some(id) = client.next_event().await {
        relayed.push(id);
    }
    drop(blasting);

    // The file is whole, and holds every event the client saw, once.
    let stored = whole_with_each_once(&db, &relayed).await;
    assert!(
        stored.len() >= relayed.len() && stored.len() < SENT,
        "{} stored",
        stored.len()
    );
    eprintln!(
        "kill -9 after {} relayed: {} stored, {} of {SENT} sent were still in flight",
        relayed.len(),
        stored.len(),
        SENT - stored.len()
    );

    // Started again on the same file: it records again, and a frame it had already stored stays once.
    records_again(dir.path(), &db, &mut server, &pusher_url, SENT).await;
    let after = common::stored_events(Path::new(ONAIR), &db)
        .into_iter()
        .filter(|e| e["kind"] == "chat_message")
        .count();
    assert_eq!(after, stored.len() + 1);
}

/// An ext4 image on a loop device, mounted with `errors=remount-ro` at `mount`: a disk the kernel can be
/// told to turn read-only under a running process (`trigger_fs_error`), as it does after a disk error.
/// Unmounted and detached on drop, even when the test fails.
struct LoopDisk {
    image: PathBuf,
    mount: PathBuf,
    device: String,
    mounted: bool,
}

/// Runs a system command; its error output when it fails.
fn sh(program: &str, args: &[&str]) -> Result<String, String> {
    match std::process::Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned()),
        Ok(out) => Err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("`{program}` could not run: {e}")),
    }
}

impl LoopDisk {
    /// A 64 MiB ext4 disk mounted at `dir/disk`; `None`, said loudly, where the system does not allow it
    /// (loop devices and mounting need real root; the trigger needs ext4's sysfs files).
    fn new(dir: &Path) -> Option<LoopDisk> {
        let image = dir.join("disk.img");
        let mount = dir.join("disk");
        std::fs::create_dir(&mount).unwrap();
        std::fs::File::create(&image).unwrap().set_len(64 << 20).unwrap();
        let made = sh("mkfs.ext4", &["-q", "-F", image.to_str().unwrap()])
            .and_then(|_| sh("losetup", &["--find", "--show", image.to_str().unwrap()]));
        let device = match made {
            Ok(device) => device,
            Err(why) => {
                eprintln!("SKIPPED: no loop device with an ext4 disk can be made here, because {why}");
                return None;
            }
        };
        let mut disk = LoopDisk {
            image,
            mount,
            device,
            mounted: false,
        };
        if let Err(why) = disk.mount_it("errors=remount-ro") {
            eprintln!("SKIPPED: the ext4 disk cannot be mounted here, because {why}");
            return None;
        }
        if !disk.trigger().exists() {
            eprintln!(
                "SKIPPED: this kernel has no {} to make the disk read-only while it is in use",
                disk.trigger().display()
            );
            return None;
        }
        Some(disk)
    }

    fn mount_it(&mut self, options: &str) -> Result<(), String> {
        sh(
            "mount",
            &["-o", options, &self.device, self.mount.to_str().unwrap()],
        )?;
        self.mounted = true;
        Ok(())
    }

    /// ext4's switch for a simulated error on this disk.
    fn trigger(&self) -> PathBuf {
        let name = Path::new(&self.device).file_name().unwrap();
        Path::new("/sys/fs/ext4").join(name).join("trigger_fs_error")
    }

    /// What the kernel does on a disk error: the journal is aborted and the file system turns read-only
    /// (files open for writing included), until it is unmounted and repaired.
    fn fail(&self) {
        std::fs::write(self.trigger(), "1").unwrap();
    }

    /// What a user does once OnAir quit: unmount, repair (`e2fsck -fy`), mount again.
    fn repair(&mut self) {
        sh("umount", &[self.mount.to_str().unwrap()]).unwrap();
        self.mounted = false;
        let fsck = std::process::Command::new("e2fsck")
            .args(["-fy", &self.device])
            .output()
            .unwrap();
        // 0: clean, 1: errors corrected.
        assert!(
            matches!(fsck.status.code(), Some(0 | 1)),
            "e2fsck: {}\n{}",
            fsck.status,
            String::from_utf8_lossy(&fsck.stdout)
        );
        self.mount_it("errors=remount-ro").unwrap();
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        if self.mounted && sh("umount", &[self.mount.to_str().unwrap()]).is_err() {
            // Still in use (a test that failed with `onair` running): detached now, freed when let go.
            let _ = sh("umount", &["-l", self.mount.to_str().unwrap()]);
        }
        // A device still in use is detached once it is let go.
        let _ = sh("losetup", &["-d", &self.device]);
        let _ = std::fs::remove_file(&self.image);
    }
}

/// The numbers of `stopped: N events received, M recorded in PATH; K could not be recorded, ...`.
fn stopped_counts(stdout: &str) -> (u64, u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("stopped: "))
        .unwrap_or_else(|| panic!("no `stopped:` line in:\n{stdout}"));
    let number_before = |text: &str| -> u64 {
        let head = &line[..line.find(text).unwrap_or_else(|| panic!("no {text:?} in {line}"))];
        head.split([' ', ';', ','])
            .rfind(|w| !w.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    (
        number_before(" events received"),
        number_before(" recorded in "),
        number_before(" could not be recorded"),
    )
}

/// The disk holding the database turns read-only while `onair run` records, as Linux does after a disk
/// error (ext4 `errors=remount-ro`, here set off through ext4's `trigger_fs_error` on a loop device).
///
/// What "the fault clears" can mean here: nothing, while `onair` runs. ext4 keeps an aborted file system
/// read-only until it is unmounted and repaired (`mount -o remount,rw` does not bring writes back), and
/// it cannot be unmounted while `onair` holds the database open; mounting the repaired image again
/// beside the lazily unmounted one would put two live file systems on one image (corruption), and even
/// then only the writer would reopen the new file while the readers, the relay's feed and the commit
/// watcher stayed on the old one. So the test checks what a user can rely on instead: no panic; a notice
/// that names the cause (the disk became read-only) and says what to do; `onair` stays up, saying it is
/// not recording; Ctrl-C ends it within its grace, saying how many received events could not be
/// recorded and why; then, as a user would, the disk is unmounted, repaired and mounted again, and every
/// event `onair` reported recorded (what the relay client received) is in a whole file, once, the
/// unrecorded ones are not, and a new `onair run` records there again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_turning_read_only_during_a_run_is_said_and_nothing_reported_recorded_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut disk) = LoopDisk::new(dir.path()) else {
        return;
    };
    let db = disk.mount.join("onair.db");
    let (mut server, pusher_url, mut onair, mut conn) = recording(dir.path(), &db).await;
    let mut client =
        common::RelayClient::subscribe(&mut onair, TOKEN, r#"{"kinds": ["chat_message"]}"#).await;

    // Recorded before the fault: the relay client receives each (the relay serves committed events).
    const BEFORE: usize = 50;
    const AFTER: usize = 20;
    for n in 0..BEFORE {
        conn.send_text(chat_frame(n)).await.unwrap();
    }
    let mut relayed = Vec::new();
    while relayed.len() < BEFORE {
        relayed.push(
            client
                .next_event()
                .await
                .expect("the relay client keeps receiving"),
        );
    }

    // The disk turns read-only; what arrives now cannot be written.
    disk.fail();
    for n in BEFORE..BEFORE + AFTER {
        conn.send_text(chat_frame(n)).await.unwrap();
    }
    let held_up = onair.wait_for("store: recording is held up").await;
    assert!(
        held_up.contains("the disk that holds the database became read-only")
            && held_up.contains("as the system does after a disk error")
            && held_up.contains("check and repair that disk")
            && held_up.contains("lost when it quits"),
        "{held_up}"
    );
    assert!(onair.running(), "onair keeps running, not recording");

    // Ctrl-C: it does not wait for ever for a disk that will not come back, and says what was lost.
    let started = std::time::Instant::now();
    let (status, stdout, stderr) = onair.interrupt().await;
    let stopping = started.elapsed();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("stopping: writes still fail after 5s; stopping without the events that wait"),
        "{stderr}"
    );
    assert!(
        stdout.contains(" could not be recorded, because writes still failed when OnAir stopped: the disk that holds the database became read-only (SQLite says: "),
        "{stdout}"
    );
    let (received, recorded, unrecorded) = stopped_counts(&stdout);
    assert_eq!(recorded, BEFORE as u64, "{stdout}");
    assert!((1..=AFTER as u64).contains(&unrecorded), "{stdout}");
    assert_eq!(received, recorded + unrecorded, "{stdout}");
    eprintln!(
        "read-only disk: {recorded} recorded before, {unrecorded} of {AFTER} sent after could not be; \
         Ctrl-C ended it in {stopping:.1?}"
    );
    drop(client);

    // Repaired as a user would, once OnAir quit: the file is whole and holds every event reported
    // recorded, once, and none of the others.
    disk.repair();
    let stored = whole_with_each_once(&db, &relayed).await;
    assert_eq!(
        stored.len(),
        BEFORE,
        "only what was reported recorded: {stored:?}"
    );

    // Started again on the repaired disk, it records.
    records_again(dir.path(), &db, &mut server, &pusher_url, BEFORE).await;
}
