//! Discord for the hub: the bot token (from `ONAIR_DISCORD_BOT_TOKEN`, else the keychain), the
//! `discord:GUILD_ID[/CHANNEL_ID,...]` watch spec, and resolving it: the guild named through Discord's
//! REST API (which also proves the bot is in it), each chosen channel checked to be one of its message
//! channels, the guild remembered in the store.

use onair_core::{ChannelRef, Platform, PlatformError};
use onair_discord::DiscordPlatform;
use onair_discord::config::BOT_TOKEN_ENV;
use onair_store::Store;
use secrecy::SecretString;

use crate::accounts::{AccountError, Accounts};
use crate::watch::WatchError;

/// The Discord bot's token: the environment's (headless use; it is then not kept), else the keychain's.
pub async fn bot_token(accounts: &Accounts) -> Result<Option<SecretString>, AccountError> {
    if let Some(token) = std::env::var(BOT_TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
    {
        return Ok(Some(SecretString::from(token)));
    }
    accounts.bot_token().await
}

/// A Discord server to watch: `discord:GUILD_ID`, with the channels whose messages are recorded after a
/// `/` (`discord:GUILD_ID/CHANNEL_ID,CHANNEL_ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordSpec {
    /// The server's id.
    pub guild_id: String,
    /// The channels whose messages are recorded (none: joins, leaves and bans only).
    pub channels: Vec<String>,
}

/// A `discord:` spec that is not `discord:SERVER_ID[/CHANNEL_ID,...]`; says how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DiscordSpecError(String);

impl std::str::FromStr for DiscordSpec {
    type Err = DiscordSpecError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let rest = input.trim().strip_prefix("discord:").unwrap_or(input.trim());
        let (guild, channels) = rest.split_once('/').unwrap_or((rest, ""));
        let snowflake = |id: &str| (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit());
        if !snowflake(guild) {
            return Err(DiscordSpecError(format!(
                "{input:?} is not a Discord server: write discord:SERVER_ID[/CHANNEL_ID,...] with the ids \
                 Discord shows after turning on Developer Mode (right-click > Copy Server ID)"
            )));
        }
        let mut ids = Vec::new();
        for id in channels.split(',').map(str::trim).filter(|id| !id.is_empty()) {
            if !snowflake(id) {
                return Err(DiscordSpecError(format!(
                    "{id:?} in {input:?} is not a channel id: channel ids are numbers (right-click the \
                     channel > Copy Channel ID)"
                )));
            }
            if !ids.iter().any(|known| known == id) {
                ids.push(id.to_owned());
            }
        }
        Ok(DiscordSpec {
            guild_id: guild.to_owned(),
            channels: ids,
        })
    }
}

impl std::fmt::Display for DiscordSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "discord:{}", self.guild_id)?;
        if !self.channels.is_empty() {
            write!(f, "/{}", self.channels.join(","))?;
        }
        Ok(())
    }
}

/// The guild `spec` names, looked up on Discord (the bot must be in it), with each chosen channel checked
/// against its channels; remembered in the store. Returns the guild and the chosen channels' names.
pub async fn resolve(
    store: &Store,
    discord: &DiscordPlatform,
    spec: &DiscordSpec,
) -> Result<(ChannelRef, Vec<String>), WatchError> {
    let lookup_error = |source| WatchError::Lookup {
        spec: spec.to_string(),
        source,
    };
    let guild = discord.rest().guild(&spec.guild_id).await.map_err(lookup_error)?;
    let mut names = Vec::new();
    if !spec.channels.is_empty() {
        let channels = discord
            .rest()
            .guild_channels(&spec.guild_id)
            .await
            .map_err(lookup_error)?;
        for id in &spec.channels {
            match channels.iter().find(|c| &c.id == id) {
                Some(channel) if channel.has_messages() => {
                    names.push(format!("#{}", channel.name.as_deref().unwrap_or(id)));
                }
                found => {
                    let mut listed: Vec<String> = channels
                        .iter()
                        .filter(|c| c.has_messages())
                        .map(|c| format!("#{} ({})", c.name.as_deref().unwrap_or("?"), c.id))
                        .collect();
                    listed.sort();
                    let what = if found.is_some() {
                        "has no messages (a category or a forum)"
                    } else {
                        "is not one of its channels the bot can see"
                    };
                    return Err(lookup_error(PlatformError::NotFound {
                        platform: Platform::Discord,
                        what: format!(
                            "channel {id} in {}: it {what}; its message channels are {}",
                            guild.name,
                            if listed.is_empty() {
                                "none the bot can see".to_owned()
                            } else {
                                listed.join(", ")
                            }
                        ),
                    }));
                }
            }
        }
    }
    let channel = ChannelRef::new(&guild.id, &guild.name);
    store
        .writer()
        .remember_channel(Platform::Discord, channel.clone())
        .await?;
    Ok((channel, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_a_server_and_its_channels() {
        let spec: DiscordSpec = "discord:1085131932938797063/1085131964526100482, 42,42"
            .parse()
            .unwrap();
        assert_eq!(spec.guild_id, "1085131932938797063");
        assert_eq!(spec.channels, ["1085131964526100482", "42"]);
        assert_eq!(
            spec.to_string(),
            "discord:1085131932938797063/1085131964526100482,42"
        );
        let bare: DiscordSpec = "discord:1085131932938797063".parse().unwrap();
        assert!(bare.channels.is_empty());
        assert!(
            "discord:my-server"
                .parse::<DiscordSpec>()
                .unwrap_err()
                .to_string()
                .contains("Copy Server ID")
        );
        assert!(
            "discord:1/general"
                .parse::<DiscordSpec>()
                .unwrap_err()
                .to_string()
                .contains("Copy Channel ID")
        );
    }
}
