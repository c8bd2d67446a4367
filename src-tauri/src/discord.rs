//! The Discord bot in the app: the token pasted in the Accounts section (checked with Discord before it is
//! kept in the keychain, never shown, logged or written to the settings), the bot it belongs to with the
//! page that adds it to a server (opened in the system browser, where the user is signed in to Discord,
//! as `onair login discord` does), and the servers it is in with their message channels, to choose what to
//! watch. Keeping or forgetting the token restarts the Discord watches with the token now in force.

use onair::accounts::Accounts;
use onair::views::{DiscordAccountView, DiscordBotView, DiscordChannelView, DiscordServerView};
use onair_core::PlatformError;
use onair_discord::config::BOT_TOKEN_ENV;
use onair_discord::{DiscordPlatform, authorize_url};
use secrecy::SecretString;
use tauri::{AppHandle, Emitter};
use tauri_plugin_opener::OpenerExt;

use crate::hub::Hub;
use crate::signin::ACCOUNTS_EVENT;

/// Where the token comes from, said in every message that asks for one.
const WHERE_TO_GET_IT: &str = "copy it from https://discord.com/developers/applications (your app > Bot > \
                               Reset Token)";

/// What Discord said, in words for this section: a refused token says where to get a new one (the
/// platform error's "sign in again" fits accounts, not a bot's token).
fn refused(e: PlatformError, what: &str) -> String {
    match e {
        PlatformError::Unauthorized { .. } => format!(
            "Discord refused {what}: it is not the bot's current token. Reset it in the Developer Portal \
             (https://discord.com/developers/applications, your app > Bot > Reset Token) and paste the new one"
        ),
        other => other.to_string(),
    }
}

/// The accounts (the keychain, or this computer's secrets file).
async fn accounts() -> Result<Accounts, String> {
    onair::paths::secrets()
        .await
        .map(Accounts::new)
        .ok_or_else(|| "no home folder to keep the bot's token in".to_owned())
}

/// Whether the token in force comes from the environment.
fn from_environment() -> bool {
    std::env::var(BOT_TOKEN_ENV).is_ok_and(|t| !t.trim().is_empty())
}

/// The bot behind the token in force, or why there is none.
pub async fn account(hub: &Hub) -> DiscordAccountView {
    let mut view = DiscordAccountView {
        bot: None,
        from_environment: from_environment(),
        problem: hub.discord_problem(),
    };
    let Some(discord) = hub.discord() else {
        return view;
    };
    match discord.rest().current_user().await {
        Ok(bot) => {
            view.bot = Some(DiscordBotView {
                invite_url: authorize_url(&bot.id),
                id: bot.id,
                name: bot.username,
            });
        }
        Err(e) => {
            let instead = if view.from_environment {
                format!(" in {BOT_TOKEN_ENV}")
            } else {
                " here: it replaces the kept one".to_owned()
            };
            view.problem = Some(match e {
                PlatformError::Unauthorized { .. } => format!("{}{instead}", refused(e, "the kept token")),
                other => format!("Discord could not be asked about the bot: {other}"),
            });
        }
    }
    view
}

/// Checks `token` with Discord and keeps it; the Discord watches restart with it.
pub async fn set_token(app: &AppHandle, hub: &Hub, token: &str) -> Result<DiscordAccountView, String> {
    let token = token.trim();
    if token.is_empty() {
        return Err(format!("paste the bot's token first: {WHERE_TO_GET_IT}"));
    }
    let token = SecretString::from(token.to_owned());
    let discord = DiscordPlatform::new(hub.discord_config(), token.clone()).map_err(|e| match e {
        PlatformError::Unauthorized { .. } => {
            format!("that is not a bot token (it has characters no token has): {WHERE_TO_GET_IT}")
        }
        other => other.to_string(),
    })?;
    let bot = discord
        .rest()
        .current_user()
        .await
        .map_err(|e| format!("{}; nothing was kept", refused(e, "this token")))?;
    accounts()
        .await?
        .set_bot_token(&token)
        .await
        .map_err(|e| format!("Discord accepted the token, but it could not be kept: {e}"))?;
    tracing::info!(bot = %bot.username, "the Discord bot's token is kept");
    hub.discord_token_changed().await;
    let _ = app.emit(ACCOUNTS_EVENT, ());
    Ok(account(hub).await)
}

/// Forgets the kept token; the Discord watches restart without it (their cards say to paste one).
pub async fn forget_token(app: &AppHandle, hub: &Hub) -> Result<Option<String>, String> {
    let forgot = accounts()
        .await?
        .forget_bot_token()
        .await
        .map_err(|e| format!("the bot's token could not be forgotten: {e}"))?;
    hub.discord_token_changed().await;
    let _ = app.emit(ACCOUNTS_EVENT, ());
    Ok(if from_environment() {
        Some(format!(
            "{BOT_TOKEN_ENV} still gives OnAir a token: remove it from the environment OnAir starts in"
        ))
    } else if forgot {
        Some(
            "Forgot the bot's token. It still works wherever else it is used: reset it in the Developer Portal \
             (Bot > Reset Token) to end it."
                .to_owned(),
        )
    } else {
        None
    })
}

/// The servers the bot is in, each with its message channels (by name).
pub async fn servers(hub: &Hub) -> Result<Vec<DiscordServerView>, String> {
    let discord = hub
        .discord()
        .ok_or_else(|| format!("paste your Discord bot's token first: {WHERE_TO_GET_IT}"))?;
    let guilds = discord
        .rest()
        .current_user_guilds()
        .await
        .map_err(|e| format!("the servers the bot is in could not be listed: {e}"))?;
    let mut servers = Vec::with_capacity(guilds.len());
    for guild in guilds {
        let (channels, problem) = match discord.rest().guild_channels(&guild.id).await {
            Ok(channels) => {
                let mut channels: Vec<DiscordChannelView> = channels
                    .into_iter()
                    .filter(|c| c.has_messages())
                    .map(|c| DiscordChannelView {
                        name: c.name.unwrap_or_else(|| c.id.clone()),
                        id: c.id,
                    })
                    .collect();
                channels.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
                (channels, None)
            }
            Err(e) => (
                Vec::new(),
                Some(format!(
                    "its channels could not be listed ({e}); joins, leaves and bans can still be watched"
                )),
            ),
        };
        servers.push(DiscordServerView {
            id: guild.id,
            name: guild.name,
            channels,
            problem,
        });
    }
    servers.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    Ok(servers)
}

/// Opens the page that adds the bot to a server in the system browser.
pub async fn open_invite(app: &AppHandle, hub: &Hub) -> Result<(), String> {
    let bot = account(hub).await;
    let Some(bot) = bot.bot else {
        return Err(bot
            .problem
            .unwrap_or_else(|| format!("paste your Discord bot's token first: {WHERE_TO_GET_IT}")));
    };
    app.opener().open_url(&bot.invite_url, None::<&str>).map_err(|e| {
        format!(
            "the browser did not open ({e}): open {} yourself to add the bot",
            bot.invite_url
        )
    })
}
