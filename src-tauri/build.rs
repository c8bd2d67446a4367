//! Tauri's build step: reads tauri.conf.json and the capabilities, and embeds the UI when asked.

fn main() {
    tauri_build::build();
}
