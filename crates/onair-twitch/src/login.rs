//! Signing in to Twitch with the device code grant.
