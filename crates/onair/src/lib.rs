//! OnAir's hub: what the desktop app and the `onair` command share above the store and the platforms.
//!
//! It owns where OnAir keeps its data ([`paths`]), its headless settings ([`config`]), the signed-in
//! accounts ([`accounts`]) and the sign-in's return on localhost ([`signin`]), importing JSONL exports
//! ([`import`]), the output formats of events ([`format`]) and watching channels into the store through
//! the platform faces ([`watch`]: resolve, connect, record, retry). The UI, the relay and the notifier
//! join it with their issues. It must hold no platform wire format and no Tauri code.

pub mod accounts;
pub mod config;
pub mod format;
pub mod import;
pub mod notify;
pub mod paths;
pub mod signin;
pub mod views;
pub mod watch;
