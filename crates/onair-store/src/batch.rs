//! Commits one batch of events in one transaction: channels and viewers upserted, event rows inserted
//! with multi-row statements (duplicates skipped by the `(platform, source_id)` index), chat text indexed,
//! projections applied, connection states logged. All or nothing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use onair_core::{Actor, ConnectionId, ConnectionState, Event, Offset, Platform};
use sqlx::{AssertSqlSafe, Connection, Row, SqliteConnection};

use crate::codec::{json, to_ns};
use crate::projection::{self, Projected};

/// Rows per multi-row `INSERT INTO events`: 14 parameters each, well under SQLite's variable limit.
const EVENT_ROWS_PER_STATEMENT: usize = 64;
/// Rows per multi-row viewer upsert (6 parameters each).
const VIEWER_ROWS_PER_STATEMENT: usize = 128;
/// Rows per multi-row full-text insert (2 parameters each).
const FTS_ROWS_PER_STATEMENT: usize = 256;

/// What happened to one appended event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Where the event is in the store (for a duplicate: where the first copy is).
    pub offset: Offset,
    /// The event had been recorded before (same platform and source id); nothing was written.
    pub duplicate: bool,
}

/// A connection state change waiting to be logged.
pub(crate) struct StateChange {
    pub id: ConnectionId,
    pub state: ConnectionState,
    pub at: DateTime<Utc>,
}

#[derive(Clone)]
struct ChannelRow {
    id: i64,
    slug: String,
    chatroom_id: Option<String>,
}

/// The writer's connection and what it remembers between batches.
pub(crate) struct BatchWriter {
    conn: SqliteConnection,
    next_offset: i64,
    channels: HashMap<(Platform, String), ChannelRow>,
}

impl BatchWriter {
    pub(crate) async fn new(mut conn: SqliteConnection) -> Result<Self, sqlx::Error> {
        let last: Option<i64> = sqlx::query_scalar("SELECT max(offset) FROM events").fetch_one(&mut conn).await?;
        Ok(BatchWriter { conn, next_offset: last.unwrap_or(0) + 1, channels: HashMap::new() })
    }

    pub(crate) fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Writes `events` and `states` in one transaction; returns one [`Appended`] per event, in order.
    pub(crate) async fn commit(
        &mut self,
        events: &[&Event],
        states: &[StateChange],
    ) -> Result<Vec<Appended>, sqlx::Error> {
        let mut tx = self.conn.begin_with("BEGIN IMMEDIATE").await?;
        let (channel_ids, new_channels) = resolve_channels(&mut tx, &self.channels, events).await?;
        let viewer_ids = upsert_viewers(&mut tx, events).await?;
        let first = self.next_offset;
        let offsets: Vec<i64> = (first..).take(events.len()).collect();
        let inserted = insert_events(&mut tx, events, &offsets, &channel_ids, &viewer_ids).await?;
        index_chat(&mut tx, events, &offsets, &inserted).await?;

        let mut outcome = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            if inserted.contains(&offsets[i]) {
                if projection::projects(&event.data) {
                    let p = Projected {
                        event,
                        offset: offsets[i],
                        channel_id: channel_ids[i],
                        actor_id: viewer_id(&viewer_ids, event.platform, event.actor.as_ref()),
                        target_id: viewer_id(&viewer_ids, event.platform, event.target.as_ref()),
                    };
                    projection::apply(&mut tx, &p).await?;
                }
                outcome.push(Appended { offset: Offset(offsets[i]), duplicate: false });
            } else {
                let existing: i64 = sqlx::query_scalar("SELECT offset FROM events WHERE platform = ? AND source_id = ?")
                    .bind(event.platform.as_str())
                    .bind(&event.source_id)
                    .fetch_one(&mut *tx)
                    .await?;
                outcome.push(Appended { offset: Offset(existing), duplicate: true });
            }
        }
        for change in states {
            sqlx::query("INSERT INTO connection_log (platform, connection, state, detail, at) VALUES (?, ?, ?, ?, ?)")
                .bind(change.id.platform.as_str())
                .bind(&change.id.name)
                .bind(change.state.name())
                .bind(json(&change.state))
                .bind(to_ns(change.at))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        // Only now are the new ids real: a rolled-back batch must not leave them cached.
        self.next_offset = first + i64::try_from(events.len()).unwrap_or(i64::MAX - first);
        self.channels.extend(new_channels);
        Ok(outcome)
    }
}

fn viewer_id(ids: &HashMap<(Platform, String), i64>, platform: Platform, actor: Option<&Actor>) -> Option<i64> {
    actor.and_then(|a| ids.get(&(platform, a.id.clone())).copied())
}

/// The `channels.id` of every event, upserting channels not seen yet (or whose slug changed).
async fn resolve_channels(
    conn: &mut SqliteConnection,
    known: &HashMap<(Platform, String), ChannelRow>,
    events: &[&Event],
) -> Result<(Vec<i64>, HashMap<(Platform, String), ChannelRow>), sqlx::Error> {
    let mut fresh: HashMap<(Platform, String), ChannelRow> = HashMap::new();
    let mut ids = Vec::with_capacity(events.len());
    for event in events {
        let c = &event.channel;
        let key = (event.platform, c.platform_id.clone());
        let cached = fresh.get(&key).or_else(|| known.get(&key));
        let up_to_date = cached.filter(|row| {
            row.slug == c.slug && (c.chatroom_id.is_none() || row.chatroom_id == c.chatroom_id)
        });
        let id = match up_to_date {
            Some(row) => row.id,
            None => {
                let row = sqlx::query(
                    "INSERT INTO channels (platform, platform_id, slug, chatroom_id) VALUES (?, ?, ?, ?) \
                     ON CONFLICT (platform, platform_id) DO UPDATE SET slug = excluded.slug, \
                     chatroom_id = coalesce(excluded.chatroom_id, chatroom_id) RETURNING id, chatroom_id",
                )
                .bind(event.platform.as_str())
                .bind(&c.platform_id)
                .bind(&c.slug)
                .bind(&c.chatroom_id)
                .fetch_one(&mut *conn)
                .await?;
                let id: i64 = row.try_get(0)?;
                fresh.insert(key, ChannelRow { id, slug: c.slug.clone(), chatroom_id: row.try_get(1)? });
                id
            }
        };
        ids.push(id);
    }
    Ok((ids, fresh))
}

/// Upserts every actor and target of the batch (once each) and returns their `viewers.id`.
async fn upsert_viewers(
    conn: &mut SqliteConnection,
    events: &[&Event],
) -> Result<HashMap<(Platform, String), i64>, sqlx::Error> {
    // The latest sighting of each viewer in the batch wins; first/last seen span the batch.
    let mut seen: HashMap<(Platform, &str), (&Actor, i64, i64)> = HashMap::new();
    for event in events {
        let at = to_ns(event.occurred_at);
        for actor in [&event.actor, &event.target].into_iter().flatten() {
            seen.entry((event.platform, actor.id.as_str()))
                .and_modify(|(latest, first, last)| {
                    *first = (*first).min(at);
                    if at >= *last {
                        *last = at;
                        *latest = actor;
                    }
                })
                .or_insert((actor, at, at));
        }
    }
    let rows: Vec<_> = seen.into_iter().collect();
    let mut ids = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(VIEWER_ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO viewers (platform, platform_user_id, login, display_name, first_seen_at, last_seen_at) \
             VALUES {} ON CONFLICT (platform, platform_user_id) DO UPDATE SET \
             login = CASE WHEN excluded.last_seen_at >= last_seen_at THEN excluded.login ELSE login END, \
             display_name = CASE WHEN excluded.last_seen_at >= last_seen_at THEN excluded.display_name ELSE display_name END, \
             first_seen_at = min(first_seen_at, excluded.first_seen_at), \
             last_seen_at = max(last_seen_at, excluded.last_seen_at) \
             RETURNING id, platform, platform_user_id",
            placeholders(6, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for ((platform, _), (actor, first, last)) in chunk {
            q = q.bind(platform.as_str()).bind(&actor.id).bind(&actor.login).bind(&actor.display_name);
            q = q.bind(*first).bind(*last);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let platform: String = row.try_get(1)?;
            let platform = platform.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            ids.insert((platform, row.try_get(2)?), row.try_get(0)?);
        }
    }
    Ok(ids)
}

/// Inserts the event rows; returns the offsets actually inserted (the others were duplicates).
async fn insert_events(
    conn: &mut SqliteConnection,
    events: &[&Event],
    offsets: &[i64],
    channel_ids: &[i64],
    viewer_ids: &HashMap<(Platform, String), i64>,
) -> Result<HashSet<i64>, sqlx::Error> {
    let mut inserted = HashSet::with_capacity(events.len());
    for (start, chunk) in (0..events.len()).step_by(EVENT_ROWS_PER_STATEMENT).map(|s| {
        let end = (s + EVENT_ROWS_PER_STATEMENT).min(events.len());
        (s, &events[s..end])
    }) {
        let sql = format!(
            "INSERT INTO events (offset, id, platform, channel_id, kind, actor_id, target_id, actor, target, \
             occurred_at, received_at, source_id, data, raw) VALUES {} ON CONFLICT DO NOTHING RETURNING offset",
            placeholders(14, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (i, event) in chunk.iter().enumerate() {
            let at = start + i;
            q = q
                .bind(offsets[at])
                .bind(event.id.as_bytes().as_slice().to_vec())
                .bind(event.platform.as_str())
                .bind(channel_ids[at])
                .bind(event.kind().as_str())
                .bind(viewer_id(viewer_ids, event.platform, event.actor.as_ref()))
                .bind(viewer_id(viewer_ids, event.platform, event.target.as_ref()))
                .bind(event.actor.as_ref().map(json))
                .bind(event.target.as_ref().map(json))
                .bind(to_ns(event.occurred_at))
                .bind(to_ns(event.received_at))
                .bind(event.source_id.as_deref())
                .bind(json(&event.data))
                .bind(event.raw.as_ref().map(|r| r.get()));
        }
        for row in q.fetch_all(&mut *conn).await? {
            inserted.insert(row.try_get::<i64, _>(0)?);
        }
    }
    Ok(inserted)
}

/// Adds the text of newly inserted chat messages to the full-text index.
async fn index_chat(
    conn: &mut SqliteConnection,
    events: &[&Event],
    offsets: &[i64],
    inserted: &HashSet<i64>,
) -> Result<(), sqlx::Error> {
    let texts: Vec<(i64, &str)> = events
        .iter()
        .zip(offsets)
        .filter(|(_, offset)| inserted.contains(offset))
        .filter_map(|(e, offset)| e.chat_text().map(|t| (*offset, t)))
        .collect();
    for chunk in texts.chunks(FTS_ROWS_PER_STATEMENT) {
        let sql = format!("INSERT INTO chat_fts (rowid, text) VALUES {}", placeholders(2, chunk.len()));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (offset, text) in chunk {
            q = q.bind(*offset).bind(*text);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `(?, ?, ?), (?, ?, ?)` for `rows` rows of `width` parameters.
fn placeholders(width: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row; rows].join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_have_the_right_shape() {
        assert_eq!(super::placeholders(2, 3), "(?, ?), (?, ?), (?, ?)");
    }
}
