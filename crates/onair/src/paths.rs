//! Where OnAir keeps its data: one folder per user, the same for the desktop app and the `onair`
//! command, so both see the same events.

use std::path::PathBuf;

/// The desktop app's bundle identifier; Tauri names its app-data folder after it.
pub const APP_IDENTIFIER: &str = "app.onair.desktop";

/// The database's file name inside the data folder.
pub const DB_FILE: &str = "onair.db";

/// The environment variable that overrides the database path.
pub const DB_ENV: &str = "ONAIR_DB";

/// The per-user data folder: `~/.local/share/app.onair.desktop` on Linux (or `$XDG_DATA_HOME/...`),
/// `~/Library/Application Support/app.onair.desktop` on macOS, `%APPDATA%\app.onair.desktop` on Windows:
/// the folder Tauri's `app_data_dir()` gives the desktop app.
pub fn data_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.data_dir().join(APP_IDENTIFIER))
}

/// The database to use: `explicit` (a `--db` flag) if given, else `$ONAIR_DB`, else the data folder's.
pub fn db_path(explicit: Option<PathBuf>) -> Option<PathBuf> {
    explicit
        .or_else(|| {
            std::env::var_os(DB_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| data_dir().map(|dir| dir.join(DB_FILE)))
}

/// The secret store: the OS keychain, or where this machine has none, `secrets.toml` in the data folder
/// (owner-only). `ONAIR_SECRET_STORE=file` or `keychain` forces one.
pub async fn secrets() -> Option<onair_secrets::Secrets> {
    let file = data_dir()?.join(onair_secrets::FILE_NAME);
    Some(onair_secrets::Secrets::open(file).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_path_wins_and_the_default_is_in_the_app_folder() {
        let explicit = PathBuf::from("/tmp/elsewhere.db");
        assert_eq!(db_path(Some(explicit.clone())), Some(explicit));
        if let Some(dir) = data_dir() {
            assert!(dir.ends_with(APP_IDENTIFIER));
        }
    }
}
