//! Read queries over the store, run on the reader pool (WAL: readers never block the writer and see only
//! committed batches): pages of events by offset with filters, full-text search over chat, per-minute
//! counts for charts, a viewer's timeline, and file statistics.

use chrono::{DateTime, Utc};
use onair_core::{ChannelRef, Event, EventKind, Offset, Platform};
use serde::Serialize;
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite};

use crate::codec::{EVENT_COLUMNS, EVENT_FROM, event_from_row, from_ns, to_ns};
use crate::{Store, StoreError};

/// Which events to read. Empty filters match everything.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only events after this offset, oldest first. Without it: the newest `limit` events, oldest first.
    pub after: Option<Offset>,
    /// Only events before this offset; without `after`, the newest `limit` of them (paging back in time).
    pub before: Option<Offset>,
    /// Only these kinds.
    pub kinds: Vec<EventKind>,
    /// Only this platform.
    pub platform: Option<Platform>,
    /// Only this channel, by slug or platform id (case-insensitive slug).
    pub channel: Option<String>,
    /// Only events received at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events received before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only chat messages whose text matches these words (full-text, accents ignored; `word*` = prefix).
    pub search: Option<String>,
    /// At most this many events; `None` = no limit.
    pub limit: Option<u32>,
}

impl EventQuery {
    /// Every event, oldest first.
    pub fn all() -> Self {
        EventQuery {
            after: Some(Offset(0)),
            ..Default::default()
        }
    }
}

/// Events of one kind in one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MinuteCount {
    /// The minute's start.
    pub minute: DateTime<Utc>,
    /// The kind counted.
    pub kind: EventKind,
    /// How many events of it were received in that minute.
    pub count: u64,
}

/// What `onair db stats` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    /// Events stored.
    pub events: u64,
    /// Events per kind, most first.
    pub per_kind: Vec<(EventKind, u64)>,
    /// Events per platform.
    pub per_platform: Vec<(Platform, u64)>,
    /// Distinct channels.
    pub channels: u64,
    /// Distinct viewers.
    pub viewers: u64,
    /// The first and last offsets stored.
    pub offsets: Option<(Offset, Offset)>,
    /// When the first and last events were received.
    pub received: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Rows in the projection tables and the connection log.
    pub rows: TableRows,
    /// Size of the database file, WAL included, in bytes.
    pub bytes: u64,
}

/// Row counts of the tables beside the event log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableRows {
    /// `follower_history` rows.
    pub follower_history: u64,
    /// `viewer_subscriptions` rows.
    pub viewer_subscriptions: u64,
    /// `viewer_roles` rows.
    pub viewer_roles: u64,
    /// `bans` rows.
    pub bans: u64,
    /// `connection_log` rows.
    pub connection_log: u64,
}

/// Turns people's search words into an FTS5 query on the chat text: every run of letters and digits is a
/// word (so punctuation can neither break the syntax nor make a phrase), a `*` right after a word makes
/// it a prefix, and all words are required.
pub fn fts_query(text: &str) -> Result<String, StoreError> {
    let mut terms = Vec::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let word: String = std::iter::from_fn(|| chars.next_if(|c| c.is_alphanumeric())).collect();
        if word.is_empty() {
            chars.next();
        } else {
            let prefix = chars.next_if_eq(&'*').is_some();
            terms.push(format!("\"{word}\"{}", if prefix { "*" } else { "" }));
        }
    }
    if terms.is_empty() {
        return Err(StoreError::BadSearch {
            text: text.to_owned(),
            detail: "it has no words".into(),
        });
    }
    Ok(format!("text : ({})", terms.join(" ")))
}

impl Store {
    /// Reads events matching `query`, oldest first.
    pub async fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let newest_first = query.after.is_none() && query.limit.is_some();
        let mut sql =
            QueryBuilder::<Sqlite>::new(format!("SELECT {EVENT_COLUMNS} FROM {EVENT_FROM} WHERE 1 = 1"));
        if let Some(after) = query.after {
            sql.push(" AND e.offset > ").push_bind(after.0);
        }
        if let Some(before) = query.before {
            sql.push(" AND e.offset < ").push_bind(before.0);
        }
        if !query.kinds.is_empty() {
            sql.push(" AND e.kind IN (");
            let mut list = sql.separated(", ");
            for kind in &query.kinds {
                list.push_bind(kind.as_str());
            }
            sql.push(")");
        }
        if let Some(platform) = query.platform {
            sql.push(" AND e.platform = ").push_bind(platform.as_str());
        }
        if let Some(channel) = &query.channel {
            sql.push(" AND (c.slug = ").push_bind(channel.clone());
            sql.push(" COLLATE NOCASE OR c.platform_id = ")
                .push_bind(channel.clone())
                .push(")");
        }
        if let Some(since) = query.since {
            sql.push(" AND e.received_at >= ").push_bind(to_ns(since));
        }
        if let Some(until) = query.until {
            sql.push(" AND e.received_at < ").push_bind(to_ns(until));
        }
        if let Some(search) = &query.search {
            sql.push(" AND e.offset IN (SELECT rowid FROM chat_fts WHERE chat_fts MATCH ")
                .push_bind(fts_query(search)?)
                .push(")");
        }
        sql.push(if newest_first {
            " ORDER BY e.offset DESC"
        } else {
            " ORDER BY e.offset"
        });
        if let Some(limit) = query.limit {
            sql.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows = sql
            .build()
            .fetch_all(&self.readers)
            .await
            .map_err(|e| self.read_error(e, query))?;
        let mut events = rows.iter().map(event_from_row).collect::<Result<Vec<_>, _>>()?;
        if newest_first {
            events.reverse();
        }
        Ok(events)
    }

    /// A viewer's timeline: events they did or had done to them, newest first.
    pub async fn viewer_timeline(
        &self,
        platform: Platform,
        user_id: &str,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let viewer: Option<i64> =
            sqlx::query_scalar("SELECT id FROM viewers WHERE platform = ? AND platform_user_id = ?")
                .bind(platform.as_str())
                .bind(user_id)
                .fetch_optional(&self.readers)
                .await?;
        let Some(viewer) = viewer else {
            return Ok(Vec::new());
        };
        // Three sources, each newest first and capped: what they did (chat through the full-text author
        // column, the rest through the actor index) and what was done to them.
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM {EVENT_FROM} WHERE e.offset IN ( \
               SELECT offset FROM (SELECT offset FROM events WHERE actor_id = ?1 AND kind != 'chat_message' \
                                   ORDER BY offset DESC LIMIT ?2) \
               UNION ALL SELECT offset FROM (SELECT offset FROM events WHERE target_id = ?1 \
                                   ORDER BY offset DESC LIMIT ?2) \
               UNION ALL SELECT rowid FROM (SELECT rowid FROM chat_fts WHERE chat_fts MATCH ?3 \
                                   ORDER BY rowid DESC LIMIT ?2)) \
             ORDER BY e.offset DESC LIMIT ?2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(viewer)
            .bind(i64::from(limit))
            .bind(format!("author : \"v{viewer}\""))
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Events per kind per minute received in `[since, until)`, for rate charts.
    pub async fn counts_per_minute(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MinuteCount>, StoreError> {
        const MINUTE_NS: i64 = 60_000_000_000;
        let rows = sqlx::query(
            "SELECT received_at / ?1 AS minute, kind, count(*) FROM events \
             WHERE received_at >= ?2 AND received_at < ?3 GROUP BY minute, kind ORDER BY minute, kind",
        )
        .bind(MINUTE_NS)
        .bind(to_ns(since))
        .bind(to_ns(until))
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|row| {
                let minute: i64 = row.try_get(0)?;
                let kind: String = row.try_get(1)?;
                let kind = kind
                    .parse()
                    .map_err(|e: onair_core::UnknownKind| StoreError::Corrupt {
                        offset: 0,
                        detail: e.to_string(),
                    })?;
                let count: i64 = row.try_get(2)?;
                Ok(MinuteCount {
                    minute: from_ns(minute * MINUTE_NS),
                    kind,
                    count: count.unsigned_abs(),
                })
            })
            .collect()
    }

    /// How much is stored, and how big the file is.
    pub async fn stats(&self) -> Result<StoreStats, StoreError> {
        let count = |sql: &'static str| async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&self.readers)
                .await
                .map(i64::unsigned_abs)
        };
        let grouped = |sql: &'static str| async move {
            let rows = sqlx::query(sql).fetch_all(&self.readers).await?;
            rows.iter()
                .map(|r| {
                    Ok::<_, sqlx::Error>((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?.unsigned_abs()))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let per_kind = grouped("SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY n DESC, kind")
            .await?
            .into_iter()
            .filter_map(|(k, n)| k.parse().ok().map(|k| (k, n)))
            .collect();
        let per_platform =
            grouped("SELECT platform, count(*) AS n FROM events GROUP BY platform ORDER BY n DESC")
                .await?
                .into_iter()
                .filter_map(|(p, n)| p.parse().ok().map(|p| (p, n)))
                .collect();
        let bounds =
            sqlx::query("SELECT min(offset), max(offset), min(received_at), max(received_at) FROM events")
                .fetch_one(&self.readers)
                .await?;
        let (first, last): (Option<i64>, Option<i64>) = (bounds.try_get(0)?, bounds.try_get(1)?);
        let (since, until): (Option<i64>, Option<i64>) = (bounds.try_get(2)?, bounds.try_get(3)?);
        let bytes = [self.path.clone(), wal_path(&self.path)]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        Ok(StoreStats {
            events: count("SELECT count(*) FROM events").await?,
            per_kind,
            per_platform,
            channels: count("SELECT count(*) FROM channels").await?,
            viewers: count("SELECT count(*) FROM viewers").await?,
            rows: TableRows {
                follower_history: count("SELECT count(*) FROM follower_history").await?,
                viewer_subscriptions: count("SELECT count(*) FROM viewer_subscriptions").await?,
                viewer_roles: count("SELECT count(*) FROM viewer_roles").await?,
                bans: count("SELECT count(*) FROM bans").await?,
                connection_log: count("SELECT count(*) FROM connection_log").await?,
            },
            offsets: first.zip(last).map(|(a, b)| (Offset(a), Offset(b))),
            received: since.zip(until).map(|(a, b)| (from_ns(a), from_ns(b))),
            bytes,
        })
    }

    /// The channel recorded under `slug` on `platform` (the latest, if the slug moved), with the ids stored
    /// for it: the hub reuses them instead of looking the channel up again.
    pub async fn channel_by_slug(
        &self,
        platform: Platform,
        slug: &str,
    ) -> Result<Option<ChannelRef>, StoreError> {
        let row = sqlx::query(
            "SELECT platform_id, slug, chatroom_id FROM channels WHERE platform = ? AND slug = ? \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(platform.as_str())
        .bind(slug)
        .fetch_optional(&self.readers)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ChannelRef {
            platform_id: row.try_get(0)?,
            slug: row.try_get(1)?,
            chatroom_id: row.try_get(2)?,
        }))
    }

    /// Runs `PRAGMA integrity_check`; returns SQLite's findings (`["ok"]` when sound).
    pub async fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.readers)
            .await?)
    }

    fn read_error(&self, e: sqlx::Error, query: &EventQuery) -> StoreError {
        match (&e, &query.search) {
            (sqlx::Error::Database(db), Some(text)) if db.message().contains("fts5") => {
                StoreError::BadSearch {
                    text: text.clone(),
                    detail: db.message().to_owned(),
                }
            }
            _ if StoreError::is_busy(&e) => StoreError::Locked {
                path: self.path.clone(),
            },
            _ => StoreError::Query(e),
        }
    }
}

pub(crate) fn wal_path(db: &std::path::Path) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_are_quoted_and_prefixes_kept() {
        assert_eq!(fts_query("gg  wp").unwrap(), r#"text : ("gg" "wp")"#);
        assert_eq!(fts_query("clut* \"x").unwrap(), r#"text : ("clut"* "x")"#);
        assert_eq!(
            fts_query(r#"a"b OR -c don't"#).unwrap(),
            r#"text : ("a" "b" "OR" "c" "don" "t")"#
        );
        assert_eq!(
            fts_query("¡increíble! 日本語").unwrap(),
            r#"text : ("increíble" "日本語")"#
        );
        assert!(matches!(fts_query("  * 🔥 "), Err(StoreError::BadSearch { .. })));
    }
}
