//! Helix, Twitch's REST API, as OnAir uses it.
