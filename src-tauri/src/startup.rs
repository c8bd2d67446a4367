//! Starting the hub on the database, or, when the database cannot be opened, the window's recovery screen
//! instead of an app that exits: it says what is wrong (the store's error names the file), and for a file
//! OnAir cannot use (another program's, or damaged) offers to move it aside and start a new database
//! ([`onair::health::open_or_move_aside`]), after which the hub starts as it does at launch, without a
//! restart. Until then no hub exists, and the window calls none of the commands that need one.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use onair::views::{DesktopSettings, StartupView};
use onair_store::Store;
use tauri::{AppHandle, Manager};
use tokio::sync::Mutex;

use crate::hub::Hub;
use crate::signin::SignIns;

/// How the start went; managed by Tauri from setup on.
pub struct Startup(Mutex<State>);

enum State {
    /// The hub runs (and is managed).
    Running {
        /// Where an unusable database was moved at this start, if it was.
        moved_aside: Option<PathBuf>,
    },
    /// The database could not be opened; what starting needs is kept for the next try.
    Stopped {
        db: PathBuf,
        view: StartupView,
        settings: DesktopSettings,
        args: Vec<String>,
    },
}

impl Startup {
    /// Opens the database at `db` and starts the hub (with `settings`; `args` may ask for the simulator);
    /// when the database cannot be opened, the app waits on the recovery screen instead. Fails only when
    /// the hub itself cannot start.
    pub async fn begin(
        app: &AppHandle,
        db: PathBuf,
        settings: DesktopSettings,
        args: Vec<String>,
    ) -> Result<Startup, String> {
        let state = match Store::open(db.clone()).await {
            Ok(store) => {
                run_hub(app.clone(), store, settings, args).await?;
                State::Running { moved_aside: None }
            }
            Err(e) => {
                tracing::error!(error = %e, "the database could not be opened; the window says why");
                State::Stopped {
                    view: StartupView::stopped(&db, &e),
                    db,
                    settings,
                    args,
                }
            }
        };
        Ok(Startup(Mutex::new(state)))
    }

    /// Whether the hub runs.
    pub async fn running(&self) -> bool {
        matches!(*self.0.lock().await, State::Running { .. })
    }

    /// How the start went, for the window.
    pub async fn view(&self) -> StartupView {
        view(&*self.0.lock().await)
    }

    /// Tries again to open the database, moving an unusable file aside first when `move_aside` is asked,
    /// and starts the hub when it opens; answers with how it went (the new problem when it still fails).
    pub async fn retry(&self, app: AppHandle, move_aside: bool) -> Result<StartupView, String> {
        let mut state = self.0.lock().await;
        let State::Stopped {
            db, settings, args, ..
        } = &*state
        else {
            return Ok(view(&state));
        };
        let (db, settings, args) = (db.clone(), settings.clone(), args.clone());
        match onair::health::open_or_move_aside(db.clone(), move_aside).await {
            Ok((store, moved_aside)) => {
                run_hub(app, store, settings, args).await?;
                *state = State::Running { moved_aside };
            }
            Err(e) => {
                tracing::error!(error = %e, "the database could not be opened");
                if let State::Stopped { view, .. } = &mut *state {
                    *view = StartupView::stopped(&db, &e);
                }
            }
        }
        Ok(view(&state))
    }
}

fn view(state: &State) -> StartupView {
    match state {
        State::Running { moved_aside } => StartupView::Running {
            moved_aside: moved_aside.as_ref().map(|p| p.display().to_string()),
        },
        State::Stopped { view, .. } => view.clone(),
    }
}

/// Starts the hub on `store` and makes it the app's: the saved channels, the sign-ins' renewal, and the
/// simulator when `args` ask for it.
async fn run_hub(
    app: AppHandle,
    store: Store,
    settings: DesktopSettings,
    args: Vec<String>,
) -> Result<(), String> {
    let client_id = settings.kick_client_id.clone();
    // Boxed as a `Send` future here, where the lifetimes are concrete: the compiler cannot prove the
    // start's future `Send` for every lifetime when it is awaited inside a command's future.
    let start: Pin<Box<dyn Future<Output = Result<Hub, String>> + Send>> =
        Box::pin(Hub::start(app.clone(), store, settings));
    let hub = start.await?;
    hub.refresh_tray();
    app.manage(hub);
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Some(hub) = handle.try_state::<Hub>() {
            hub.watch_saved().await;
        }
        if let Some(signins) = handle.try_state::<SignIns>() {
            signins.resume(&handle, client_id.as_deref()).await;
        }
    });
    crate::simulate_if_asked(&app, &args);
    Ok(())
}
