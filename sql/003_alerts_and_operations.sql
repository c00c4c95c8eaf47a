-- Alert triggers, the alert outbox/history, its per-chat deliveries, and the sync log.

CREATE TABLE nfl_alert_triggers (
    alert_type       text PRIMARY KEY,
    enabled          boolean NOT NULL DEFAULT true,
    cooldown_seconds integer NOT NULL DEFAULT 300 CHECK (cooldown_seconds >= 0),
    last_triggered   timestamptz
);
INSERT INTO nfl_alert_triggers (alert_type) VALUES
    ('score'), ('significant_play'), ('injury'), ('kalshi_price'), ('market_reaction'), ('system');

-- One row per alert decision. 'pending' rows are the outbox: written in the same transaction as
-- the state change that produced them, delivered in id order, then marked 'sent' or 'failed'.
-- 'suppressed' rows record why an alert was not sent (cooldown, daily limit, quiet hours).
CREATE TABLE nfl_alert_history (
    id                  bigserial PRIMARY KEY,
    alert_key           text NOT NULL UNIQUE,
    alert_type          text NOT NULL REFERENCES nfl_alert_triggers (alert_type),
    priority            text NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
    game_id             text REFERENCES nfl_games (game_id) ON DELETE SET NULL,
    family              text,
    message             text NOT NULL,
    channel             text NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
    reason              text,
    attempts            integer NOT NULL DEFAULT 0,
    error               text,
    event_time          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    external_message_id text,
    payload             jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_nfl_alert_history_sent ON nfl_alert_history (sent_at);
CREATE INDEX idx_nfl_alert_history_status ON nfl_alert_history (status, id);
CREATE INDEX idx_nfl_alert_history_game ON nfl_alert_history (game_id);
CREATE INDEX idx_nfl_alert_history_family ON nfl_alert_history (family, created_at);
CREATE INDEX idx_nfl_alert_history_type_created ON nfl_alert_history (alert_type, created_at);

-- With several chat ids an alert is delivered once per chat; each delivery is tracked so a
-- restart resends only to the chats that did not get it.
CREATE TABLE nfl_alert_deliveries (
    alert_id            bigint NOT NULL REFERENCES nfl_alert_history (id) ON DELETE CASCADE,
    chat_id             text NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts            integer NOT NULL DEFAULT 0,
    error               text,
    sent_at             timestamptz,
    external_message_id text,
    PRIMARY KEY (alert_id, chat_id)
);

CREATE TABLE nfl_data_sync_log (
    id          bigserial PRIMARY KEY,
    sync_type   text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    duration_ms integer,
    sync_status text NOT NULL CHECK (sync_status IN ('running', 'success', 'failed', 'partial')),
    records     integer NOT NULL DEFAULT 0,
    error       text
);
CREATE INDEX idx_nfl_data_sync_log_type_time ON nfl_data_sync_log (sync_type, started_at);
