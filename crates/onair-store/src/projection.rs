//! The projections: the tables that answer "who follows / subscribes / moderates / is banned now",
//! updated from events inside the same transaction as the event row, so they can never disagree with the
//! event log. Only newly inserted events are projected (a duplicate changes nothing).

use onair_core::{Event, EventData, Moderation, Subscription, SubscriptionEnd, SubscriptionGift};
use sqlx::SqliteConnection;
use tracing::warn;

use crate::codec::to_ns;

/// One inserted event with the ids the batch resolved for it.
pub(crate) struct Projected<'a> {
    pub event: &'a Event,
    pub offset: i64,
    pub channel_id: i64,
    pub actor_id: Option<i64>,
    pub target_id: Option<i64>,
}

impl Projected<'_> {
    fn at(&self) -> i64 {
        to_ns(self.event.occurred_at)
    }

    /// The viewer the projection is about, or a warning that the event cannot be projected.
    fn subject(&self, id: Option<i64>, role: &str) -> Option<i64> {
        if id.is_none() {
            warn!(offset = self.offset, kind = %self.event.kind(), "{role} missing: recorded, not projected");
        }
        id
    }
}

/// Whether events of this data need [`apply`] at all (most chat-heavy batches need none).
pub(crate) fn projects(data: &EventData) -> bool {
    matches!(
        data,
        EventData::Follow(_)
            | EventData::Subscription(_)
            | EventData::SubscriptionEnd(_)
            | EventData::SubscriptionGift(_)
            | EventData::ModeratorAdd(_)
            | EventData::ModeratorRemove(_)
            | EventData::VipAdd(_)
            | EventData::VipRemove(_)
            | EventData::Ban(_)
            | EventData::Timeout(_)
            | EventData::Unban(_)
    )
}

/// Applies the projection of one newly inserted event.
pub(crate) async fn apply(conn: &mut SqliteConnection, p: &Projected<'_>) -> Result<(), sqlx::Error> {
    match &p.event.data {
        EventData::Follow(_) => follow(conn, p).await,
        EventData::Subscription(s) => subscription(conn, p, s).await,
        EventData::SubscriptionEnd(s) => subscription_end(conn, p, s).await,
        EventData::SubscriptionGift(g) => subscription_gift(conn, p, g).await,
        EventData::ModeratorAdd(_) => grant(conn, p, "moderator").await,
        EventData::ModeratorRemove(_) => revoke(conn, p, "moderator").await,
        EventData::VipAdd(_) => grant(conn, p, "vip").await,
        EventData::VipRemove(_) => revoke(conn, p, "vip").await,
        EventData::Ban(m) => ban(conn, p, m, None).await,
        EventData::Timeout(m) => {
            let expires = m.expires_at.map(to_ns).or_else(|| {
                m.duration_secs.map(|s| p.at().saturating_add(i64::try_from(s).unwrap_or(i64::MAX / 2) * 1_000_000_000))
            });
            ban(conn, p, m, expires).await
        }
        EventData::Unban(_) => lift_bans(conn, p).await.map(drop),
        _ => Ok(()),
    }
}

async fn follow(conn: &mut SqliteConnection, p: &Projected<'_>) -> Result<(), sqlx::Error> {
    let Some(viewer) = p.subject(p.actor_id, "follower") else { return Ok(()) };
    sqlx::query(
        "INSERT INTO follower_history (channel_id, viewer_id, action, at, event_offset) VALUES (?, ?, 'follow', ?, ?)",
    )
    .bind(p.channel_id)
    .bind(viewer)
    .bind(p.at())
    .bind(p.offset)
    .execute(conn)
    .await?;
    Ok(())
}

/// The open subscription of `login` / `viewer` in the channel, if any.
async fn open_subscription(
    conn: &mut SqliteConnection,
    channel_id: i64,
    viewer: Option<i64>,
    login: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM viewer_subscriptions WHERE channel_id = ? AND ended_at IS NULL \
         AND (viewer_id = ? OR (viewer_id IS NULL AND login = ? COLLATE NOCASE)) ORDER BY id DESC LIMIT 1",
    )
    .bind(channel_id)
    .bind(viewer)
    .bind(login)
    .fetch_optional(conn)
    .await
}

async fn subscription(conn: &mut SqliteConnection, p: &Projected<'_>, s: &Subscription) -> Result<(), sqlx::Error> {
    let (Some(viewer), Some(actor)) = (p.subject(p.actor_id, "subscriber"), p.event.actor.as_ref()) else {
        return Ok(());
    };
    match open_subscription(conn, p.channel_id, Some(viewer), &actor.login).await? {
        Some(id) => {
            sqlx::query(
                "UPDATE viewer_subscriptions SET viewer_id = ?, login = ?, tier = coalesce(?, tier), \
                 months = coalesce(?, months), is_gift = ? WHERE id = ?",
            )
            .bind(viewer)
            .bind(&actor.login)
            .bind(&s.tier)
            .bind(s.months)
            .bind(s.is_gift)
            .bind(id)
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO viewer_subscriptions (channel_id, viewer_id, login, tier, months, is_gift, started_at, \
                 start_offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(p.channel_id)
            .bind(viewer)
            .bind(&actor.login)
            .bind(&s.tier)
            .bind(s.months)
            .bind(s.is_gift)
            .bind(p.at())
            .bind(p.offset)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

async fn subscription_end(
    conn: &mut SqliteConnection,
    p: &Projected<'_>,
    s: &SubscriptionEnd,
) -> Result<(), sqlx::Error> {
    let (Some(viewer), Some(actor)) = (p.subject(p.actor_id, "subscriber"), p.event.actor.as_ref()) else {
        return Ok(());
    };
    let ended = sqlx::query(
        "UPDATE viewer_subscriptions SET ended_at = ?, end_offset = ?, viewer_id = ? WHERE channel_id = ? \
         AND ended_at IS NULL AND (viewer_id = ? OR (viewer_id IS NULL AND login = ? COLLATE NOCASE))",
    )
    .bind(p.at())
    .bind(p.offset)
    .bind(viewer)
    .bind(p.channel_id)
    .bind(viewer)
    .bind(&actor.login)
    .execute(&mut *conn)
    .await?;
    if ended.rows_affected() == 0 {
        // The start was never seen (before OnAir ran): record the end alone.
        sqlx::query(
            "INSERT INTO viewer_subscriptions (channel_id, viewer_id, login, tier, is_gift, ended_at, end_offset) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(p.channel_id)
        .bind(viewer)
        .bind(&actor.login)
        .bind(&s.tier)
        .bind(s.is_gift)
        .bind(p.at())
        .bind(p.offset)
        .execute(conn)
        .await?;
    }
    Ok(())
}

async fn subscription_gift(
    conn: &mut SqliteConnection,
    p: &Projected<'_>,
    g: &SubscriptionGift,
) -> Result<(), sqlx::Error> {
    // Recipients come as logins; link them to a known viewer where there is one. Platforms that do not
    // name recipients (Twitch) send each recipient's own `subscription` with is_gift instead.
    for login in &g.recipients {
        let viewer: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM viewers WHERE platform = ? AND login = ? COLLATE NOCASE ORDER BY last_seen_at DESC LIMIT 1",
        )
        .bind(p.event.platform.as_str())
        .bind(login)
        .fetch_optional(&mut *conn)
        .await?;
        match open_subscription(conn, p.channel_id, viewer, login).await? {
            Some(id) => {
                sqlx::query(
                    "UPDATE viewer_subscriptions SET is_gift = 1, gifter_id = ?, tier = coalesce(?, tier), \
                     viewer_id = coalesce(?, viewer_id) WHERE id = ?",
                )
                .bind(p.actor_id)
                .bind(&g.tier)
                .bind(viewer)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO viewer_subscriptions (channel_id, viewer_id, login, tier, is_gift, gifter_id, \
                     started_at, start_offset) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
                )
                .bind(p.channel_id)
                .bind(viewer)
                .bind(login)
                .bind(&g.tier)
                .bind(p.actor_id)
                .bind(p.at())
                .bind(p.offset)
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

async fn grant(conn: &mut SqliteConnection, p: &Projected<'_>, role: &str) -> Result<(), sqlx::Error> {
    let Some(viewer) = p.subject(p.target_id, "user") else { return Ok(()) };
    // Granting a role the viewer already holds changes nothing (the open-role index makes it a no-op).
    sqlx::query(
        "INSERT INTO viewer_roles (channel_id, viewer_id, role, granted_at, granted_by, grant_offset) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(p.channel_id)
    .bind(viewer)
    .bind(role)
    .bind(p.at())
    .bind(p.actor_id)
    .bind(p.offset)
    .execute(conn)
    .await?;
    Ok(())
}

async fn revoke(conn: &mut SqliteConnection, p: &Projected<'_>, role: &str) -> Result<(), sqlx::Error> {
    let Some(viewer) = p.subject(p.target_id, "user") else { return Ok(()) };
    let revoked = sqlx::query(
        "UPDATE viewer_roles SET revoked_at = ?, revoked_by = ?, revoke_offset = ? \
         WHERE channel_id = ? AND viewer_id = ? AND role = ? AND revoked_at IS NULL",
    )
    .bind(p.at())
    .bind(p.actor_id)
    .bind(p.offset)
    .bind(p.channel_id)
    .bind(viewer)
    .bind(role)
    .execute(&mut *conn)
    .await?;
    if revoked.rows_affected() == 0 {
        // The grant was never seen: record the revocation alone.
        sqlx::query(
            "INSERT INTO viewer_roles (channel_id, viewer_id, role, revoked_at, revoked_by, revoke_offset) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(p.channel_id)
        .bind(viewer)
        .bind(role)
        .bind(p.at())
        .bind(p.actor_id)
        .bind(p.offset)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Closes the viewer's open bans and timeouts at this event (an expired timeout closes at its expiry).
async fn lift_bans(conn: &mut SqliteConnection, p: &Projected<'_>) -> Result<u64, sqlx::Error> {
    let Some(viewer) = p.subject(p.target_id, "user") else { return Ok(0) };
    let lifted = sqlx::query(
        "UPDATE bans SET lifted_at = CASE WHEN expires_at IS NOT NULL AND expires_at < ?1 THEN expires_at ELSE ?1 END, \
         lifted_by = ?2, lift_offset = ?3 WHERE channel_id = ?4 AND viewer_id = ?5 AND lifted_at IS NULL",
    )
    .bind(p.at())
    .bind(p.actor_id)
    .bind(p.offset)
    .bind(p.channel_id)
    .bind(viewer)
    .execute(conn)
    .await?;
    Ok(lifted.rows_affected())
}

async fn ban(
    conn: &mut SqliteConnection,
    p: &Projected<'_>,
    m: &Moderation,
    expires_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    let Some(viewer) = p.target_id else {
        p.subject(None, "banned user");
        return Ok(());
    };
    lift_bans(conn, p).await?;
    sqlx::query(
        "INSERT INTO bans (channel_id, viewer_id, banned_by, reason, banned_at, expires_at, ban_offset) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(p.channel_id)
    .bind(viewer)
    .bind(p.actor_id)
    .bind(&m.reason)
    .bind(p.at())
    .bind(expires_at)
    .bind(p.offset)
    .execute(conn)
    .await?;
    Ok(())
}
