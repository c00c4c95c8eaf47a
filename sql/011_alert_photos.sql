-- Issue 18 (part J): the game chart sent as a photo after a final-score alert, one per chat that
-- got the alert. 'pending' rows are queued with the alert's delivery to the chat; the sender
-- marks a row 'sending' (committed) before the upload, so a crash mid-upload never repeats a
-- photo: at most once, and the text alert never waits for it.
CREATE TABLE nfl_alert_photos (
    alert_id            bigint NOT NULL REFERENCES nfl_alert_history (id) ON DELETE CASCADE,
    chat_id             text NOT NULL,
    game_id             text NOT NULL,
    caption             text NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    error               text,
    sent_at             timestamptz,
    external_message_id text,
    PRIMARY KEY (alert_id, chat_id)
);
CREATE INDEX idx_nfl_alert_photos_pending ON nfl_alert_photos (alert_id) WHERE status = 'pending';
