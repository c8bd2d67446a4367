//! The tray icon: Show, Reconnect all, Quit. Closing the window leaves OnAir running here.

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{App, AppHandle, Manager};

/// Shows and focuses the main window.
pub fn show_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Adds the tray icon and its menu.
pub fn install(app: &App) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "Show OnAir", true, None::<&str>)?;
    let reconnect = MenuItem::with_id(app, "reconnect", "Reconnect all", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &reconnect, &quit])?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("OnAir")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "show" => show_main(app),
            "reconnect" => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    if let Some(hub) = app.try_state::<crate::Hub>() {
                        hub.reconnect_all().await;
                    }
                });
            }
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}
