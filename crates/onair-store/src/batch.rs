//! Commits one batch of events in one transaction: channels and viewers upserted, event rows inserted
//! with multi-row statements (the schema's triggers project them as they go in; duplicates are skipped by
//! the dedup key), chat text indexed, connection states logged. All or nothing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use onair_core::{Actor, ChannelRef, ConnectionId, ConnectionState, Event, Offset, Platform};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row, SqliteConnection};
use xxhash_rust::xxh3::Xxh3;

use crate::codec::{json, to_ns};

/// Rows per multi-row `INSERT INTO events`: 15 parameters each, well under SQLite's variable limit.
const EVENT_ROWS_PER_STATEMENT: usize = 64;
/// Rows per multi-row viewer upsert (6 parameters each).
const VIEWER_ROWS_PER_STATEMENT: usize = 128;
/// Rows per multi-row full-text insert (3 parameters each): one statement per batch, since FTS5 flushes
/// its pending terms at every statement.
const FTS_ROWS_PER_STATEMENT: usize = 4096;

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

/// A viewer as last written, so a chatter seen again soon needs no write.
#[derive(Clone)]
struct ViewerRow {
    id: i64,
    login: String,
    display_name: String,
    first_seen_at: i64,
    last_seen_at: i64,
}

/// `viewers.last_seen_at` is kept to this precision (ns): a viewer seen again within it is not rewritten.
const LAST_SEEN_PRECISION_NS: i64 = 60_000_000_000;
/// The most viewers remembered between batches (about 100 bytes each); the memory is cleared past it.
const VIEWER_CACHE_LIMIT: usize = 50_000;

type ViewerKey = (Platform, String);

/// The writer's connection and what it remembers between batches (only what has committed, and only what
/// another process cannot change: a channel's or viewer's row id, and the names last written).
pub(crate) struct BatchWriter {
    /// `None` after a failed attempt, until the next one opens a fresh connection.
    conn: Option<SqliteConnection>,
    /// How to open that fresh connection.
    options: SqliteConnectOptions,
    channels: HashMap<(Platform, String), ChannelRow>,
    viewers: HashMap<ViewerKey, ViewerRow>,
}

impl BatchWriter {
    /// A writer on `conn`, which `options` reopens after a failure.
    pub(crate) fn new(conn: SqliteConnection, options: SqliteConnectOptions) -> Self {
        BatchWriter {
            conn: Some(conn),
            options,
            channels: HashMap::new(),
            viewers: HashMap::new(),
        }
    }

    /// The database file.
    pub(crate) fn path(&self) -> &std::path::Path {
        self.options.get_filename()
    }

    /// The writing connection, opened afresh if the last attempt failed.
    pub(crate) async fn connection(&mut self) -> Result<&mut SqliteConnection, sqlx::Error> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.options.connect().await?,
        };
        Ok(self.conn.insert(conn))
    }

    /// Writes `channels`, `events` and `states` in one transaction (see [`BatchWriter::try_commit`]). A
    /// failed attempt drops the connection: after a failed COMMIT (a full disk, an I/O error) SQLite may
    /// or may not have rolled the transaction back, and sqlx's own count of open transactions can no
    /// longer be trusted, so the next attempt starts on a fresh connection (closing the old one rolls
    /// back whatever was left open). It also sees the file anew (made writable again, say).
    pub(crate) async fn commit(
        &mut self,
        channels: &[(Platform, ChannelRef)],
        events: &[&Event],
        states: &[StateChange],
    ) -> Result<Vec<Appended>, sqlx::Error> {
        let outcome = self.try_commit(channels, events, states).await;
        if outcome.is_err() {
            self.conn = None;
        }
        outcome
    }

    /// Writes `channels`, `events` and `states` in one transaction; returns one [`Appended`] per event, in
    /// order.
    ///
    /// Offsets are numbered inside the transaction, after the last one stored, while it holds SQLite's
    /// write lock: other processes writing the same file take turns on that lock, so offsets stay unique
    /// and increase in commit order whoever writes.
    async fn try_commit(
        &mut self,
        channels: &[(Platform, ChannelRef)],
        events: &[&Event],
        states: &[StateChange],
    ) -> Result<Vec<Appended>, sqlx::Error> {
        let known_channels = &self.channels;
        let known_viewers = &self.viewers;
        let conn = match self.conn.as_mut() {
            Some(conn) => conn,
            None => self.conn.insert(self.options.connect().await?),
        };
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let refs = channels
            .iter()
            .map(|(platform, channel)| (*platform, channel))
            .chain(events.iter().map(|event| (event.platform, &event.channel)));
        let (mut channel_ids, new_channels) = resolve_channels(&mut tx, known_channels, refs).await?;
        // The remembered channels come first; the events' ids follow.
        let channel_ids = channel_ids.split_off(channels.len());
        let (viewer_ids, written_viewers) = upsert_viewers(&mut tx, known_viewers, events).await?;
        let last: Option<i64> = sqlx::query_scalar("SELECT max(offset) FROM events")
            .fetch_one(&mut *tx)
            .await?;
        let first = last.unwrap_or(0) + 1;
        let rows: Vec<EventRow<'_>> = events
            .iter()
            .zip(first..)
            .zip(channel_ids)
            .map(|((event, offset), channel_id)| EventRow {
                event,
                offset,
                channel_id,
                actor_id: viewer_id(&viewer_ids, event.platform, event.actor.as_ref()),
                target_id: viewer_id(&viewer_ids, event.platform, event.target.as_ref()),
                dedup_key: event_dedup_key(event, 0),
            })
            .collect();
        let mut inserted = insert_events(&mut tx, &rows).await?;
        let mut outcome = Vec::with_capacity(rows.len());
        for row in &rows {
            if inserted.contains(&row.offset) {
                outcome.push(Appended {
                    offset: Offset(row.offset),
                    duplicate: false,
                });
            } else {
                let (appended, retried) = resolve_conflict(&mut tx, row).await?;
                if retried {
                    inserted.insert(row.offset);
                }
                outcome.push(appended);
            }
        }
        index_chat(&mut tx, &rows, &inserted).await?;
        for change in states {
            sqlx::query(
                "INSERT INTO connection_log (platform, connection, state, detail, at) VALUES (?, ?, ?, ?, ?)",
            )
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
        self.channels.extend(new_channels);
        if self.viewers.len() + written_viewers.len() > VIEWER_CACHE_LIMIT {
            self.viewers.clear();
        }
        self.viewers.extend(written_viewers);
        Ok(outcome)
    }
}

fn viewer_id(ids: &HashMap<ViewerKey, i64>, platform: Platform, actor: Option<&Actor>) -> Option<i64> {
    actor.and_then(|a| ids.get(&(platform, a.id.clone())).copied())
}

/// The `channels.id` of every channel reference, upserting channels not seen yet (or whose slug or chatroom
/// id changed).
async fn resolve_channels<'a>(
    conn: &mut SqliteConnection,
    known: &HashMap<(Platform, String), ChannelRow>,
    channels: impl Iterator<Item = (Platform, &'a ChannelRef)>,
) -> Result<(Vec<i64>, HashMap<(Platform, String), ChannelRow>), sqlx::Error> {
    let mut fresh: HashMap<(Platform, String), ChannelRow> = HashMap::new();
    let mut ids = Vec::new();
    for (platform, c) in channels {
        let key = (platform, c.platform_id.clone());
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
                .bind(platform.as_str())
                .bind(&c.platform_id)
                .bind(&c.slug)
                .bind(&c.chatroom_id)
                .fetch_one(&mut *conn)
                .await?;
                let id: i64 = row.try_get(0)?;
                fresh.insert(
                    key,
                    ChannelRow {
                        id,
                        slug: c.slug.clone(),
                        chatroom_id: row.try_get(1)?,
                    },
                );
                id
            }
        };
        ids.push(id);
    }
    Ok((ids, fresh))
}

/// Upserts the batch's actors and targets that are new or changed (once each) and returns the
/// `viewers.id` of all of them, with the rows written (to remember after the commit).
async fn upsert_viewers(
    conn: &mut SqliteConnection,
    known: &HashMap<ViewerKey, ViewerRow>,
    events: &[&Event],
) -> Result<(HashMap<ViewerKey, i64>, Vec<(ViewerKey, ViewerRow)>), sqlx::Error> {
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
    let mut ids = HashMap::with_capacity(seen.len());
    let mut stale = Vec::new();
    let mut seen_again = Vec::new();
    for ((platform, id), (actor, first, last)) in seen {
        let key = (platform, id.to_owned());
        match known.get(&key) {
            Some(row) if row.login == actor.login && row.display_name == actor.display_name => {
                ids.insert(key.clone(), row.id);
                if first < row.first_seen_at || last >= row.last_seen_at + LAST_SEEN_PRECISION_NS {
                    let first_seen_at = first.min(row.first_seen_at);
                    let last_seen_at = last.max(row.last_seen_at);
                    seen_again.push((
                        key,
                        ViewerRow {
                            first_seen_at,
                            last_seen_at,
                            ..row.clone()
                        },
                    ));
                }
            }
            _ => stale.push((key, actor, first, last)),
        }
    }
    // Known viewers, same names: only their sighting times move, updated by row id (no index touched).
    for chunk in seen_again.chunks(VIEWER_ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE viewers SET first_seen_at = min(first_seen_at, v.column2), \
             last_seen_at = max(last_seen_at, v.column3) FROM (VALUES {}) AS v WHERE viewers.id = v.column1",
            placeholders(3, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (_, row) in chunk {
            q = q.bind(row.id).bind(row.first_seen_at).bind(row.last_seen_at);
        }
        q.execute(&mut *conn).await?;
    }
    let mut written = seen_again;
    for chunk in stale.chunks(VIEWER_ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO viewers (platform, platform_user_id, login, display_name, first_seen_at, last_seen_at) \
             VALUES {} ON CONFLICT (platform, platform_user_id) DO UPDATE SET \
             login = CASE WHEN excluded.last_seen_at >= last_seen_at THEN excluded.login ELSE login END, \
             display_name = CASE WHEN excluded.last_seen_at >= last_seen_at THEN excluded.display_name ELSE display_name END, \
             first_seen_at = min(first_seen_at, excluded.first_seen_at), \
             last_seen_at = max(last_seen_at, excluded.last_seen_at) \
             RETURNING id, platform, platform_user_id, login, display_name, first_seen_at, last_seen_at",
            placeholders(6, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for ((platform, _), actor, first, last) in chunk {
            q = q
                .bind(platform.as_str())
                .bind(&actor.id)
                .bind(&actor.login)
                .bind(&actor.display_name);
            q = q.bind(*first).bind(*last);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let platform: String = row.try_get(1)?;
            let platform = platform.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            let key: ViewerKey = (platform, row.try_get(2)?);
            let viewer = ViewerRow {
                id: row.try_get(0)?,
                login: row.try_get(3)?,
                display_name: row.try_get(4)?,
                first_seen_at: row.try_get(5)?,
                last_seen_at: row.try_get(6)?,
            };
            ids.insert(key.clone(), viewer.id);
            written.push((key, viewer));
        }
    }
    Ok((ids, written))
}

/// An event with everything its row needs.
struct EventRow<'a> {
    event: &'a Event,
    offset: i64,
    channel_id: i64,
    actor_id: Option<i64>,
    target_id: Option<i64>,
    dedup_key: i64,
}

/// The 64-bit dedup key the store keeps for a platform's message id (`events.dedup_key`). `salt` moves
/// past the (rare) collision of two different ids on one key. The hash (XXH3) is fixed: keys are stored.
pub fn dedup_key(platform: Platform, source_id: &str, salt: u64) -> i64 {
    let mut hasher = Xxh3::with_seed(salt);
    hasher.update(platform.as_str().as_bytes());
    hasher.update(&[0]);
    hasher.update(source_id.as_bytes());
    i64::from_ne_bytes(hasher.digest().to_ne_bytes())
}

/// The key an event is deduplicated by: the platform's message id, or, for an event without one, OnAir's
/// own id (so importing the same export twice adds nothing).
fn event_dedup_key(event: &Event, salt: u64) -> i64 {
    match event.source_id.as_deref() {
        Some(source_id) => dedup_key(event.platform, source_id, salt),
        None => {
            let mut hasher = Xxh3::with_seed(salt);
            hasher.update(b"onair-id\0");
            hasher.update(event.id.as_bytes());
            i64::from_ne_bytes(hasher.digest().to_ne_bytes())
        }
    }
}

/// Inserts the event rows; returns the offsets actually inserted (the others hit an existing dedup key).
/// Only the dedup key may conflict: any other constraint is an error, never a silent skip.
async fn insert_events(
    conn: &mut SqliteConnection,
    rows: &[EventRow<'_>],
) -> Result<HashSet<i64>, sqlx::Error> {
    let mut inserted = HashSet::with_capacity(rows.len());
    for chunk in rows.chunks(EVENT_ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO events (offset, id, platform, channel_id, kind, actor_id, target_id, actor, target, \
             occurred_at, received_at, source_id, data, raw, dedup_key) VALUES {} ON CONFLICT (dedup_key) DO NOTHING",
            placeholders(15, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            let event = row.event;
            q = q
                .bind(row.offset)
                .bind(event.id.as_bytes().as_slice().to_vec())
                .bind(event.platform.as_str())
                .bind(row.channel_id)
                .bind(event.kind().as_str())
                .bind(row.actor_id)
                .bind(row.target_id)
                .bind(event.actor.as_ref().map(json))
                .bind(event.target.as_ref().map(json))
                .bind(to_ns(event.occurred_at))
                .bind(to_ns(event.received_at))
                .bind(event.source_id.as_deref())
                .bind(json(&event.data))
                .bind(event.raw.as_ref().map(|r| r.get()))
                .bind(row.dedup_key);
        }
        let written = q.execute(&mut *conn).await?.rows_affected();
        let (first, last) = (chunk[0].offset, chunk[chunk.len() - 1].offset);
        if written == chunk.len() as u64 {
            inserted.extend(first..=last);
        } else {
            // Some hit an existing key (rare): ask which offsets made it.
            let made: Vec<i64> = sqlx::query_scalar("SELECT offset FROM events WHERE offset BETWEEN ? AND ?")
                .bind(first)
                .bind(last)
                .fetch_all(&mut *conn)
                .await?;
            inserted.extend(made);
        }
    }
    Ok(inserted)
}

/// An event whose dedup key was taken: a duplicate when the holder is the same event (same platform and
/// source id, or the same OnAir id where there is no source id), answered with the holder's offset;
/// otherwise a hash collision, and the event is inserted under the next free salted key. Returns whether
/// it was inserted.
async fn resolve_conflict(
    conn: &mut SqliteConnection,
    row: &EventRow<'_>,
) -> Result<(Appended, bool), sqlx::Error> {
    let event = row.event;
    for salt in 0.. {
        let key = event_dedup_key(event, salt);
        let holder = sqlx::query("SELECT offset, platform, source_id, id FROM events WHERE dedup_key = ?")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(holder) = holder else {
            let moved = EventRow {
                dedup_key: key,
                ..*row
            };
            insert_events(conn, std::slice::from_ref(&moved)).await?;
            return Ok((
                Appended {
                    offset: Offset(row.offset),
                    duplicate: false,
                },
                true,
            ));
        };
        let same = match event.source_id.as_deref() {
            Some(source_id) => {
                holder.try_get::<&str, _>(1)? == event.platform.as_str()
                    && holder.try_get::<Option<&str>, _>(2)? == Some(source_id)
            }
            None => holder.try_get::<&[u8], _>(3)? == event.id.as_bytes().as_slice(),
        };
        if same {
            return Ok((
                Appended {
                    offset: Offset(holder.try_get(0)?),
                    duplicate: true,
                },
                false,
            ));
        }
    }
    unreachable!("a free key is found within 2^64 salts")
}

/// Adds the text of newly inserted chat messages to the full-text index (an index, not a projection:
/// kept here, with the rows at hand, rather than re-parsing JSON in a trigger).
async fn index_chat(
    conn: &mut SqliteConnection,
    rows: &[EventRow<'_>],
    inserted: &HashSet<i64>,
) -> Result<(), sqlx::Error> {
    let texts: Vec<(i64, &str, String)> = rows
        .iter()
        .filter(|row| inserted.contains(&row.offset))
        .filter_map(|row| {
            let author = row.actor_id.map(|id| format!("v{id}")).unwrap_or_default();
            row.event.chat_text().map(|text| (row.offset, text, author))
        })
        .collect();
    for chunk in texts.chunks(FTS_ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO chat_fts (rowid, text, author) VALUES {}",
            placeholders(3, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (offset, text, author) in chunk {
            q = q.bind(*offset).bind(*text).bind(author.as_str());
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
