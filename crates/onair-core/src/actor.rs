//! Who did something, or had something done to them, on a platform.

use serde::{Deserialize, Serialize};

/// A user on a platform. Ids are the platform's own, always as strings (Kick and Discord use numbers,
/// Twitch numeric strings).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// The platform's stable user id.
    pub id: String,
    /// The login / username / slug, as the platform spells it.
    pub login: String,
    /// The name shown to people (may differ from `login` in case or script).
    pub display_name: String,
}

impl Actor {
    /// An actor whose display name is its login.
    pub fn new(id: impl Into<String>, login: impl Into<String>) -> Self {
        let login = login.into();
        Actor {
            id: id.into(),
            display_name: login.clone(),
            login,
        }
    }
}
