//! The commands the window may call: each a few lines over the hub. Errors reach the UI as sentences.

use onair::views::{
    AccountView, DesktopSettings, DiscordAccountView, DiscordServerView, FeedQuery, Overview, StartupView,
    StatsView,
};
use onair::watch::ChannelSpec;
use onair_core::Offset;
use onair_store::EventQuery;
use serde_json::value::RawValue;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_opener::OpenerExt;

use crate::hub::Hub;
use crate::signin::SignIns;
use crate::startup::Startup;

/// `startup`: whether the hub runs, or why the database could not be opened (the window then shows the
/// recovery screen and calls no command that needs the hub).
#[tauri::command]
pub async fn startup(startup: State<'_, Startup>) -> Result<StartupView, String> {
    Ok(startup.view().await)
}

/// `recover`: opens the database again (moving an unusable file aside first when `moveAside`), starting
/// the hub when it opens; answers with how it went.
#[tauri::command]
pub async fn recover(
    app: AppHandle,
    startup: State<'_, Startup>,
    move_aside: bool,
) -> Result<StartupView, String> {
    startup.retry(app, move_aside).await
}

/// `quit`: quits OnAir (the recovery screen's Quit; the tray has its own).
#[tauri::command]
pub fn quit(app: AppHandle) {
    crate::quit(&app);
}

/// `overview`: the database, the connections, the simulator, the logs.
#[tauri::command]
pub async fn overview(app: AppHandle, hub: State<'_, Hub>) -> Result<Overview, String> {
    Ok(Overview {
        database: hub.store().path().display().to_string(),
        connections: hub.connections(),
        simulating: hub.simulating().await,
        logs: app
            .path()
            .app_log_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        health: hub.health(),
    })
}

/// `list_events`: events in the public JSON form (v1), oldest first.
#[tauri::command]
pub async fn list_events(hub: State<'_, Hub>, query: FeedQuery) -> Result<Vec<Box<RawValue>>, String> {
    let query = EventQuery {
        after: query.after.map(Offset),
        before: query.before.map(Offset),
        kinds: query.kinds,
        platform: query.platform,
        channel: query.channel.filter(|c| !c.trim().is_empty()),
        search: query.search.filter(|s| !s.trim().is_empty()),
        limit: Some(query.limit.unwrap_or(500).min(5000)),
        ..EventQuery::default()
    };
    let events = hub.store().events(&query).await.map_err(|e| e.to_string())?;
    events
        .iter()
        .map(|event| RawValue::from_string(event.to_json_line()).map_err(|e| e.to_string()))
        .collect()
}

/// `stats`: events per minute by kind, and this session's totals.
#[tauri::command]
pub async fn stats(hub: State<'_, Hub>) -> Result<StatsView, String> {
    hub.stats().await
}

/// `get_settings`.
#[tauri::command]
pub fn get_settings(hub: State<'_, Hub>) -> DesktopSettings {
    hub.settings()
}

/// `set_settings`: saves and applies them; answers with what is now in force.
#[tauri::command]
pub async fn set_settings(hub: State<'_, Hub>, settings: DesktopSettings) -> Result<DesktopSettings, String> {
    hub.apply_settings(settings).await
}

/// `watch_channel`: adds `spec` (`kick:slug`, `kick:slug@CHANNEL_ID/CHATROOM_ID`, `twitch:login` or
/// `discord:SERVER_ID[/CHANNEL_ID,...]`) to the watched channels and starts watching it; a channel already
/// watched takes the new spec (a Discord server's channels).
#[tauri::command]
pub async fn watch_channel(hub: State<'_, Hub>, spec: String) -> Result<DesktopSettings, String> {
    let spec = spec.trim().parse::<ChannelSpec>().map_err(|e| e.to_string())?;
    let mut settings = hub.settings();
    forget_channel(&mut settings, &spec.key());
    settings.channels.push(spec.to_string());
    hub.apply_settings(settings).await
}

/// `unwatch_channel`: stops watching the channel of `spec` and removes it from the list.
#[tauri::command]
pub async fn unwatch_channel(hub: State<'_, Hub>, spec: String) -> Result<DesktopSettings, String> {
    let spec = spec.parse::<ChannelSpec>().map_err(|e| e.to_string())?;
    let mut settings = hub.settings();
    forget_channel(&mut settings, &spec.key());
    hub.apply_settings(settings).await
}

/// Takes the channel with `key` out of the watched list (however its spec was written).
fn forget_channel(settings: &mut DesktopSettings, key: &str) {
    settings
        .channels
        .retain(|c| c.parse::<ChannelSpec>().map_or(true, |s| s.key() != key));
}

/// `simulate`: starts (`on`) or stops the simulated Kick stream.
#[tauri::command]
pub async fn simulate(hub: State<'_, Hub>, on: bool, rate: Option<f64>) -> Result<(), String> {
    if on {
        hub.start_simulation(rate.unwrap_or(4.0).clamp(0.1, 1000.0)).await
    } else {
        hub.stop_simulation().await;
        Ok(())
    }
}

/// `reconnect`: the connection of card `id` (every connection without one) reconnects now, with a
/// fresh retry count.
#[tauri::command]
pub async fn reconnect(hub: State<'_, Hub>, id: Option<String>) -> Result<(), String> {
    match id {
        Some(id) => hub.reconnect(&id).await,
        None => hub.reconnect_all().await,
    }
    Ok(())
}

/// `open_logs`: opens the log folder in the file manager.
#[tauri::command]
pub fn open_logs(app: AppHandle) -> Result<(), String> {
    let dir = app
        .path()
        .app_log_dir()
        .map_err(|e| format!("no log folder: {e}"))?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("the log folder {} could not be made: {e}", dir.display()))?;
    app.opener()
        .open_path(dir.display().to_string(), None::<&str>)
        .map_err(|e| format!("the log folder {} could not be opened: {e}", dir.display()))
}

/// `accounts`: the platforms' sign-ins, for the Login section.
#[tauri::command]
pub async fn accounts(hub: State<'_, Hub>, signins: State<'_, SignIns>) -> Result<Vec<AccountView>, String> {
    let settings = hub.settings();
    Ok(vec![
        signins.kick_view(settings.kick_client_id.as_deref()).await,
        signins
            .twitch_view(&hub.twitch_config(), hub.twitch_problem())
            .await,
    ])
}

/// `login`: signs in to `platform` in the login window; `clientSecret` when the keychain has none yet.
#[tauri::command]
pub async fn login(
    app: AppHandle,
    hub: State<'_, Hub>,
    signins: State<'_, SignIns>,
    platform: onair_core::Platform,
    client_secret: Option<String>,
) -> Result<(), String> {
    match platform {
        onair_core::Platform::Kick => {
            let client_id = hub.settings().kick_client_id;
            signins
                .sign_in_kick(&app, client_id.as_deref(), client_secret)
                .await
        }
        onair_core::Platform::Twitch => {
            signins.sign_in_twitch(&app, &hub.twitch_config()).await?;
            hub.twitch_signed_in_or_out().await;
            Ok(())
        }
        other => Err(format!("signing in to {other} comes with its own support")),
    }
}

/// `logout`: signs out of `platform`; answers with a warning when the tokens could not be revoked.
#[tauri::command]
pub async fn logout(
    app: AppHandle,
    hub: State<'_, Hub>,
    signins: State<'_, SignIns>,
    platform: onair_core::Platform,
) -> Result<Option<String>, String> {
    match platform {
        onair_core::Platform::Kick => {
            let client_id = hub.settings().kick_client_id;
            signins.sign_out_kick(&app, client_id.as_deref()).await
        }
        onair_core::Platform::Twitch => {
            let warning = signins.sign_out_twitch(&app, &hub.twitch_config()).await?;
            hub.twitch_signed_in_or_out().await;
            Ok(warning)
        }
        _ => Ok(None),
    }
}

/// `discord_account`: the bot whose token is kept (with the page that adds it to a server), or why
/// Discord cannot be used.
#[tauri::command]
pub async fn discord_account(hub: State<'_, Hub>) -> Result<DiscordAccountView, String> {
    Ok(crate::discord::account(&hub).await)
}

/// `set_discord_token`: checks the bot's token with Discord and keeps it in the keychain.
#[tauri::command]
pub async fn set_discord_token(
    app: AppHandle,
    hub: State<'_, Hub>,
    token: String,
) -> Result<DiscordAccountView, String> {
    crate::discord::set_token(&app, &hub, &token).await
}

/// `forget_discord_token`: forgets the kept token; answers with what is left to do, if anything.
#[tauri::command]
pub async fn forget_discord_token(app: AppHandle, hub: State<'_, Hub>) -> Result<Option<String>, String> {
    crate::discord::forget_token(&app, &hub).await
}

/// `discord_servers`: the servers the bot is in, with their message channels.
#[tauri::command]
pub async fn discord_servers(hub: State<'_, Hub>) -> Result<Vec<DiscordServerView>, String> {
    crate::discord::servers(&hub).await
}

/// `open_discord_invite`: opens the page that adds the bot to a server in the browser.
#[tauri::command]
pub async fn open_discord_invite(app: AppHandle, hub: State<'_, Hub>) -> Result<(), String> {
    crate::discord::open_invite(&app, &hub).await
}

/// The relay: where it listens, who is connected, or why it does not run.
#[tauri::command]
pub fn relay(hub: State<'_, Hub>) -> onair::views::RelayView {
    hub.relay()
}

/// The relay's token, to show and copy.
#[tauri::command]
pub async fn relay_token(hub: State<'_, Hub>) -> Result<String, String> {
    hub.relay_token().await
}

/// A new relay token; clients with the old one are disconnected.
#[tauri::command]
pub async fn rotate_relay_token(hub: State<'_, Hub>) -> Result<(), String> {
    hub.rotate_relay_token().await
}

/// `painted`: the dashboard has painted for the first time (logged with the time since start, which
/// `cargo xtask bench app` reads).
#[tauri::command]
pub fn painted() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| tracing::info!(ms = crate::since_start() as u64, "the dashboard is painted"));
}
