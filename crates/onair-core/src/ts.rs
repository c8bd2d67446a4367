//! The TypeScript declarations of the public types (feature `ts`): what the desktop UI and the relay's
//! clients see, generated from the Rust types so the two cannot drift apart. `Event` is written here by
//! hand from its parts, because its JSON form (v1) is serialised by hand: the common fields, then `kind`
//! and `data` as a union typed per kind.

use ts_rs::{Config, TS};

use crate::*;

/// The configuration every declaration is rendered with: 64-bit integers are plain numbers (offsets and
/// counts stay far below 2^53).
pub fn config() -> Config {
    Config::new().with_large_int("number")
}

/// The declarations, one `export type` each, in a stable order.
pub fn declarations(cfg: &Config) -> Vec<String> {
    let mut out = vec![
        <Platform as TS>::decl(cfg),
        <EventKind as TS>::decl(cfg),
        "/** A position in the store, for resuming after it. */\ntype Offset = number;".to_owned(),
        <Actor as TS>::decl(cfg),
        <ChannelRef as TS>::decl(cfg),
        <ConnectionId as TS>::decl(cfg),
        <ConnectionState as TS>::decl(cfg),
    ];
    out.extend([
        <Empty as TS>::decl(cfg),
        <Emote as TS>::decl(cfg),
        <Badge as TS>::decl(cfg),
        <ReplyTo as TS>::decl(cfg),
        <ChatMessage as TS>::decl(cfg),
        <MessageRef as TS>::decl(cfg),
        <PinnedMessage as TS>::decl(cfg),
        <ChatSettings as TS>::decl(cfg),
        <FollowerCount as TS>::decl(cfg),
        <Subscription as TS>::decl(cfg),
        <SubscriptionEnd as TS>::decl(cfg),
        <SubscriptionGift as TS>::decl(cfg),
        <Moderation as TS>::decl(cfg),
        <StreamInfo as TS>::decl(cfg),
        <Raid as TS>::decl(cfg),
        <Currency as TS>::decl(cfg),
        <Cheer as TS>::decl(cfg),
        <RewardRedeemed as TS>::decl(cfg),
        <PollOption as TS>::decl(cfg),
        <Poll as TS>::decl(cfg),
        <Member as TS>::decl(cfg),
        <Unknown as TS>::decl(cfg),
        <serde_json::Value as TS>::decl(cfg),
    ]);
    out.push(format!(
        "/** What happened, typed per kind: `data` follows `kind`. */\n\
         type EventBody =\n  | {};",
        EventData::ts_union(cfg)
    ));
    out.push(
        "/** An event in its public JSON form (version 1, docs/events.md). */\n\
         type Event = {\n  \
           offset: Offset | null;\n  \
           id: string;\n  \
           platform: Platform;\n  \
           channel: ChannelRef;\n  \
           actor: Actor | null;\n  \
           target: Actor | null;\n  \
           occurred_at: string;\n  \
           received_at: string;\n  \
           source_id: string | null;\n\
         } & EventBody;"
            .to_owned(),
    );
    out
}

/// A declaration file: `header` (comment lines), then each of `decls` exported, separated by blank lines.
pub fn module(header: &str, decls: Vec<String>) -> String {
    let mut out = header.to_owned();
    for decl in decls {
        out.push('\n');
        let exported = match decl.strip_prefix("type ") {
            Some(rest) => format!("export type {rest}"),
            None => decl.replacen("\ntype ", "\nexport type ", 1),
        };
        out.push_str(&exported);
        out.push('\n');
    }
    out
}
