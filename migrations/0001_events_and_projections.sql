-- OnAir's store. Every time is an INTEGER of nanoseconds since the Unix epoch, UTC. The projections
-- (follower_history, viewer_subscriptions, viewer_roles, bans) are maintained by the triggers at the end of
-- this file: they run inside the INSERT of their event, so a projection row exists exactly when its event
-- does, whoever writes. Every projection row points at the event that caused it.

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
-- `dedup_key` is a 64-bit hash of (platform, source_id), or of OnAir's own id for an event without a
-- source id (so re-importing an export adds nothing), salted on the rare collision (the writer compares
-- the real ids before calling anything a duplicate): a small integer index instead of a wide text one.
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
    raw         TEXT,
    dedup_key   INTEGER
) STRICT;
-- Replays and reconnects never create duplicates.
CREATE UNIQUE INDEX events_by_dedup_key ON events (dedup_key);
-- Each index below serves a query the UI or CLI runs: filter by kind, by channel, a viewer's timeline,
-- time ranges and per-minute counts.
CREATE INDEX events_by_kind ON events (kind, offset);
CREATE INDEX events_by_channel ON events (channel_id, offset);
-- Chat messages (most events) are not in the actor index: the timeline finds them by author in chat_fts,
-- whose inverted index costs far less per insert than a B-tree keyed by a random viewer id.
CREATE INDEX events_by_actor ON events (actor_id, offset) WHERE actor_id IS NOT NULL AND kind != 'chat_message';
CREATE INDEX events_by_target ON events (target_id, offset) WHERE target_id IS NOT NULL;
CREATE INDEX events_by_received_at ON events (received_at);

-- Full-text search over chat text, and chat messages by author; rowid = events.offset. `author` is
-- 'v' || viewers.id. Contentless: the text lives in events.data once. detail=column: words and prefixes
-- (no positions, so no multi-word phrases), which keeps the index small and fast to write.
CREATE VIRTUAL TABLE chat_fts USING fts5 (
    text,
    author,
    content = '',
    contentless_delete = 1,
    detail = column,
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
CREATE INDEX viewer_subscriptions_open_by_viewer ON viewer_subscriptions (channel_id, viewer_id)
    WHERE ended_at IS NULL;
CREATE INDEX viewer_subscriptions_open_by_login ON viewer_subscriptions (channel_id, login COLLATE NOCASE)
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

-- The projections. Each trigger fires once per newly inserted event of its kinds (a duplicate is never
-- inserted, so it never projects). An event without the viewer a projection is about is kept, unprojected.

CREATE TRIGGER project_follow AFTER INSERT ON events
WHEN NEW.kind = 'follow' AND NEW.actor_id IS NOT NULL
BEGIN
    INSERT INTO follower_history (channel_id, viewer_id, action, at, event_offset)
    VALUES (NEW.channel_id, NEW.actor_id, 'follow', NEW.occurred_at, NEW.offset);
END;

-- A subscription renews the viewer's open one (tier and months updated) or opens a new one. An open
-- subscription recorded for the login alone (a gift recipient not seen yet) is claimed by the viewer.
CREATE TRIGGER project_subscription AFTER INSERT ON events
WHEN NEW.kind = 'subscription' AND NEW.actor_id IS NOT NULL
BEGIN
    UPDATE viewer_subscriptions
    SET viewer_id = NEW.actor_id,
        login = NEW.actor ->> '$.login',
        tier = coalesce(NEW.data ->> '$.tier', tier),
        months = coalesce(NEW.data ->> '$.months', months),
        is_gift = NEW.data ->> '$.is_gift'
    WHERE id = (SELECT max(id) FROM (
        SELECT id FROM viewer_subscriptions
        WHERE channel_id = NEW.channel_id AND viewer_id = NEW.actor_id AND ended_at IS NULL
        UNION ALL
        SELECT id FROM viewer_subscriptions
        WHERE channel_id = NEW.channel_id AND login = NEW.actor ->> '$.login' COLLATE NOCASE
          AND viewer_id IS NULL AND ended_at IS NULL));
    INSERT INTO viewer_subscriptions (channel_id, viewer_id, login, tier, months, is_gift, started_at, start_offset)
    SELECT NEW.channel_id, NEW.actor_id, NEW.actor ->> '$.login', NEW.data ->> '$.tier', NEW.data ->> '$.months',
           NEW.data ->> '$.is_gift', NEW.occurred_at, NEW.offset
    WHERE changes() = 0;
END;

-- An end closes the viewer's open subscriptions; an end whose start was never seen is recorded alone.
CREATE TRIGGER project_subscription_end AFTER INSERT ON events
WHEN NEW.kind = 'subscription_end' AND NEW.actor_id IS NOT NULL
BEGIN
    UPDATE viewer_subscriptions
    SET ended_at = NEW.occurred_at, end_offset = NEW.offset, viewer_id = NEW.actor_id
    WHERE id IN (
        SELECT id FROM viewer_subscriptions
        WHERE channel_id = NEW.channel_id AND viewer_id = NEW.actor_id AND ended_at IS NULL
        UNION ALL
        SELECT id FROM viewer_subscriptions
        WHERE channel_id = NEW.channel_id AND login = NEW.actor ->> '$.login' COLLATE NOCASE
          AND viewer_id IS NULL AND ended_at IS NULL);
    INSERT INTO viewer_subscriptions (channel_id, viewer_id, login, tier, is_gift, ended_at, end_offset)
    SELECT NEW.channel_id, NEW.actor_id, NEW.actor ->> '$.login', NEW.data ->> '$.tier', NEW.data ->> '$.is_gift',
           NEW.occurred_at, NEW.offset
    WHERE changes() = 0;
END;

-- A gift names its recipients by login (Twitch names none: each recipient's own `subscription` with
-- is_gift arrives instead). A recipient with an open subscription has it marked as gifted; the others get
-- one, linked to their viewer row when OnAir has seen them.
CREATE TRIGGER project_subscription_gift AFTER INSERT ON events
WHEN NEW.kind = 'subscription_gift'
BEGIN
    UPDATE viewer_subscriptions
    SET is_gift = 1, gifter_id = NEW.actor_id, tier = coalesce(NEW.data ->> '$.tier', tier)
    WHERE channel_id = NEW.channel_id AND ended_at IS NULL
      AND login COLLATE NOCASE IN (SELECT value FROM json_each(NEW.data, '$.recipients'));
    INSERT INTO viewer_subscriptions (channel_id, viewer_id, login, tier, is_gift, gifter_id, started_at, start_offset)
    SELECT NEW.channel_id,
           (SELECT v.id FROM viewers v WHERE v.platform = NEW.platform AND v.login = r.value COLLATE NOCASE
            ORDER BY v.last_seen_at DESC LIMIT 1),
           r.value, NEW.data ->> '$.tier', 1, NEW.actor_id, NEW.occurred_at, NEW.offset
    FROM json_each(NEW.data, '$.recipients') AS r
    WHERE NOT EXISTS (
        SELECT 1 FROM viewer_subscriptions s
        WHERE s.channel_id = NEW.channel_id AND s.login = r.value COLLATE NOCASE AND s.ended_at IS NULL);
END;

-- Granting a role the viewer holds changes nothing; revoking one whose grant was never seen is recorded alone.
CREATE TRIGGER project_role_grant AFTER INSERT ON events
WHEN NEW.kind IN ('moderator_add', 'vip_add') AND NEW.target_id IS NOT NULL
BEGIN
    INSERT INTO viewer_roles (channel_id, viewer_id, role, granted_at, granted_by, grant_offset)
    SELECT NEW.channel_id, NEW.target_id, iif(NEW.kind = 'moderator_add', 'moderator', 'vip'), NEW.occurred_at,
           NEW.actor_id, NEW.offset
    WHERE NOT EXISTS (
        SELECT 1 FROM viewer_roles
        WHERE channel_id = NEW.channel_id AND viewer_id = NEW.target_id
          AND role = iif(NEW.kind = 'moderator_add', 'moderator', 'vip') AND revoked_at IS NULL);
END;

CREATE TRIGGER project_role_revoke AFTER INSERT ON events
WHEN NEW.kind IN ('moderator_remove', 'vip_remove') AND NEW.target_id IS NOT NULL
BEGIN
    UPDATE viewer_roles
    SET revoked_at = NEW.occurred_at, revoked_by = NEW.actor_id, revoke_offset = NEW.offset
    WHERE channel_id = NEW.channel_id AND viewer_id = NEW.target_id
      AND role = iif(NEW.kind = 'moderator_remove', 'moderator', 'vip') AND revoked_at IS NULL;
    INSERT INTO viewer_roles (channel_id, viewer_id, role, revoked_at, revoked_by, revoke_offset)
    SELECT NEW.channel_id, NEW.target_id, iif(NEW.kind = 'moderator_remove', 'moderator', 'vip'), NEW.occurred_at,
           NEW.actor_id, NEW.offset
    WHERE changes() = 0;
END;

-- A ban, timeout or unban closes the viewer's open bans (a timeout that had already expired closes at its
-- expiry); a ban or timeout then opens its own. A timeout ends `duration_secs` after it, else at its
-- `expires_at` (to the millisecond).
CREATE TRIGGER project_moderation AFTER INSERT ON events
WHEN NEW.kind IN ('ban', 'timeout', 'unban') AND NEW.target_id IS NOT NULL
BEGIN
    UPDATE bans
    SET lifted_at = iif(expires_at IS NOT NULL AND expires_at < NEW.occurred_at, expires_at, NEW.occurred_at),
        lifted_by = NEW.actor_id,
        lift_offset = NEW.offset
    WHERE channel_id = NEW.channel_id AND viewer_id = NEW.target_id AND lifted_at IS NULL;
    INSERT INTO bans (channel_id, viewer_id, banned_by, reason, banned_at, expires_at, ban_offset)
    SELECT NEW.channel_id, NEW.target_id, NEW.actor_id, NEW.data ->> '$.reason', NEW.occurred_at,
           iif(NEW.kind = 'ban', NULL,
               coalesce(NEW.occurred_at + (NEW.data ->> '$.duration_secs') * 1000000000,
                        CAST(unixepoch(NEW.data ->> '$.expires_at', 'subsec') * 1000 AS INTEGER) * 1000000)),
           NEW.offset
    WHERE NEW.kind != 'unban';
END;
