//! The OnAir desktop app: the hub runs in-process, the Svelte dashboard (ui/) talks to it through the
//! commands of [`commands`], and new events reach the window as a throttled "committed" signal (at most
//! 20 a second) after which the UI reads what is new from the store, so a chat flood cannot freeze the
//! webview and nothing between two reads is missed. The tray keeps the app running when the window
//! closes; the log goes to a daily file in the app's log folder. A database that cannot be opened stops
//! the start at the window's recovery screen ([`startup`]) instead of ending the app.

mod autostart;
mod browser_check;
mod commands;
mod discord;
mod hub;
mod relay;
mod settings;
mod signin;
mod startup;
mod tray;

use tauri::{AppHandle, Manager};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use hub::Hub;

/// What the window remembers between runs (its visibility is the app's business: start minimised).
fn window_state() -> StateFlags {
    StateFlags::all() - StateFlags::VISIBLE
}

/// When the app started, for the time to the dashboard's first paint.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// The argument that starts the simulator at launch (or in the running app, from a second launch):
/// `--simulate [EVENTS_PER_SECOND]`.
const SIMULATE_ARG: &str = "--simulate";

/// The simulator's rate `args` ask for, if they ask for it.
fn simulate_arg(args: &[String]) -> Option<f64> {
    let at = args.iter().position(|a| a == SIMULATE_ARG)?;
    Some(args.get(at + 1).and_then(|r| r.parse().ok()).unwrap_or(4.0))
}

/// Starts the simulator when `args` ask for it.
pub(crate) fn simulate_if_asked(app: &AppHandle, args: &[String]) {
    let Some(rate) = simulate_arg(args) else { return };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Some(hub) = app.try_state::<Hub>()
            && let Err(e) = hub.start_simulation(rate.clamp(0.1, 5000.0)).await
        {
            tracing::error!(error = %e, "the simulator asked for on the command line did not start");
        }
    });
}

/// Runs the app.
pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    let outcome = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            // A second launch shows the running app instead (and passes on --simulate).
            tray::show_main(app);
            simulate_if_asked(app, &args);
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_opener::init())
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .args([autostart::ARG])
                .build(),
        )
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(window_state())
                .build(),
        )
        .setup(|app| {
            let log_guard = init_logging(app.handle());
            app.manage(log_guard);
            let db = std::env::var_os(onair::paths::DB_ENV)
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    app.path()
                        .app_data_dir()
                        .ok()
                        .map(|dir| dir.join(onair::paths::DB_FILE))
                })
                .ok_or("no folder for the database")?;
            let saved = settings::load(app.handle());
            let args: Vec<String> = std::env::args().collect();
            let minimised = saved.start_minimised || args.iter().any(|a| a == autostart::ARG);
            tray::install(app, saved.notifications.muted)?;
            app.manage(signin::SignIns::default());
            let startup =
                tauri::async_runtime::block_on(startup::Startup::begin(app.handle(), db, saved, args))?;
            // A database that could not be opened is shown at once, whatever the start-up settings say.
            let stopped = !tauri::async_runtime::block_on(startup.running());
            app.manage(startup);
            if stopped {
                tray::set_overall(app.handle(), onair::views::Overall::NotRecording);
            }
            if !minimised || stopped {
                tray::show_main(app.handle());
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps OnAir recording in the tray.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event
                && window.label() == "main"
            {
                api.prevent_close();
                let _ = window.app_handle().save_window_state(window_state());
                let _ = window.hide();
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::startup,
            commands::recover,
            commands::quit,
            commands::overview,
            commands::relay,
            commands::relay_token,
            commands::rotate_relay_token,
            commands::list_events,
            commands::stats,
            commands::get_settings,
            commands::set_settings,
            commands::watch_channel,
            commands::unwatch_channel,
            commands::simulate,
            commands::reconnect,
            commands::open_logs,
            commands::accounts,
            commands::login,
            commands::logout,
            commands::discord_account,
            commands::set_discord_token,
            commands::forget_discord_token,
            commands::discord_servers,
            commands::open_discord_invite,
            commands::painted,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = outcome {
        eprintln!("OnAir could not start: {e}");
        std::process::exit(1);
    }
}

/// Locks a std mutex, whether or not a holder panicked (the data stays consistent: each holder writes
/// whole values).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Milliseconds since the app started.
pub fn since_start() -> u128 {
    STARTED.get().map_or(0, |t| t.elapsed().as_millis())
}

/// How long quitting keeps retrying writes that fail before it quits without the events that wait (a
/// disk turned read-only would otherwise keep the app from quitting at all).
const QUIT_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Quits: the connections close with everything received committed, the window's place is saved. While
/// the database cannot be written, the store's writer stops retrying after [`QUIT_GRACE`] and what waits
/// is not recorded (the log says how much), as the store-health banner warned.
pub fn quit(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let _ = app.save_window_state(window_state());
        if let Some(hub) = app.try_state::<Hub>() {
            let writer = hub.store().writer();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(QUIT_GRACE).await;
                writer.stop_retrying();
            });
            hub.shutdown().await;
            let _ = hub.store().writer().flush().await;
        }
        app.exit(0);
    });
}

/// Logs to stderr and to a daily file (`onair.YYYY-MM-DD.log`, a week kept) in the app's log folder.
/// `RUST_LOG` sets the filter.
fn init_logging(app: &AppHandle) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let file = app.path().app_log_dir().ok().and_then(|dir| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("onair")
            .filename_suffix("log")
            .max_log_files(7)
            .build(&dir)
            .inspect_err(|e| eprintln!("no log file in {}: {e}", dir.display()))
            .ok()
    });
    let (file_layer, guard) = match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (
                Some(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_writer(writer),
                ),
                Some(guard),
            )
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with(stderr)
        .with(file_layer)
        .try_init();
    guard
}
