//! Tauri's build step: reads tauri.conf.json and the capabilities, embeds the UI when asked, and declares
//! OnAir's own commands, so a window may call only those its capability grants (`allow-<command>`).

/// Every command of `commands.rs`; a capability grants each by name.
const COMMANDS: &[&str] = &[
    "startup",
    "recover",
    "quit",
    "overview",
    "list_events",
    "stats",
    "get_settings",
    "set_settings",
    "watch_channel",
    "unwatch_channel",
    "simulate",
    "reconnect",
    "open_logs",
    "accounts",
    "login",
    "logout",
    "discord_account",
    "set_discord_token",
    "forget_discord_token",
    "discord_servers",
    "open_discord_invite",
    "relay",
    "relay_token",
    "rotate_relay_token",
    "painted",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("the Tauri build step failed");
}
