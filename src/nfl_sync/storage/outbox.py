"""The alert outbox: alert decisions, their per-chat deliveries, and the alert types' switches.

An alert is inserted as 'pending' in the transaction that stores its cause; the sender counts each
delivery attempt before its request and marks it after, so a crash can repeat an alert (labelled)
but never lose it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import psycopg2.extras
from psycopg2.extras import RealDictCursor, RealDictRow

from nfl_sync.storage.sql import one

# `%(games)s`: the games whose alerts a sender serves (NULL: every alert). A replay run in several
# processes on one database gives each sender its own games; an alert of no game is anyone's.
_PENDING = "status = 'pending' AND (%(games)s::text[] IS NULL OR game_id IS NULL OR game_id = ANY(%(games)s))"
NEXT_PENDING = (
    f"SELECT * FROM nfl_alert_history WHERE {_PENDING} "
    "ORDER BY (alert_type = 'score') DESC, (priority = 'high') DESC, id LIMIT 1"
)


@dataclass(frozen=True)
class AlertRecord:
    """One alert decision as written to nfl_alert_history."""

    alert_key: str
    alert_type: str
    priority: str
    message: str
    channel: str
    status: str  # pending / suppressed
    created_at: datetime
    game_id: str | None = None
    family: str | None = None
    reason: str | None = None
    event_time: datetime | None = None
    payload: dict = field(default_factory=dict)
    fanned_out: bool = False  # its deliveries were written for its recipients (`add_deliveries`)


class OutboxRepository:
    """nfl_alert_history, nfl_alert_deliveries and nfl_alert_triggers, inside one transaction
    (`tx.outbox`)."""

    def __init__(self, cur: RealDictCursor):
        self.cur = cur

    def insert_alert(self, alert: AlertRecord) -> int | None:
        """Record an alert decision; returns its id, or None when the key was already recorded."""
        self.cur.execute(
            "INSERT INTO nfl_alert_history (alert_key, alert_type, priority, game_id, family, message, channel, "
            "status, reason, event_time, created_at, payload, fanned_out) "
            "SELECT %s, %s, %s, (SELECT game_id FROM nfl_games WHERE game_id = %s), %s, %s, %s, %s, %s, %s, %s, %s, %s "
            "ON CONFLICT (alert_key) DO NOTHING RETURNING id",
            (
                alert.alert_key,
                alert.alert_type,
                alert.priority,
                alert.game_id,
                alert.family,
                alert.message,
                alert.channel,
                alert.status,
                alert.reason,
                alert.event_time,
                alert.created_at,
                psycopg2.extras.Json(alert.payload),
                alert.fanned_out,
            ),
        )
        row = self.cur.fetchone()
        return row["id"] if row else None

    def add_deliveries(self, alert_id: int, chat_ids: Sequence[str]) -> None:
        """The chats a fanned-out alert goes to, each delivery pending and not yet attempted."""
        self.cur.execute(
            "INSERT INTO nfl_alert_deliveries (alert_id, chat_id, status, attempts) "
            "SELECT %s, unnest(%s::text[]), 'pending', 0 ON CONFLICT (alert_id, chat_id) DO NOTHING",
            (alert_id, list(chat_ids)),
        )

    def pending_alert_count(self, games: Sequence[str] | None = None) -> int:
        """Alerts not delivered yet (of `games` and of no game, when given)."""
        self.cur.execute(f"SELECT count(*) AS n FROM nfl_alert_history WHERE {_PENDING}", _games(games))
        return one(self.cur)["n"]

    def existing_alert_keys(self, keys: Sequence[str]) -> set[str]:
        self.cur.execute("SELECT alert_key FROM nfl_alert_history WHERE alert_key = ANY(%s)", (list(keys),))
        return {row["alert_key"] for row in self.cur.fetchall()}

    def next_pending_alert(self, games: Sequence[str] | None = None) -> RealDictRow | None:
        """The outbox's next alert: scores first, then the other high-priority alerts, then the
        rest, oldest first within each. Telegram takes about one message a second per chat (20 a
        minute in a group), so when alerts queue, the one users bet on must not wait its turn."""
        self.cur.execute(NEXT_PENDING, _games(games))
        return self.cur.fetchone()

    def claim_next_pending_alert(self, games: Sequence[str] | None = None) -> RealDictRow | None:
        """The next alert as `next_pending_alert` chooses it, locked until the caller's
        transaction ends; alerts another transaction holds are skipped, so two senders never
        take the same alert. The lock is FOR NO KEY UPDATE (the FOR UPDATE that lets the delivery
        rows, whose foreign key takes a KEY SHARE lock on the alert, still be written from other
        connections while the alert is held); `finish_alert` must then run in this transaction."""
        self.cur.execute(NEXT_PENDING + " FOR NO KEY UPDATE SKIP LOCKED", _games(games))
        return self.cur.fetchone()

    def alert_deliveries(self, alert_id: int) -> dict[str, RealDictRow]:
        """The alert's delivery rows by chat id (a chat without a row was never attempted)."""
        self.cur.execute("SELECT * FROM nfl_alert_deliveries WHERE alert_id = %s ORDER BY chat_id", (alert_id,))
        return {row["chat_id"]: row for row in self.cur.fetchall()}

    def start_delivery_attempt(self, alert_id: int, chat_id: str) -> int:
        """Count an attempt to send the alert to `chat_id`, before the request goes out.

        Committed ahead of the send, so a delivery left 'pending' with attempts > 0 is one whose
        earlier request may have reached Telegram. Returns the attempts including this one.
        """
        self.cur.execute(
            "INSERT INTO nfl_alert_deliveries (alert_id, chat_id, status, attempts) VALUES (%s, %s, 'pending', 1) "
            "ON CONFLICT (alert_id, chat_id) DO UPDATE SET attempts = nfl_alert_deliveries.attempts + 1 "
            "RETURNING attempts",
            (alert_id, chat_id),
        )
        return one(self.cur)["attempts"]

    def cancel_delivery_attempt(self, alert_id: int, chat_id: str, error: str) -> None:
        """Uncount the attempt just started: Telegram definitely did not take it (429, bad token)."""
        self.cur.execute(
            "UPDATE nfl_alert_deliveries SET attempts = greatest(attempts - 1, 0), error = %s "
            "WHERE alert_id = %s AND chat_id = %s",
            (error, alert_id, chat_id),
        )

    def record_delivery_error(self, alert_id: int, chat_id: str, error: str) -> None:
        """Note why the attempt failed; it stays counted (it may have reached Telegram)."""
        self.cur.execute(
            "UPDATE nfl_alert_deliveries SET error = %s WHERE alert_id = %s AND chat_id = %s",
            (error, alert_id, chat_id),
        )

    def mark_delivery_sent(
        self, alert_id: int, chat_id: str, sent_at: datetime, external_message_id: str | None, note: str | None = None
    ) -> None:
        self.cur.execute(
            "UPDATE nfl_alert_deliveries SET status = 'sent', sent_at = %s, external_message_id = %s, error = %s "
            "WHERE alert_id = %s AND chat_id = %s",
            (sent_at, external_message_id, note, alert_id, chat_id),
        )

    def mark_delivery_failed(self, alert_id: int, chat_id: str, error: str) -> None:
        self.cur.execute(
            "UPDATE nfl_alert_deliveries SET status = 'failed', error = %s WHERE alert_id = %s AND chat_id = %s",
            (error, alert_id, chat_id),
        )

    def finish_alert(self, alert_id: int) -> str:
        """Close an alert whose every delivery is settled: 'sent' when at least one chat got it,
        else 'failed'. Sent time, message id (of the first chat served), attempts and errors are
        derived from the deliveries, the one place they are recorded. Returns the status."""
        self.cur.execute(
            "UPDATE nfl_alert_history h SET status = CASE WHEN d.sent > 0 THEN 'sent' ELSE 'failed' END, "
            "sent_at = d.sent_at, external_message_id = d.message_id, attempts = d.attempts, error = d.errors "
            "FROM (SELECT count(*) FILTER (WHERE status = 'sent') AS sent, min(sent_at) AS sent_at, "
            "      (array_agg(external_message_id ORDER BY sent_at, chat_id) FILTER (WHERE status = 'sent'))[1] "
            "          AS message_id, "
            "      coalesce(sum(attempts), 0) AS attempts, "
            "      string_agg('chat ' || chat_id || ': ' || error, '; ' ORDER BY chat_id) "
            "          FILTER (WHERE error IS NOT NULL) AS errors "
            "      FROM nfl_alert_deliveries WHERE alert_id = %(id)s) d "
            "WHERE h.id = %(id)s RETURNING h.status",
            {"id": alert_id},
        )
        return one(self.cur)["status"]

    def alert_counts_since(self, since: datetime, until: datetime) -> dict[str, int]:
        """Alerts that went out (or are on their way) from `since` to `until`, by priority. The
        bound matters where one database holds alerts of later (simulated) days: replays."""
        self.cur.execute(
            "SELECT priority, count(*) AS n FROM nfl_alert_history "
            "WHERE created_at >= %s AND created_at <= %s AND status IN ('pending', 'sent') GROUP BY priority",
            (since, until),
        )
        return {row["priority"]: row["n"] for row in self.cur.fetchall()}

    def last_alert_times(self, families: Sequence[str], until: datetime) -> dict[str, datetime]:
        """When each family last had an alert go out up to `until`, for cooldowns."""
        self.cur.execute(
            "SELECT family, max(created_at) AS at FROM nfl_alert_history "
            "WHERE family = ANY(%s) AND created_at <= %s AND status IN ('pending', 'sent') GROUP BY family",
            (list(families), until),
        )
        return {row["family"]: row["at"] for row in self.cur.fetchall()}

    def chat_routes(self) -> dict[str, str]:
        """The configured chat ids whose alerts go elsewhere now (a group moved to a supergroup)."""
        self.cur.execute("SELECT chat_id, target_chat_id FROM nfl_alert_chat_routes")
        return {row["chat_id"]: row["target_chat_id"] for row in self.cur.fetchall()}

    def route_chat(self, chat_id: str, target_chat_id: str, at: datetime) -> None:
        """Send the alerts of the configured `chat_id` to `target_chat_id` from now on."""
        self.cur.execute(
            "INSERT INTO nfl_alert_chat_routes (chat_id, target_chat_id, updated_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (chat_id) DO UPDATE SET target_chat_id = EXCLUDED.target_chat_id, "
            "updated_at = EXCLUDED.updated_at",
            (chat_id, target_chat_id, at),
        )

    def alert_triggers(self) -> dict[str, RealDictRow]:
        self.cur.execute("SELECT * FROM nfl_alert_triggers")
        return {row["alert_type"]: row for row in self.cur.fetchall()}

    def touch_alert_trigger(self, alert_type: str, at: datetime) -> None:
        self.cur.execute("UPDATE nfl_alert_triggers SET last_triggered = %s WHERE alert_type = %s", (at, alert_type))


def _games(games: Sequence[str] | None) -> dict[str, list[str] | None]:
    return {"games": list(games) if games is not None else None}
