-- The chats that use the bot and what each asked for. The chats of TELEGRAM_CHAT_ID are admins,
-- written at every start; other chats ask through the bot and are let in only while
-- TELEGRAM_ALLOW_NEW_CHATS is true (a refused chat is kept too, allowed false, so an
-- administrator can see who asked). The outbox fans each alert out to the chats it concerns.
CREATE TABLE nfl_chats (
    chat_id     text PRIMARY KEY,
    title       text,
    is_admin    boolean NOT NULL DEFAULT false,
    allowed     boolean NOT NULL DEFAULT false,
    teams       text[] NOT NULL DEFAULT '{}',       -- ESPN abbreviations followed; empty: every team
    alert_types text[],                             -- NULL: every type
    quiet_start time,                               -- local times in TIMEZONE; both or neither
    quiet_end   time,
    muted_until timestamptz,
    muted_games text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

-- The access policy the running daemon started with (one row), so whoever registers a chat
-- reads it from the database: TELEGRAM_ALLOW_NEW_CHATS.
CREATE TABLE nfl_chat_access (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    allow_new_chats boolean NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- true: the outbox wrote the alert's deliveries, one per recipient chat, when it recorded it, and
-- the sender delivers to those chats; false (alerts recorded before subscriptions existed, the
-- direct path's critical alerts, the console): to every configured chat, as before.
ALTER TABLE nfl_alert_history ADD COLUMN fanned_out boolean NOT NULL DEFAULT false;
