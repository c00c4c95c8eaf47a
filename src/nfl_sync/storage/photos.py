"""The photos that follow alerts (nfl_alert_photos): a final-score alert's game chart, one per
chat that got the alert, sent at most once (`tx.photos`)."""

from __future__ import annotations

from datetime import datetime

from psycopg2.extras import RealDictCursor, RealDictRow


class PhotoRepository:
    """Queued, claimed and settled photos, inside one transaction."""

    def __init__(self, cur: RealDictCursor):
        self.cur = cur

    def queue(self, alert_id: int, chat_id: str, game_id: str, caption: str) -> None:
        """Queue the photo of an alert delivered to `chat_id` (once: a repeat changes nothing)."""
        self.cur.execute(
            "INSERT INTO nfl_alert_photos (alert_id, chat_id, game_id, caption, status) "
            "VALUES (%s, %s, %s, %s, 'pending') ON CONFLICT (alert_id, chat_id) DO NOTHING",
            (alert_id, chat_id, game_id, caption),
        )

    def next_pending(self) -> RealDictRow | None:
        self.cur.execute("SELECT * FROM nfl_alert_photos WHERE status = 'pending' ORDER BY alert_id, chat_id LIMIT 1")
        return self.cur.fetchone()

    def claim(self, alert_id: int, chat_id: str) -> bool:
        """Mark the photo 'sending' before its upload; False when another sender took it."""
        self.cur.execute(
            "UPDATE nfl_alert_photos SET status = 'sending' "
            "WHERE alert_id = %s AND chat_id = %s AND status = 'pending'",
            (alert_id, chat_id),
        )
        return self.cur.rowcount == 1

    def release(self, alert_id: int, chat_id: str, error: str) -> None:
        """Back to 'pending': the upload never reached Telegram (flood control, no connection)."""
        self.cur.execute(
            "UPDATE nfl_alert_photos SET status = 'pending', error = %s WHERE alert_id = %s AND chat_id = %s",
            (error, alert_id, chat_id),
        )

    def settle(
        self, alert_id: int, chat_id: str, at: datetime, message_id: str | None = None, error: str | None = None
    ) -> None:
        """'sent' with Telegram's message id, or 'failed' with why (never tried again)."""
        self.cur.execute(
            "UPDATE nfl_alert_photos SET status = %s, sent_at = %s, external_message_id = %s, error = %s "
            "WHERE alert_id = %s AND chat_id = %s",
            ("failed" if error else "sent", at, message_id, error, alert_id, chat_id),
        )
