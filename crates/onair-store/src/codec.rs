//! How an [`Event`] maps to and from an `events` row: times as nanoseconds since the epoch, the id as 16
//! bytes, `actor`/`target`/`data` as compact JSON.

use chrono::{DateTime, Utc};
use onair_core::{Actor, ChannelRef, Event, EventData, EventKind, Offset, Platform};
use serde_json::value::RawValue;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::StoreError;

/// A time as stored: nanoseconds since 1970-01-01 UTC (covers the years 1677 to 2262).
pub(crate) fn to_ns(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt()
        .unwrap_or(if at.timestamp() < 0 { i64::MIN } else { i64::MAX })
}

/// The inverse of [`to_ns`].
pub(crate) fn from_ns(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

/// Compact JSON of a serialisable value (the store's `data`, `actor` and `target` columns).
pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    // Plain data with string keys always serialises.
    serde_json::to_string(value).unwrap_or_default()
}

/// The columns every event read selects, in the order [`event_from_row`] reads them.
pub(crate) const EVENT_COLUMNS: &str = "e.offset, e.id, e.platform, c.platform_id, c.slug, c.chatroom_id, \
     e.kind, e.actor, e.target, e.occurred_at, e.received_at, e.source_id, e.data, e.raw";

/// The FROM clause that goes with [`EVENT_COLUMNS`].
pub(crate) const EVENT_FROM: &str = "events e JOIN channels c ON c.id = e.channel_id";

/// Rebuilds an event from a row selected with [`EVENT_COLUMNS`].
pub(crate) fn event_from_row(row: &SqliteRow) -> Result<Event, StoreError> {
    let offset: i64 = row.try_get(0)?;
    let corrupt = |detail: String| StoreError::Corrupt { offset, detail };
    let id: Vec<u8> = row.try_get(1)?;
    let id = uuid::Uuid::from_slice(&id).map_err(|e| corrupt(format!("id: {e}")))?;
    let platform: String = row.try_get(2)?;
    let platform: Platform = platform
        .parse()
        .map_err(|e: onair_core::UnknownPlatform| corrupt(e.to_string()))?;
    let kind: String = row.try_get(6)?;
    let kind: EventKind = kind
        .parse()
        .map_err(|e: onair_core::UnknownKind| corrupt(e.to_string()))?;
    let actor = actor_from(row.try_get(7)?).map_err(|e| corrupt(format!("actor: {e}")))?;
    let target = actor_from(row.try_get(8)?).map_err(|e| corrupt(format!("target: {e}")))?;
    let data: String = row.try_get(12)?;
    let data = EventData::from_json(kind, &data).map_err(|e| corrupt(format!("data: {e}")))?;
    let raw: Option<String> = row.try_get(13)?;
    let raw = raw
        .map(RawValue::from_string)
        .transpose()
        .map_err(|e| corrupt(format!("raw: {e}")))?;
    Ok(Event {
        offset: Some(Offset(offset)),
        id,
        platform,
        channel: ChannelRef {
            platform_id: row.try_get(3)?,
            slug: row.try_get(4)?,
            chatroom_id: row.try_get(5)?,
        },
        actor,
        target,
        occurred_at: from_ns(row.try_get(9)?),
        received_at: from_ns(row.try_get(10)?),
        source_id: row.try_get(11)?,
        data,
        raw,
    })
}

fn actor_from(column: Option<String>) -> Result<Option<Actor>, serde_json::Error> {
    column.map(|json| serde_json::from_str(&json)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanosecond_times_round_trip() {
        let at = DateTime::parse_from_rfc3339("2026-05-22T18:42:07.123456789Z")
            .unwrap()
            .to_utc();
        assert_eq!(from_ns(to_ns(at)), at);
        assert_eq!(to_ns(from_ns(0)), 0);
    }
}
