-- OnAir's store. Every time is an INTEGER of nanoseconds since the Unix epoch, UTC. Every projection row
-- points at the event that caused it, and is written in the same transaction as that event.

CREATE TABLE channels (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    slug        TEXT NOT NULL,
    chatroom_id TEXT,
    UNIQUE (platform, platform_id)
) STRICT;

CREATE TABLE viewers (
    id               INTEGER PRIMARY KEY,
    platform         TEXT NOT NULL,
    platform_user_id TEXT NOT NULL,
    login            TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    first_seen_at    INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    UNIQUE (platform, platform_user_id)
) STRICT;
CREATE INDEX viewers_by_login ON viewers (platform, login COLLATE NOCASE);

-- The event log. `offset` is the public, strictly increasing position. `actor` / `target` keep the names
-- as they were at the event (JSON); `actor_id` / `target_id` link to the viewer for timelines.
CREATE TABLE events (
    offset      INTEGER PRIMARY KEY,
    id          BLOB NOT NULL,
    platform    TEXT NOT NULL,
    channel_id  INTEGER NOT NULL REFERENCES channels (id),
    kind        TEXT NOT NULL,
    actor_id    INTEGER REFERENCES viewers (id),
    target_id   INTEGER REFERENCES viewers (id),
    actor       TEXT,
    target      TEXT,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    source_id   TEXT,
    data        TEXT NOT NULL,
    raw         TEXT
) STRICT;
-- Replays and reconnects never create duplicates.
CREATE UNIQUE INDEX events_by_source ON events (platform, source_id) WHERE source_id IS NOT NULL;
-- Each index below serves a query the UI or CLI runs: filter by kind, by channel, a viewer's timeline,
-- time ranges and per-minute counts.
CREATE INDEX events_by_kind ON events (kind, offset);
CREATE INDEX events_by_channel ON events (channel_id, offset);
CREATE INDEX events_by_actor ON events (actor_id, offset) WHERE actor_id IS NOT NULL;
CREATE INDEX events_by_target ON events (target_id, offset) WHERE target_id IS NOT NULL;
CREATE INDEX events_by_received_at ON events (received_at);

-- Full-text search over chat text; rowid = events.offset. Contentless: the text lives in events.data once.
CREATE VIRTUAL TABLE chat_fts USING fts5 (
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE follower_history (
    id           INTEGER PRIMARY KEY,
    channel_id   INTEGER NOT NULL REFERENCES channels (id),
    viewer_id    INTEGER NOT NULL REFERENCES viewers (id),
    action       TEXT NOT NULL CHECK (action IN ('follow', 'unfollow')),
    at           INTEGER NOT NULL,
    event_offset INTEGER REFERENCES events (offset)
) STRICT;
CREATE INDEX follower_history_by_viewer ON follower_history (channel_id, viewer_id, at);

CREATE TABLE viewer_roles (
    id            INTEGER PRIMARY KEY,
    channel_id    INTEGER NOT NULL REFERENCES channels (id),
    viewer_id     INTEGER NOT NULL REFERENCES viewers (id),
    role          TEXT NOT NULL CHECK (role IN ('moderator', 'vip')),
    granted_at    INTEGER,
    granted_by    INTEGER REFERENCES viewers (id),
    grant_offset  INTEGER REFERENCES events (offset),
    revoked_at    INTEGER,
    revoked_by    INTEGER REFERENCES viewers (id),
    revoke_offset INTEGER REFERENCES events (offset)
) STRICT;
CREATE UNIQUE INDEX viewer_roles_open ON viewer_roles (channel_id, viewer_id, role) WHERE revoked_at IS NULL;

-- `login` is always set; `viewer_id` is null for a gift recipient known only by login.
CREATE TABLE viewer_subscriptions (
    id           INTEGER PRIMARY KEY,
    channel_id   INTEGER NOT NULL REFERENCES channels (id),
    viewer_id    INTEGER REFERENCES viewers (id),
    login        TEXT NOT NULL,
    tier         TEXT,
    months       INTEGER,
    is_gift      INTEGER NOT NULL CHECK (is_gift IN (0, 1)),
    gifter_id    INTEGER REFERENCES viewers (id),
    started_at   INTEGER,
    ended_at     INTEGER,
    start_offset INTEGER REFERENCES events (offset),
    end_offset   INTEGER REFERENCES events (offset)
) STRICT;
CREATE INDEX viewer_subscriptions_open ON viewer_subscriptions (channel_id, login COLLATE NOCASE)
    WHERE ended_at IS NULL;

-- `expires_at` null = permanent. A new ban or timeout closes the one before it (lifted_at = its time).
CREATE TABLE bans (
    id          INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL REFERENCES channels (id),
    viewer_id   INTEGER NOT NULL REFERENCES viewers (id),
    banned_by   INTEGER REFERENCES viewers (id),
    reason      TEXT,
    banned_at   INTEGER NOT NULL,
    expires_at  INTEGER,
    lifted_at   INTEGER,
    lifted_by   INTEGER REFERENCES viewers (id),
    ban_offset  INTEGER REFERENCES events (offset),
    lift_offset INTEGER REFERENCES events (offset)
) STRICT;
CREATE INDEX bans_open ON bans (channel_id, viewer_id) WHERE lifted_at IS NULL;

-- Every state change of every connection. `detail` is the state's JSON (attempt, next_in_ms, reason).
CREATE TABLE connection_log (
    id         INTEGER PRIMARY KEY,
    platform   TEXT NOT NULL,
    connection TEXT NOT NULL,
    state      TEXT NOT NULL,
    detail     TEXT NOT NULL,
    at         INTEGER NOT NULL
) STRICT;
CREATE INDEX connection_log_by_connection ON connection_log (platform, connection, at);

CREATE VIEW current_followers AS
SELECT channel_id, viewer_id, at AS followed_at
FROM (
    SELECT channel_id, viewer_id, action, at,
           row_number() OVER (PARTITION BY channel_id, viewer_id ORDER BY at DESC, id DESC) AS latest
    FROM follower_history
)
WHERE latest = 1 AND action = 'follow';

CREATE VIEW active_subscriptions AS
SELECT id, channel_id, viewer_id, login, tier, months, is_gift, gifter_id, started_at
FROM viewer_subscriptions
WHERE ended_at IS NULL;

CREATE VIEW current_roles AS
SELECT channel_id, viewer_id, role, granted_at, granted_by
FROM viewer_roles
WHERE revoked_at IS NULL AND granted_at IS NOT NULL;

CREATE VIEW current_bans AS
SELECT id, channel_id, viewer_id, banned_by, reason, banned_at, expires_at
FROM bans
WHERE lifted_at IS NULL
  AND (expires_at IS NULL OR expires_at > CAST(unixepoch('subsec') * 1000000000 AS INTEGER));
