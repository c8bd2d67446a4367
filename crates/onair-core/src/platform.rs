//! The streaming platforms OnAir speaks to, with their stable lower-case names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A platform an event comes from. Its `as_str` name is stored in the database and in the JSON form.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// kick.com (Pusher WebSocket + REST).
    Kick,
    /// twitch.tv (EventSub WebSocket + Helix).
    Twitch,
    /// Discord (Gateway).
    Discord,
}

impl Platform {
    /// Every platform, in a stable order.
    pub const ALL: [Platform; 3] = [Platform::Kick, Platform::Twitch, Platform::Discord];

    /// The stable lower-case name: `kick`, `twitch` or `discord`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::Kick => "kick",
            Platform::Twitch => "twitch",
            Platform::Discord => "discord",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A platform name that is none of `kick`, `twitch`, `discord`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform `{0}`: expected one of kick, twitch, discord")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownPlatform(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_ignore_case() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>(), Ok(p));
            assert_eq!(p.as_str().to_uppercase().parse::<Platform>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        let err = "youtube".parse::<Platform>().unwrap_err();
        assert!(err.to_string().contains("kick, twitch, discord"));
    }
}
