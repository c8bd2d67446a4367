//! How events are written out: JSONL (exactly the JSON form v1, one event a line), CSV (one row per event,
//! for spreadsheets), and a table for people. Also the one-line human summary of an event.

use std::io::{self, Write};

use onair_core::{ChatSettings, Event, EventData, Poll, Subscription};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// An output format of `onair events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The JSON form v1, one event per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// Aligned columns for people.
    Table,
}

/// Writes `events` to `out` in `format`.
pub fn write(format: Format, events: &[Event], out: &mut impl Write) -> io::Result<()> {
    match format {
        Format::Jsonl => write_jsonl(events, out),
        Format::Csv => write_csv(events, out),
        Format::Table => write_table(events, out),
    }
}

fn write_jsonl(events: &[Event], out: &mut impl Write) -> io::Result<()> {
    for event in events {
        serde_json::to_writer(&mut *out, event)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 12] = [
    "offset",
    "id",
    "received_at",
    "occurred_at",
    "platform",
    "channel",
    "kind",
    "actor",
    "target",
    "source_id",
    "summary",
    "data",
];

fn write_csv(events: &[Event], out: &mut impl Write) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(CSV_HEADER)?;
    for e in events {
        let login = |a: &Option<onair_core::Actor>| a.as_ref().map(|a| a.login.clone()).unwrap_or_default();
        csv.write_record([
            e.offset.map(|o| o.to_string()).unwrap_or_default(),
            e.id.to_string(),
            e.received_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            e.platform.to_string(),
            e.channel.slug.clone(),
            e.kind().to_string(),
            login(&e.actor),
            login(&e.target),
            e.source_id.clone().unwrap_or_default(),
            summary(e),
            serde_json::to_string(&e.data).unwrap_or_default(),
        ])?;
    }
    csv.flush()
}

fn write_table(events: &[Event], out: &mut impl Write) -> io::Result<()> {
    const WIDTHS: [usize; 6] = [8, 19, 8, 16, 18, 18];
    let header = [
        "OFFSET",
        "RECEIVED (UTC)",
        "PLATFORM",
        "CHANNEL",
        "KIND",
        "WHO",
        "WHAT",
    ];
    write_row(out, &WIDTHS, header.map(str::to_owned))?;
    for e in events {
        let who = e.actor.as_ref().map(|a| a.display_name.as_str()).unwrap_or("-");
        let row = [
            e.offset.map(|o| o.to_string()).unwrap_or_default(),
            e.received_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.platform.to_string(),
            e.channel.slug.clone(),
            e.kind().to_string(),
            who.to_owned(),
            clip(&summary(e).replace(['\n', '\r'], " "), 100),
        ];
        write_row(out, &WIDTHS, row)?;
    }
    Ok(())
}

/// One table row: each cell clipped and padded to its column's width on screen (wide characters count
/// twice), the last cell as is.
fn write_row(out: &mut impl Write, widths: &[usize], cells: [String; 7]) -> io::Result<()> {
    let mut line = String::new();
    for (cell, &width) in cells.iter().zip(widths) {
        let cell = clip(cell, width);
        let pad = width.saturating_sub(cell.width());
        line.push_str(&cell);
        line.push_str(&" ".repeat(pad + 2));
    }
    line.push_str(&cells[6]);
    writeln!(out, "{}", line.trim_end())
}

/// `text` cut to at most `width` columns on screen, with an ellipsis when cut.
fn clip(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut cut = String::new();
    for c in text.chars() {
        if cut.width() + c.width().unwrap_or(0) + 1 > width {
            break;
        }
        cut.push(c);
    }
    cut.push('…');
    cut
}

/// What happened, in a few words for people (the actor is shown beside it).
pub fn summary(event: &Event) -> String {
    let target = event
        .target
        .as_ref()
        .map(|t| t.display_name.as_str())
        .unwrap_or("someone");
    let with_message = |text: String, message: &Option<String>| match message {
        Some(m) if !m.is_empty() => format!("{text}: {m}"),
        _ => text,
    };
    match &event.data {
        EventData::ChatMessage(m) => match &m.reply_to {
            Some(r) => format!("↪ @{} {}", r.login, m.text),
            None => m.text.clone(),
        },
        EventData::MessageDeleted(m) => format!("deleted message {}", m.message_id),
        EventData::MessagePinned(m) => format!("pinned \"{}\"", m.text.as_deref().unwrap_or(&m.message_id)),
        EventData::MessageUnpinned(m) => {
            format!("unpinned \"{}\"", m.text.as_deref().unwrap_or(&m.message_id))
        }
        EventData::ChatCleared(_) => "cleared the chat".into(),
        EventData::ChatSettings(s) => chat_modes(s),
        EventData::Follow(_) => "followed".into(),
        EventData::FollowerCount(c) => format!("{} followers", c.count),
        EventData::Subscription(s) => with_message(subscribed(s), &s.message),
        EventData::SubscriptionEnd(_) => "subscription ended".into(),
        EventData::SubscriptionGift(g) => {
            let to = if g.recipients.is_empty() {
                String::new()
            } else {
                format!(" to {}", g.recipients.join(", "))
            };
            format!(
                "gifted {} sub{}{to}",
                g.quantity,
                if g.quantity == 1 { "" } else { "s" }
            )
        }
        EventData::Ban(m) => with_message(format!("banned {target}"), &m.reason),
        EventData::Timeout(m) => {
            let length = m.duration_secs.map(|s| format!(" for {s} s")).unwrap_or_default();
            with_message(format!("timed out {target}{length}"), &m.reason)
        }
        EventData::Unban(_) => format!("unbanned {target}"),
        EventData::ModeratorAdd(_) => format!("made {target} a moderator"),
        EventData::ModeratorRemove(_) => format!("removed {target} as moderator"),
        EventData::VipAdd(_) => format!("made {target} a VIP"),
        EventData::VipRemove(_) => format!("removed {target} as VIP"),
        EventData::StreamOnline(s) => format!("went live: {}", stream(s)),
        EventData::StreamOffline(_) => "stream ended".into(),
        EventData::StreamUpdated(s) => format!("now: {}", stream(s)),
        EventData::Raid(r) => with_message(
            format!("raided with {} viewers", r.viewers.unwrap_or(0)),
            &r.message,
        ),
        EventData::RaidOut(r) => with_message(
            format!("raided {target} with {} viewers", r.viewers.unwrap_or(0)),
            &r.message,
        ),
        EventData::Cheer(c) => {
            let currency = serde_json::to_value(c.currency)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            with_message(
                format!("cheered {} {}", c.amount, currency.unwrap_or_default()),
                &c.message,
            )
        }
        EventData::RewardRedeemed(r) => with_message(format!("redeemed {}", r.title), &r.input),
        EventData::PollUpdate(p) => format!("poll {}", poll(p)),
        EventData::PollEnd(p) => format!("poll ended {}", poll(p)),
        EventData::Prediction(p) => format!("prediction {}", poll(p)),
        EventData::LeaderboardUpdate(_) => "gift leaderboard updated".into(),
        EventData::MemberJoin(_) => "joined the server".into(),
        EventData::MemberLeave(_) => "left the server".into(),
        EventData::Unknown(u) => format!("unhandled event {}", u.name),
    }
}

fn subscribed(s: &Subscription) -> String {
    let mut details = Vec::new();
    if let Some(months) = s.months {
        details.push(format!("{months} month{}", if months == 1 { "" } else { "s" }));
    }
    if let Some(tier) = &s.tier {
        details.push(format!("tier {tier}"));
    }
    if s.is_gift {
        details.push("gift".into());
    }
    if details.is_empty() {
        "subscribed".into()
    } else {
        format!("subscribed ({})", details.join(", "))
    }
}

fn chat_modes(s: &ChatSettings) -> String {
    let mut modes = Vec::new();
    if let Some(secs) = s.slow_mode_secs {
        modes.push(format!("slow mode {secs} s"));
    }
    if let Some(mins) = s.followers_only_mins {
        modes.push(format!("followers-only {mins} min"));
    }
    if s.subscribers_only == Some(true) {
        modes.push("subscribers-only".into());
    }
    if s.emotes_only == Some(true) {
        modes.push("emotes-only".into());
    }
    if modes.is_empty() {
        "chat modes all off".into()
    } else {
        format!("chat modes: {}", modes.join(", "))
    }
}

fn stream(s: &onair_core::StreamInfo) -> String {
    match (&s.title, &s.category) {
        (Some(title), Some(category)) => format!("{title} ({category})"),
        (Some(title), None) => title.clone(),
        (None, Some(category)) => category.clone(),
        (None, None) => "(untitled)".into(),
    }
}

fn poll(p: &Poll) -> String {
    let options: Vec<String> = p
        .options
        .iter()
        .map(|o| format!("{} {}", o.label, o.votes))
        .collect();
    format!("\"{}\": {}", p.title, options.join(", "))
}

#[cfg(test)]
mod tests {
    use onair_core::{EventKind, Platform, sample};

    use super::*;

    #[test]
    fn every_kind_has_a_summary_and_a_table_row() {
        let events = sample::every_kind(Platform::Kick);
        for event in &events {
            assert!(!summary(event).is_empty(), "{}", event.kind());
        }
        let mut table = Vec::new();
        write(Format::Table, &events, &mut table).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert_eq!(table.lines().count(), EventKind::ALL.len() + 1);
        assert!(table.contains("timed out модератор for 600 s: spam"), "{table}");
        assert!(table.contains("↪ @alice_k gg that clutch"), "{table}");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let events = sample::every_kind(Platform::Twitch);
        let mut out = Vec::new();
        write(Format::Csv, &events, &mut out).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), CSV_HEADER);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), events.len());
        assert_eq!(&rows[0][6], "chat_message");
        let data: serde_json::Value = serde_json::from_str(&rows[0][11]).unwrap();
        assert_eq!(data["color"], "#FF9D00");
    }

    #[test]
    fn long_text_is_clipped_by_characters() {
        assert_eq!(
            clip("日本語のテキスト", 7),
            "日本語…",
            "wide characters take two columns"
        );
        assert_eq!(clip("abcdefgh", 4), "abc…");
        assert_eq!(clip("short", 10), "short");
    }
}
