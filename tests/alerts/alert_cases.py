"""What the alert tests share: a moment, the policy, one event of each type, and small recorders."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from helpers import alert_events, fixture_path
from nfl_replay.http import Response
from nfl_replay.telegram_server import recorded_error
from nfl_sync.alerts.outbox import AlertOutbox
from nfl_sync.domain.alert_policy import PolicyConfig

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
CONFIG = PolicyConfig(cooldowns={}, daily_limit=100, quiet_hours=None, timezone=NEW_YORK)
EVENTS = alert_events(NOW)
SCORE = EVENTS["score"]


def recorded(name: str) -> Response:
    """A real Bot API error answer from tests/fixtures/telegram."""
    return recorded_error(fixture_path("telegram", name).read_bytes())


def record(db, events, parse_mode="HTML", channel="telegram"):
    outbox = AlertOutbox(CONFIG, parse_mode, channel)
    return db.run(lambda tx: outbox.record_events(tx, events, NOW))


def sends(server):
    return [r for r in server.requests if r.path.lower().endswith("/sendmessage")]
