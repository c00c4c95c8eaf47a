-- Minimal per-chat settings for the bot's commands (issue 18 part I's stand-in for part H's
-- 010_h_chat_subscriptions.sql, same interface; the merger keeps part H's table and drops this).
CREATE TABLE nfl_chats (
    chat_id       text PRIMARY KEY,
    title         text,
    is_admin      boolean NOT NULL DEFAULT false,
    teams         text[] NOT NULL DEFAULT '{}',   -- empty: every team
    alert_types   text[],                          -- NULL: every type
    quiet_start   time,
    quiet_end     time,
    muted_until   timestamptz,
    muted_games   text[] NOT NULL DEFAULT '{}',
    registered_at timestamptz NOT NULL
);
