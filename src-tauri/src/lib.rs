//! The OnAir desktop app: the hub runs in-process, the Svelte dashboard (ui/) talks to it through the
//! commands of [`commands`], and new events reach the window as a throttled "committed" signal (at most
//! 20 a second) after which the UI reads what is new from the store, so a chat flood cannot freeze the
//! webview and nothing between two reads is missed. The tray keeps the app running when the window closes.

mod commands;
mod hub;
mod tray;

use tauri::Manager;

pub use hub::Hub;

/// Runs the app.
pub fn run() {
    init_logging();
    let outcome = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second launch shows the running app instead.
            tray::show_main(app);
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_store::Builder::default().build())
        .setup(|app| {
            let db = std::env::var_os(onair::paths::DB_ENV)
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    app.path()
                        .app_data_dir()
                        .ok()
                        .map(|dir| dir.join(onair::paths::DB_FILE))
                })
                .ok_or("no folder for the database")?;
            let hub = tauri::async_runtime::block_on(Hub::start(app.handle().clone(), db))?;
            app.manage(hub);
            tray::install(app)?;
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps OnAir recording in the tray.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event
                && window.label() == "main"
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::overview,
            commands::list_events,
            commands::simulate,
            commands::reconnect,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = outcome {
        eprintln!("OnAir could not start: {e}");
        std::process::exit(1);
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,onair_pusher=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
