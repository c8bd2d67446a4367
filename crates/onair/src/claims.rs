//! Which process records a channel: one per database. The app and `onair` commands may share a database,
//! but a channel is watched by only one of them at a time: two would each record the events the platform
//! gives no id of its own (follower counts, chat settings, Twitch's and Discord's notifications, whose ids
//! are per connection), and both would notify. A watch holds an OS file lock per channel, in a folder
//! beside the database (`<db>-watching/`); the system releases it when the process ends, however it ends
//! (`kill -9` included), so a claim is never left stale. A second watch of the channel waits, saying who
//! records it, and takes over when that process stops; meanwhile the other's events reach its views
//! through the store.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use onair_core::{ChannelRef, Platform};

/// A channel this process records; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct ChannelClaim {
    _file: File,
}

/// The outcome of asking for a channel.
#[derive(Debug)]
pub enum Claim {
    /// This process records it now.
    Held(ChannelClaim),
    /// Another process does; `holder` says which, as it described itself.
    Elsewhere {
        /// E.g. `onair (pid 4242)`.
        holder: String,
    },
}

/// Why a claim could not even be asked for.
#[derive(Debug, thiserror::Error)]
#[error(
    "could not use the lock file {path} that marks who records a channel: {source}; check that its folder is writable"
)]
pub struct ClaimError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// The folder of the lock files of the database at `db`.
pub fn folder(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push("-watching");
    db.with_file_name(name)
}

/// Asks to record `channel` of `platform` into the database at `db`, without waiting.
pub fn try_claim(db: &Path, platform: Platform, channel: &ChannelRef) -> Result<Claim, ClaimError> {
    let dir = folder(db);
    let path = dir.join(format!(
        "{}-{}.lock",
        platform.as_str(),
        file_safe(&channel.platform_id)
    ));
    let failed = |source| ClaimError {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(failed)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(failed)?;
    match file.try_lock() {
        Ok(()) => {
            // Who holds it, for the other processes' message.
            file.set_len(0).map_err(failed)?;
            file.rewind().map_err(failed)?;
            file.write_all(this_process().as_bytes()).map_err(failed)?;
            file.flush().map_err(failed)?;
            Ok(Claim::Held(ChannelClaim { _file: file }))
        }
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            // Where locks are mandatory (Windows) the holder's note cannot be read: say less.
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            Ok(Claim::Elsewhere {
                holder: if holder.is_empty() {
                    "another OnAir process".to_owned()
                } else {
                    holder.to_owned()
                },
            })
        }
        Err(TryLockError::Error(e)) => Err(failed(e)),
    }
}

/// This process as others are told about it: the program's name and its process id.
fn this_process() -> String {
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "OnAir".to_owned());
    format!("{program} (pid {})", std::process::id())
}

/// A platform id as a file name: anything but ASCII letters, digits, `-` and `_` becomes `_`.
fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_is_claimed_once_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("onair.db");
        let channel = ChannelRef::new("4781203", "novastreams");
        let Claim::Held(first) = try_claim(&db, Platform::Kick, &channel).unwrap() else {
            panic!("a free channel is claimed");
        };
        // A second claim, as another process would make it (a lock of its own on the file).
        match try_claim(&db, Platform::Kick, &channel).unwrap() {
            Claim::Elsewhere { holder } => {
                assert!(
                    holder.contains(&format!("pid {}", std::process::id())),
                    "{holder}"
                )
            }
            Claim::Held(_) => panic!("claimed twice"),
        }
        // Another platform's channel with the same id is another channel.
        assert!(matches!(
            try_claim(&db, Platform::Twitch, &channel).unwrap(),
            Claim::Held(_)
        ));
        drop(first);
        assert!(matches!(
            try_claim(&db, Platform::Kick, &channel).unwrap(),
            Claim::Held(_)
        ));
        assert!(folder(&db).ends_with("onair.db-watching"));
    }

    #[test]
    fn odd_ids_make_plain_file_names() {
        assert_eq!(file_safe("../guild/1 2"), "___guild_1_2");
    }
}
