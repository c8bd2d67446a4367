//! The desktop's settings, kept with `tauri-plugin-store` in `settings.json` in the app's config folder
//! (channels, notification rules, start minimised, launch at login, theme, the Kick app's client id).
//! Never a secret: tokens and the client secret live in the keychain. A file that cannot be read is
//! reported in the log and replaced by the defaults, never a reason not to start.

use onair::views::DesktopSettings;
use tauri::AppHandle;
use tauri_plugin_store::StoreExt;

/// The store file, in the app's config folder.
const FILE: &str = "settings.json";
/// The one key holding them.
const KEY: &str = "settings";

/// The saved settings, or the defaults.
pub fn load(app: &AppHandle) -> DesktopSettings {
    let store = match app.store(FILE) {
        Ok(store) => store,
        Err(e) => {
            tracing::warn!(error = %e, "the settings could not be read; using the defaults");
            return DesktopSettings::default();
        }
    };
    match store.get(KEY).map(serde_json::from_value::<DesktopSettings>) {
        None => DesktopSettings::default(),
        Some(Ok(settings)) => settings,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the saved settings are not valid; using the defaults");
            DesktopSettings::default()
        }
    }
}

/// Saves `settings` to disk now.
pub fn save(app: &AppHandle, settings: &DesktopSettings) -> Result<(), String> {
    let store = app
        .store(FILE)
        .map_err(|e| format!("the settings could not be saved: {e}"))?;
    let value =
        serde_json::to_value(settings).map_err(|e| format!("the settings could not be saved: {e}"))?;
    store.set(KEY, value);
    store.save().map_err(|e| {
        format!("the settings could not be saved ({e}); check that the config folder is writable")
    })
}
