//! From a Gateway dispatch to OnAir's unified event: `GUILD_MEMBER_ADD` -> `member_join`,
//! `GUILD_MEMBER_REMOVE` -> `member_leave`, `MESSAGE_CREATE` in a chosen channel -> `chat_message`,
//! `GUILD_BAN_ADD` / `GUILD_BAN_REMOVE` -> `ban` / `unban`, for the watched guilds only. Every other
//! dispatch is skipped on its name alone (its data is never parsed), and a message is checked for its
//! guild and channel before the rest of it is read. The `source_id` is the session and the sequence
//! number, which a resume's replay repeats exactly, so a replayed event is stored once.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use onair_core::{
    Actor, ChannelRef, ChatMessage, Emote, Event, EventData, Member, Moderation, Platform, ReplyTo,
};
use serde::Deserialize;

use crate::frame::{FrameError, Payload};

/// The guilds OnAir records, each with the text channels whose messages it records.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    guilds: HashMap<String, WatchedGuild>,
}

#[derive(Debug, Clone)]
struct WatchedGuild {
    channel: ChannelRef,
    rooms: HashSet<String>,
}

impl Watched {
    /// Records `guild` (its `platform_id` is the guild id) and the messages of `rooms` (channel ids; none:
    /// members and bans only).
    pub fn add(&mut self, guild: ChannelRef, rooms: impl IntoIterator<Item = String>) {
        let entry = self
            .guilds
            .entry(guild.platform_id.clone())
            .or_insert_with(|| WatchedGuild {
                channel: guild,
                rooms: HashSet::new(),
            });
        entry.rooms.extend(rooms);
    }

    /// The watched guilds.
    pub fn guilds(&self) -> impl Iterator<Item = &ChannelRef> {
        self.guilds.values().map(|g| &g.channel)
    }

    /// The text channels recorded in `guild_id`.
    pub fn rooms(&self, guild_id: &str) -> Vec<String> {
        let mut rooms: Vec<String> = self
            .guilds
            .get(guild_id)
            .map(|g| g.rooms.iter().cloned().collect())
            .unwrap_or_default();
        rooms.sort();
        rooms
    }

    /// Only the guilds among `ids`.
    pub fn only(&self, ids: &[&str]) -> Watched {
        Watched {
            guilds: self
                .guilds
                .iter()
                .filter(|(id, _)| ids.contains(&id.as_str()))
                .map(|(id, g)| (id.clone(), g.clone()))
                .collect(),
        }
    }
}

/// The dispatches OnAir records.
const RECORDED: [&str; 5] = [
    "GUILD_MEMBER_ADD",
    "GUILD_MEMBER_REMOVE",
    "MESSAGE_CREATE",
    "GUILD_BAN_ADD",
    "GUILD_BAN_REMOVE",
];

#[derive(Deserialize)]
struct User {
    id: String,
    username: String,
    #[serde(default)]
    global_name: Option<String>,
}

impl User {
    fn actor(self, nick: Option<String>) -> Actor {
        let display_name = nick
            .or(self.global_name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| self.username.clone());
        Actor {
            id: self.id,
            login: self.username,
            display_name,
        }
    }
}

#[derive(Deserialize)]
struct MemberChange {
    guild_id: String,
    user: User,
    #[serde(default)]
    nick: Option<String>,
    #[serde(default)]
    joined_at: Option<DateTime<Utc>>,
}

/// Where a message was posted: read first, so an unwatched one costs no more.
#[derive(Deserialize)]
struct Posted<'a> {
    #[serde(borrow, default)]
    guild_id: Option<&'a str>,
    #[serde(borrow)]
    channel_id: &'a str,
}

#[derive(Deserialize)]
struct Message {
    channel_id: String,
    author: User,
    #[serde(default)]
    member: Option<MessageMember>,
    #[serde(default)]
    content: String,
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
    #[serde(rename = "type", default)]
    kind: u8,
    #[serde(default)]
    referenced_message: Option<Box<Referenced>>,
}

#[derive(Deserialize)]
struct MessageMember {
    #[serde(default)]
    nick: Option<String>,
}

#[derive(Deserialize)]
struct Referenced {
    id: String,
    author: User,
    #[serde(default)]
    content: String,
}

/// Turns one payload into the event OnAir records, if it is one. `Ok(None)`: not a dispatch OnAir
/// records, or not in a watched guild or channel.
pub fn route(
    watched: &Watched,
    payload: &Payload,
    session_id: &str,
    received_at: DateTime<Utc>,
) -> Result<Option<Event>, FrameError> {
    let (Some(name), Some(seq)) = (payload.event_name(), payload.sequence()) else {
        return Ok(None);
    };
    if !RECORDED.contains(&name) {
        return Ok(None);
    }
    let source_id = format!("{session_id}:{seq}");
    let event = match name {
        "MESSAGE_CREATE" => {
            let posted: Posted = payload.data(name)?;
            let Some(guild) = posted.guild_id.and_then(|id| watched.guilds.get(id)) else {
                return Ok(None);
            };
            if !guild.rooms.contains(posted.channel_id) {
                return Ok(None);
            }
            let message: Message = payload.data(name)?;
            // Default messages and replies; joins, boosts and pins are system messages.
            if !matches!(message.kind, 0 | 19) {
                return Ok(None);
            }
            let reply_to = message.referenced_message.map(|r| ReplyTo {
                message_id: r.id,
                login: r.author.username,
                text: r.content,
            });
            let data = ChatMessage {
                emotes: emotes(&message.content),
                text: message.content,
                reply_to,
                room_id: Some(message.channel_id),
                ..ChatMessage::default()
            };
            let author = message.author.actor(message.member.and_then(|m| m.nick));
            let mut event = Event::new(
                Platform::Discord,
                guild.channel.clone(),
                EventData::ChatMessage(data),
            )
            .with_actor(author);
            if let Some(at) = message.timestamp {
                event = event.with_occurred_at(at);
            }
            event
        }
        _ => {
            let change: MemberChange = payload.data(name)?;
            let Some(guild) = watched.guilds.get(&change.guild_id) else {
                return Ok(None);
            };
            let member = change.user.actor(change.nick);
            let channel = guild.channel.clone();
            let guild_id = change.guild_id;
            match name {
                "GUILD_MEMBER_ADD" => {
                    let event = Event::new(
                        Platform::Discord,
                        channel,
                        EventData::MemberJoin(Member { guild_id }),
                    )
                    .with_actor(member);
                    match change.joined_at {
                        Some(at) => event.with_occurred_at(at),
                        None => event,
                    }
                }
                "GUILD_MEMBER_REMOVE" => Event::new(
                    Platform::Discord,
                    channel,
                    EventData::MemberLeave(Member { guild_id }),
                )
                .with_actor(member),
                "GUILD_BAN_ADD" => {
                    Event::new(Platform::Discord, channel, EventData::Ban(Moderation::default()))
                        .with_target(member)
                }
                _ => Event::new(
                    Platform::Discord,
                    channel,
                    EventData::Unban(Moderation::default()),
                )
                .with_target(member),
            }
        }
    };
    let mut event = event.with_source_id(source_id);
    event.received_at = received_at;
    event.raw = payload.raw_data().map(|raw| raw.to_owned());
    Ok(Some(event))
}

/// The custom emojis of a message (`<:name:id>`, animated `<a:name:id>`), in order.
fn emotes(content: &str) -> Vec<Emote> {
    let mut found = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { break };
        let inner = &rest[..end];
        let inner = inner.strip_prefix('a').unwrap_or(inner);
        if let Some((name, id)) = inner.strip_prefix(':').and_then(|s| s.split_once(':'))
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
        {
            found.push(Emote {
                id: id.to_owned(),
                name: name.to_owned(),
            });
            rest = &rest[end + 1..];
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_emojis_are_found_and_mentions_are_not() {
        let found = emotes("hi <:pog:123> <@456> <a:dance_2:789> <:bad name:1> <:x:> <:y:12a>");
        assert_eq!(
            found,
            [
                Emote {
                    id: "123".into(),
                    name: "pog".into()
                },
                Emote {
                    id: "789".into(),
                    name: "dance_2".into()
                }
            ]
        );
        assert!(emotes("no emotes < here >").is_empty());
    }
}
