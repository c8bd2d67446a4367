//! The OnAir desktop app's entry point.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // WebKitGTK's GPU compositing gains a dashboard of text rows nothing and doubles the web process's
    // memory (measured with `cargo xtask bench app`: 416 MB -> 212 MB PSS with a live feed), and it is
    // the usual cause of blank windows on machines without a working GPU. Tauri's maintainers recommend
    // this variable (tauri-apps/tauri#14424: the setting cannot change once the web view runs); a user
    // who wants compositing sets it to 0.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // SAFETY: the first statement of main, before any thread exists: nothing reads the environment
        // concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
        }
    }
    onair_desktop::run();
}
