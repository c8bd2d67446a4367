//! The settings file of the headless `onair` (TOML, `config.toml` in the platform's config folder, or
//! `--config PATH`): the channels `onair run` watches and the platform endpoints. It never holds a secret
//! (tokens live in the OS keychain).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::paths::APP_IDENTIFIER;

/// The settings file's name inside the config folder.
pub const CONFIG_FILE: &str = "config.toml";

/// The settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Channels to watch when `onair run` is given none, e.g. `["kick:novastreams"]`.
    #[serde(default)]
    pub watch: Vec<String>,
    /// Kick's endpoints (local servers; the environment variables win over these).
    #[serde(default)]
    pub kick: KickConfig,
    /// Twitch's app and endpoints (the environment variables win over these).
    #[serde(default)]
    pub twitch: TwitchSettings,
    /// Discord's endpoints and shards (the environment variables win over these).
    #[serde(default)]
    pub discord: DiscordSettings,
}

/// Discord's endpoints and shard count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordSettings {
    /// The REST API's base URL (default `https://discord.com/api/v10`).
    pub api_url: Option<String>,
    /// The Gateway URL for new sessions (default: the one Discord gives).
    pub gateway_url: Option<String>,
    /// How many shards: a number, or `"auto"` for Discord's recommendation (the default).
    pub shards: Option<ShardCount>,
}

/// A shard count in the settings: a number, or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ShardCount {
    /// Exactly this many.
    Fixed(u32),
    /// `"auto"`.
    Named(AutoShards),
}

/// The word `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoShards {
    /// Discord's recommendation.
    Auto,
}

impl DiscordSettings {
    /// The Discord configuration these settings describe, the environment variables winning.
    pub fn config(&self) -> onair_discord::DiscordConfig {
        let defaults = onair_discord::DiscordConfig::default();
        let configured = onair_discord::DiscordConfig {
            api_url: self.api_url.clone().unwrap_or(defaults.api_url.clone()),
            gateway_url: self.gateway_url.clone().filter(|u| !u.trim().is_empty()),
            shards: match self.shards {
                Some(ShardCount::Fixed(n)) if n > 0 => onair_discord::Shards::Fixed(n),
                _ => onair_discord::Shards::Auto,
            },
            ..defaults
        };
        onair_discord::DiscordConfig::from_env(&configured)
    }
}

/// Twitch's sign-in app, endpoints and connection settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwitchSettings {
    /// The client id of the Twitch app OnAir signs in with (a public client: no secret).
    pub client_id: Option<String>,
    /// The EventSub WebSocket URL (default `wss://eventsub.wss.twitch.tv/ws`).
    pub eventsub_url: Option<String>,
    /// The Helix base URL (default `https://api.twitch.tv/helix`).
    pub helix_url: Option<String>,
    /// The OAuth server's base URL (default `https://id.twitch.tv/oauth2`).
    pub auth_url: Option<String>,
    /// The keepalive asked of EventSub, 10 to 600 seconds (default 30; more than 600 is refused).
    pub keepalive_seconds: Option<u64>,
    /// How often the follower, moderator, VIP and subscriber lists are read while the live connection
    /// is down, in seconds (default 60; at most a day, 86400).
    pub poll_while_down_seconds: Option<u64>,
    /// How often they are read while it is up, as a safety net, in minutes (default 180; 120 to 240 is
    /// sensible; at most a week, 10080).
    pub poll_while_up_minutes: Option<u64>,
}

/// The largest keepalive EventSub takes, in seconds.
const MAX_KEEPALIVE_SECONDS: u64 = 600;
/// The longest wait between two polls while the connection is down: a day, in seconds.
const MAX_POLL_WHILE_DOWN_SECONDS: u64 = 24 * 60 * 60;
/// The longest wait between two polls while it is up: a week, in minutes.
const MAX_POLL_WHILE_UP_MINUTES: u64 = 7 * 24 * 60;

impl TwitchSettings {
    /// The Twitch configuration these settings describe, the environment variables winning.
    pub fn config(&self) -> onair_twitch::TwitchConfig {
        let defaults = onair_twitch::TwitchConfig::default();
        let configured = onair_twitch::TwitchConfig {
            client_id: self.client_id.clone().filter(|id| !id.trim().is_empty()),
            eventsub_url: self.eventsub_url.clone().unwrap_or(defaults.eventsub_url.clone()),
            helix_url: self.helix_url.clone().unwrap_or(defaults.helix_url.clone()),
            auth_url: self.auth_url.clone().unwrap_or(defaults.auth_url.clone()),
            // Bounded as the settings file is (a value built in code may be anything): the times are added
            // to clocks, which must not overflow.
            keepalive: self.keepalive_seconds.map_or(defaults.keepalive, |s| {
                std::time::Duration::from_secs(s.min(MAX_KEEPALIVE_SECONDS))
            }),
            poll_while_down: self
                .poll_while_down_seconds
                .map_or(defaults.poll_while_down, |s| {
                    std::time::Duration::from_secs(s.clamp(1, MAX_POLL_WHILE_DOWN_SECONDS))
                }),
            poll_while_up: self.poll_while_up_minutes.map_or(defaults.poll_while_up, |m| {
                std::time::Duration::from_secs(m.clamp(1, MAX_POLL_WHILE_UP_MINUTES) * 60)
            }),
            ..defaults
        };
        onair_twitch::TwitchConfig::from_env(&configured)
    }
}

/// Kick's endpoints and sign-in app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KickConfig {
    /// The look-up's base URL (default `https://kick.com`).
    pub api_url: Option<String>,
    /// A full WebSocket URL with the app key, instead of Kick's Pusher cluster.
    pub pusher_url: Option<String>,
    /// The client id of your own Kick app, for `onair login kick` (not secret; the client secret is kept
    /// in the OS keychain).
    pub client_id: Option<String>,
    /// The port of the sign-in's redirect URL, `http://localhost:PORT/callback` (default 41477).
    pub redirect_port: Option<u16>,
}

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file given with `--config` is not there, or cannot be read.
    #[error("cannot read the settings file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or holds a setting OnAir does not know.
    #[error("the settings file {} is not valid: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
}

/// The per-user config folder: `~/.config/app.onair.desktop` on Linux, `~/Library/Application
/// Support/app.onair.desktop` on macOS, `%APPDATA%\app.onair.desktop` on Windows.
pub fn config_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().join(APP_IDENTIFIER))
}

/// The settings from `explicit` (which must exist), else from the config folder's file (none is fine).
/// Returns the file used, if any.
pub fn load(explicit: Option<&Path>) -> Result<(Option<PathBuf>, Config), ConfigError> {
    let (path, required) = match explicit {
        Some(path) => (path.to_path_buf(), true),
        None => match config_dir() {
            Some(dir) => (dir.join(CONFIG_FILE), false),
            None => return Ok((None, Config::default())),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((None, Config::default()));
        }
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let config = Config::from_toml(&text, &path)?;
    Ok((Some(path), config))
}

impl Config {
    /// The settings in `text`, the TOML of the settings file at `path` (named in the error).
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let config: Config = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        config.twitch.check().map_err(invalid)?;
        Ok(config)
    }
}

impl TwitchSettings {
    /// Refuses values past their documented bounds.
    fn check(&self) -> Result<(), String> {
        let bounds = [
            (
                "keepalive_seconds",
                self.keepalive_seconds,
                MAX_KEEPALIVE_SECONDS,
                "EventSub's longest",
            ),
            (
                "poll_while_down_seconds",
                self.poll_while_down_seconds,
                MAX_POLL_WHILE_DOWN_SECONDS,
                "a day",
            ),
            (
                "poll_while_up_minutes",
                self.poll_while_up_minutes,
                MAX_POLL_WHILE_UP_MINUTES,
                "a week",
            ),
        ];
        for (key, value, most, what) in bounds {
            if let Some(value) = value.filter(|&v| v > most) {
                return Err(format!("[twitch] {key} is at most {most} ({what}), not {value}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "watch = [\"kick:novastreams\", \"kick:nova@1/2\"]\n[kick]\npusher_url = \"ws://127.0.0.1:6001/app/k\"\n",
        )
        .unwrap();
        let (used, config) = load(Some(&path)).unwrap();
        assert_eq!(used.as_deref(), Some(path.as_path()));
        assert_eq!(config.watch, ["kick:novastreams", "kick:nova@1/2"]);
        assert_eq!(
            config.kick.pusher_url.as_deref(),
            Some("ws://127.0.0.1:6001/app/k")
        );
        assert_eq!(config.kick.api_url, None);
    }

    #[test]
    fn discord_shards_are_a_number_or_auto() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        for (text, shards) in [
            ("[discord]\nshards = 4\n", onair_discord::Shards::Fixed(4)),
            ("[discord]\nshards = \"auto\"\n", onair_discord::Shards::Auto),
            ("", onair_discord::Shards::Auto),
        ] {
            std::fs::write(&path, text).unwrap();
            let (_, config) = load(Some(&path)).unwrap();
            assert_eq!(config.discord.config().shards, shards, "{text}");
        }
        std::fs::write(&path, "[discord]\nshards = \"many\"\n").unwrap();
        assert!(load(Some(&path)).is_err());
    }

    #[test]
    fn twitch_times_past_their_bounds_are_refused_and_never_overflow() {
        let path = Path::new("config.toml");
        for (key, most) in [
            ("keepalive_seconds", MAX_KEEPALIVE_SECONDS),
            ("poll_while_down_seconds", MAX_POLL_WHILE_DOWN_SECONDS),
            ("poll_while_up_minutes", MAX_POLL_WHILE_UP_MINUTES),
        ] {
            let at_most = Config::from_toml(&format!("[twitch]\n{key} = {most}\n"), path).unwrap();
            let _ = at_most.twitch.config();
            // The largest integer TOML has: minutes times 60 overflowed a u64 here once.
            let error = Config::from_toml(&format!("[twitch]\n{key} = {}\n", i64::MAX), path)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("config.toml") && error.contains(&format!("{key} is at most {most}")),
                "{error}"
            );
        }
        // Built in code, past the bounds: bounded, not overflowed.
        let settings = TwitchSettings {
            keepalive_seconds: Some(u64::MAX),
            poll_while_down_seconds: Some(u64::MAX),
            poll_while_up_minutes: Some(u64::MAX),
            ..TwitchSettings::default()
        };
        let config = settings.config();
        assert_eq!(config.keepalive.as_secs(), MAX_KEEPALIVE_SECONDS);
        assert_eq!(config.poll_while_down.as_secs(), MAX_POLL_WHILE_DOWN_SECONDS);
        assert_eq!(config.poll_while_up.as_secs(), MAX_POLL_WHILE_UP_MINUTES * 60);
    }

    #[test]
    fn a_missing_or_wrong_file_says_which_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let error = load(Some(&missing)).unwrap_err().to_string();
        assert!(error.contains("nope.toml"), "{error}");
        let wrong = dir.path().join("wrong.toml");
        std::fs::write(&wrong, "watch = \"kick:x\"\ntoken = \"secret\"\n").unwrap();
        let error = load(Some(&wrong)).unwrap_err().to_string();
        assert!(
            error.contains("wrong.toml") && error.contains("is not valid"),
            "{error}"
        );
    }
}
