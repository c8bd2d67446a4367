//! The tray icon: its badge and tooltip show the connections' overall state (green: all connected, amber:
//! some reconnecting, red: some gave up, or events are not being recorded), and its menu has Show, Pause notifications (streamer mode),
//! Reconnect all and Quit. Closing the window leaves OnAir running here.

use onair::views::Overall;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{App, AppHandle, Manager, Wry};

const TRAY_ID: &str = "main";

/// The menu item that mutes notifications, kept to show its state.
struct PauseItem(CheckMenuItem<Wry>);

/// Shows and focuses the main window.
pub fn show_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Adds the tray icon and its menu; `muted`: whether notifications start paused.
pub fn install(app: &App, muted: bool) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "Show OnAir", true, None::<&str>)?;
    let pause = CheckMenuItem::with_id(app, "pause", "Pause notifications", true, muted, None::<&str>)?;
    let reconnect = MenuItem::with_id(app, "reconnect", "Reconnect all", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let quit = MenuItem::with_id(app, "quit", "Quit OnAir", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &pause, &reconnect, &separator, &quit])?;
    app.manage(PauseItem(pause));
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("OnAir: nothing watched")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "show" => show_main(app),
            "pause" => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    if let Some(hub) = app.try_state::<crate::Hub>() {
                        let mut settings = hub.settings();
                        settings.notifications.muted = !settings.notifications.muted;
                        if let Err(e) = hub.apply_settings(settings).await {
                            tracing::warn!(error = %e, "notifications could not be paused");
                        }
                    }
                });
            }
            "reconnect" => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    if let Some(hub) = app.try_state::<crate::Hub>() {
                        hub.reconnect_all().await;
                    }
                });
            }
            "quit" => crate::quit(app),
            _ => {}
        });
    if let Some(icon) = badged(app.handle(), Overall::Idle) {
        tray = tray.icon(icon);
    }
    tray.build(app)?;
    Ok(())
}

/// Shows `overall` on the tray icon and in its tooltip.
pub fn set_overall(app: &AppHandle, overall: Overall) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let tooltip = match overall {
        Overall::Idle => "OnAir: nothing watched",
        Overall::Connected => "OnAir: all connected",
        Overall::Reconnecting => "OnAir: reconnecting",
        Overall::Failed => "OnAir: a connection gave up (open OnAir to see why)",
        Overall::NotRecording => "OnAir: not recording (open OnAir to see why)",
    };
    let _ = tray.set_tooltip(Some(tooltip));
    if let Some(icon) = badged(app, overall) {
        let _ = tray.set_icon(Some(icon));
    }
}

/// Ticks or unticks Pause notifications.
pub fn set_muted(app: &AppHandle, muted: bool) {
    if let Some(item) = app.try_state::<PauseItem>() {
        let _ = item.0.set_checked(muted);
    }
}

/// The app's icon with a dot in the lower right in the colour of `overall` (none when idle).
fn badged(app: &AppHandle, overall: Overall) -> Option<Image<'static>> {
    let icon = app.default_window_icon()?;
    let (width, height) = (icon.width(), icon.height());
    let mut rgba = icon.rgba().to_vec();
    let color: [u8; 3] = match overall {
        Overall::Idle => return Some(Image::new_owned(rgba, width, height)),
        Overall::Connected => [0x22, 0xc5, 0x5e],
        Overall::Reconnecting => [0xf5, 0x9e, 0x0b],
        Overall::Failed | Overall::NotRecording => [0xef, 0x44, 0x44],
    };
    let size = width.min(height) as f32;
    let radius = size * 0.22;
    let (cx, cy) = (width as f32 - radius - 1.0, height as f32 - radius - 1.0);
    for y in 0..height {
        for x in 0..width {
            let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
            let i = ((y * width + x) * 4) as usize;
            if d <= radius {
                rgba[i..i + 4].copy_from_slice(&[color[0], color[1], color[2], 0xff]);
            } else if d <= radius + size * 0.05 {
                // A white ring keeps the dot readable on any panel.
                rgba[i..i + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
            }
        }
    }
    Some(Image::new_owned(rgba, width, height))
}
