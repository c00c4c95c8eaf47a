-- Where a configured chat's alerts go now. Telegram gives a group that became a supergroup a new
-- id and refuses messages to the old one (its answer carries migrate_to_chat_id); the sender
-- follows the new id and records it here, so that after a restart alerts still reach the
-- supergroup while TELEGRAM_CHAT_ID names the old group. Deliveries stay keyed by the configured id.
CREATE TABLE nfl_alert_chat_routes (
    chat_id        text PRIMARY KEY,
    target_chat_id text NOT NULL,
    updated_at     timestamptz NOT NULL
);
