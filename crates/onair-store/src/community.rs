//! A channel's community as the projections record it ([`onair_core::Community`]): the reference the
//! polling fallback reconciles the platform's lists with. Read through a [`CommunityReader`], a cheap
//! handle on the reader pool that a platform connection can keep.

use onair_core::{Actor, Community, Platform};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use crate::codec::from_ns;
use crate::{Store, StoreError};

/// Reads channels' communities; cheap to clone.
#[derive(Debug, Clone)]
pub struct CommunityReader {
    readers: SqlitePool,
}

impl Store {
    /// A handle that reads communities for as long as the store is open.
    pub fn community_reader(&self) -> CommunityReader {
        CommunityReader {
            readers: self.readers.clone(),
        }
    }

    /// The community of the channel `channel_id` (the platform's id) on `platform`.
    pub async fn community(&self, platform: Platform, channel_id: &str) -> Result<Community, StoreError> {
        self.community_reader().community(platform, channel_id).await
    }
}

impl CommunityReader {
    /// The community of the channel `channel_id` (the platform's id) on `platform`; empty for a channel
    /// the store has never seen.
    pub async fn community(&self, platform: Platform, channel_id: &str) -> Result<Community, StoreError> {
        let mut community = Community::default();
        // Every query below names the channel as ?1 (platform) and ?2 (platform id).
        let rows = |sql: &'static str| {
            sqlx::query(sql)
                .bind(platform.as_str())
                .bind(channel_id)
                .fetch_all(&self.readers)
        };
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT max(e.received_at) FROM events e JOIN channels c ON c.id = e.channel_id \
             WHERE c.platform = ?1 AND c.platform_id = ?2",
        )
        .bind(platform.as_str())
        .bind(channel_id)
        .fetch_one(&self.readers)
        .await?;
        community.last_received_at = last.map(from_ns);
        // A follow counts unless an unfollow of the same viewer came after it.
        let followers = rows(
            "SELECT DISTINCT v.platform_user_id FROM follower_history f \
             JOIN channels c ON c.id = f.channel_id JOIN viewers v ON v.id = f.viewer_id \
             WHERE c.platform = ?1 AND c.platform_id = ?2 AND f.action = 'follow' \
               AND NOT EXISTS (SELECT 1 FROM follower_history u WHERE u.channel_id = f.channel_id \
                               AND u.viewer_id = f.viewer_id AND u.action = 'unfollow' AND u.at > f.at)",
        )
        .await?;
        for row in followers {
            community.followers.insert(row.try_get(0)?);
        }
        let roles = rows(
            "SELECT v.platform_user_id, v.login, v.display_name, r.role FROM viewer_roles r \
             JOIN channels c ON c.id = r.channel_id JOIN viewers v ON v.id = r.viewer_id \
             WHERE c.platform = ?1 AND c.platform_id = ?2 AND r.revoked_at IS NULL",
        )
        .await?;
        for row in roles {
            let viewer = viewer(&row)?;
            match row.try_get::<String, _>(3)?.as_str() {
                "moderator" => community.moderators.insert(viewer.id.clone(), viewer),
                _ => community.vips.insert(viewer.id.clone(), viewer),
            };
        }
        let subscribers = rows(
            "SELECT v.platform_user_id, v.login, v.display_name, s.tier FROM viewer_subscriptions s \
             JOIN channels c ON c.id = s.channel_id JOIN viewers v ON v.id = s.viewer_id \
             WHERE c.platform = ?1 AND c.platform_id = ?2 AND s.ended_at IS NULL",
        )
        .await?;
        for row in subscribers {
            let viewer = viewer(&row)?;
            community
                .subscribers
                .insert(viewer.id.clone(), (viewer, row.try_get(3)?));
        }
        Ok(community)
    }
}

/// The viewer in a row's first three columns (id, login, display name).
fn viewer(row: &SqliteRow) -> Result<Actor, StoreError> {
    Ok(Actor {
        id: row.try_get(0)?,
        login: row.try_get(1)?,
        display_name: row.try_get(2)?,
    })
}
