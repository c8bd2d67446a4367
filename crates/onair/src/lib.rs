//! OnAir's hub: what the desktop app and the `onair` command share above the store and the platforms.
//!
//! It owns where OnAir keeps its data ([`paths`]), its headless settings ([`config`]), the signed-in
//! accounts ([`accounts`]), the sign-in's return on localhost ([`signin`]) and the Kick sign-in built on
//! it ([`kick_signin`]), Twitch access and sign-in ([`twitch_signin`]), the Discord bot token and watch spec
//! ([`discord`]), importing JSONL exports
//! ([`import`]), the output formats of events ([`format`]), watching channels into the store through the
//! platform faces ([`watch`]: resolve, connect, record, retry), which events notify ([`notify`]), the
//! relay's token, replay source and feed ([`relay`]), the process's metrics ([`metrics`]), and the shapes the dashboard sees ([`views`], with
//! their TypeScript declarations). It must hold no platform wire format and no Tauri code.

pub mod accounts;
pub mod claims;
pub mod config;
pub mod discord;
pub mod format;
pub mod health;
pub mod import;
pub mod kick_signin;
pub mod metrics;
pub mod notify;
pub mod paths;
pub mod relay;
pub mod signin;
pub mod twitch_signin;
pub mod views;
pub mod watch;
