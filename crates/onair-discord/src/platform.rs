//! `DiscordPlatform`: Discord behind OnAir's platform faces. [`DiscordPlatform::plan`] asks
//! `GET /gateway/bot` where to connect and how many shards to open (`auto`: as many as Discord
//! recommends), then makes one [`ShardConnector`] for each shard that serves a watched guild (the shard of
//! a guild is `(guild_id >> 22) % shards`), all sharing one [`IdentifyGate`], which later plans of the
//! same platform share too (the desktop plans each server on its own). Each connector is a
//! [`Realtime`] of its own, so the hub records each shard's state under its own name.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use onair_core::{ChannelRef, EventSink, LiveConnection, Platform, PlatformError, Realtime};
use secrecy::SecretString;

use crate::config::{DiscordConfig, Shards};
use crate::events::Watched;
use crate::frame::INTENTS;
use crate::limits::{IdentifyGate, StartsLeft};
use crate::rest::{DiscordRest, GatewayBot};
use crate::shard::{DiscordShard, ShardId, ShardOptions};
use crate::shard_for;

/// Discord, as the hub sees it.
pub struct DiscordPlatform {
    config: DiscordConfig,
    rest: DiscordRest,
    token: SecretString,
    /// The bot's Identify gate, made at the first plan and shared by every later one: the pacing and the
    /// session allowance are the bot's, however many plans open its shards.
    gate: Mutex<Option<Arc<IdentifyGate>>>,
}

/// The shards to open for a set of guilds.
pub struct ShardPlan {
    /// What `GET /gateway/bot` said.
    pub gateway: GatewayBot,
    /// The bot's shard count in use.
    pub total: u32,
    /// One connector per shard that serves a watched guild, by shard number.
    pub shards: Vec<ShardConnector>,
    gate: Arc<IdentifyGate>,
}

impl ShardPlan {
    /// The session start allowance now.
    pub fn starts_left(&self) -> StartsLeft {
        self.gate.starts_left()
    }
}

impl DiscordPlatform {
    /// Discord at `config`'s endpoints with the bot `token`.
    pub fn new(config: DiscordConfig, token: SecretString) -> Result<DiscordPlatform, PlatformError> {
        let rest = DiscordRest::new(&config, &token)?;
        Ok(DiscordPlatform {
            config,
            rest,
            token,
            gate: Mutex::default(),
        })
    }

    /// The REST client.
    pub fn rest(&self) -> &DiscordRest {
        &self.rest
    }

    /// The shards serving `watched`'s guilds.
    pub async fn plan(&self, watched: &Watched) -> Result<ShardPlan, PlatformError> {
        let gateway = self.rest.gateway_bot().await?;
        let total = match self.config.shards {
            Shards::Auto => gateway.shards.max(1),
            Shards::Fixed(n) => n.max(1),
        };
        let gateway_url = self
            .config
            .gateway_url
            .clone()
            .unwrap_or_else(|| gateway.url.clone());
        let gate = self
            .gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert_with(|| Arc::new(IdentifyGate::new(&gateway.session_start_limit)))
            .clone();
        gate.refresh(&gateway.session_start_limit);
        let mut by_shard: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
        for guild in watched.guilds() {
            let shard = shard_for(&guild.platform_id, total).ok_or_else(|| PlatformError::NotFound {
                platform: Platform::Discord,
                what: format!("server {:?} (a server id is a number)", guild.platform_id),
            })?;
            by_shard.entry(shard).or_default().push(&guild.platform_id);
        }
        let shards = by_shard
            .into_iter()
            .map(|(id, guilds)| ShardConnector {
                options: ShardOptions {
                    shard: ShardId { id, total },
                    gateway_url: gateway_url.clone(),
                    config: self.config.clone(),
                    token: self.token.clone(),
                    intents: INTENTS,
                    gate: gate.clone(),
                    watched: watched.only(&guilds),
                },
            })
            .collect();
        Ok(ShardPlan {
            gateway,
            total,
            shards,
            gate,
        })
    }
}

/// Opens one shard.
pub struct ShardConnector {
    options: ShardOptions,
}

impl ShardConnector {
    /// Which shard.
    pub fn shard(&self) -> ShardId {
        self.options.shard
    }

    /// The guilds it records.
    pub fn guilds(&self) -> Vec<ChannelRef> {
        let mut guilds: Vec<ChannelRef> = self.options.watched.guilds().cloned().collect();
        guilds.sort_by(|a, b| a.slug.cmp(&b.slug));
        guilds
    }

    /// Starts the shard.
    pub fn start(&self, sink: EventSink) -> DiscordShard {
        DiscordShard::start(self.options.clone(), sink)
    }
}

#[async_trait]
impl Realtime for ShardConnector {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    fn connection_name(&self, channels: &[ChannelRef]) -> String {
        let guilds: Vec<&str> = channels.iter().map(|c| c.slug.as_str()).collect();
        format!("{} shard {}", guilds.join(","), self.options.shard)
    }

    async fn connect(
        &self,
        _channels: &[ChannelRef],
        events: EventSink,
    ) -> Result<Box<dyn LiveConnection>, PlatformError> {
        Ok(Box::new(self.start(events)))
    }
}
