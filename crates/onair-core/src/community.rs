//! A channel's community as OnAir has recorded it: who follows, who holds each role, who is subscribed,
//! and when OnAir last received an event of the channel. The store derives it from its projections; the
//! polling fallback compares it with what the platform lists, to record what the live connection missed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::Actor;

/// Who follows, moderates, is a VIP of and subscribes to one channel, keyed by the platform's user ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Community {
    /// When OnAir last received an event of the channel; `None` when nothing is recorded yet.
    pub last_received_at: Option<DateTime<Utc>>,
    /// Viewers whose latest recorded follow action is a follow.
    pub followers: HashSet<String>,
    /// Viewers holding the moderator role (granted, not revoked).
    pub moderators: HashMap<String, Actor>,
    /// Viewers holding the VIP role.
    pub vips: HashMap<String, Actor>,
    /// Viewers with an open subscription, with its tier when known.
    pub subscribers: HashMap<String, (Actor, Option<String>)>,
}
