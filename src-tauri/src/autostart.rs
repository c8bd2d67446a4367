//! Launch at login, through `tauri-plugin-autostart` (a desktop entry in ~/.config/autostart on Linux, a
//! login item on macOS, the Run key on Windows). The app then starts hidden in the tray.

use tauri::AppHandle;
use tauri_plugin_autostart::ManagerExt;

/// The argument the login launch passes, so the app starts in the tray.
pub const ARG: &str = "--minimised";

/// Turns launching at login on or off; a failure is logged (the setting stays as the user chose it).
pub fn set(app: &AppHandle, on: bool) {
    let autostart = app.autolaunch();
    let result = match (on, autostart.is_enabled()) {
        (true, Ok(false)) => autostart.enable(),
        (false, Ok(true)) => autostart.disable(),
        (_, Ok(_)) => Ok(()),
        (_, Err(e)) => Err(e),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, on, "launch at login could not be changed");
    }
}
