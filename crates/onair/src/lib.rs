//! OnAir's hub: what the desktop app and the `onair` command share above the store and the platforms.
//!
//! For now it owns where OnAir keeps its data ([`paths`]), importing JSONL exports ([`import`]) and the
//! output formats of events ([`format`]). The wiring of platform connections to the store, the UI, the
//! relay and the notifier arrives here with the platform issues. It must hold no platform wire format and
//! no Tauri code.

pub mod format;
pub mod import;
pub mod paths;
