"""The direct path: critical system alerts sent straight to the channel while the outbox (the
database) is away, deduplicated and rate-limited, and recorded in the outbox once it is back."""

from __future__ import annotations

import io
from datetime import timedelta

from alert_cases import CONFIG, NOW
from helpers import alert_rows, delivery_rows, wait_for
from nfl_sync.alerts.console import ConsoleChannel
from nfl_sync.alerts.outbox import AlertOutbox
from nfl_sync.alerts.sender import TelegramNotifier
from nfl_sync.alerts.service import AlertService
from nfl_sync.domain.events import system_event

DEAD = "postgresql://nobody@127.0.0.1:1/none"


def test_critical_alerts_reach_the_console_while_the_outbox_is_away_then_are_recorded_as_sent(db):
    stream = io.StringIO()
    service = AlertService(
        AlertOutbox(CONFIG, None, "console"), TelegramNotifier(db, ConsoleChannel("test", stream)), idle_seconds=0.05
    )
    live = db.dsn
    down = system_event("critical", "database", "unreachable for 30 s", NOW, "unreachable:1")
    # The same family a minute later: held back by the rate limit, recorded as suppressed.
    again = system_event("critical", "database", "unreachable for 90 s", NOW + timedelta(minutes=1), "unreachable:2")
    try:
        db.dsn = DEAD
        db.reset_pool()
        service.deliver_directly([down], NOW)
        service.deliver_directly([down], NOW)  # a repeat of the key: not sent twice
        service.deliver_directly([again], NOW + timedelta(minutes=1))
        wait_for(lambda: "unreachable for 30 s" in stream.getvalue(), 10, "the alert on the console")
        db.dsn = live
        db.reset_pool()
        service.wake()
        wait_for(lambda: not len(service.direct), 10, "the direct path recorded in the outbox")
    finally:
        db.dsn = live
        db.reset_pool()
        service.close(1.0)
    assert stream.getvalue().count("unreachable for 30 s") == 1
    assert "unreachable for 90 s" not in stream.getvalue()
    rows = alert_rows(db)
    assert [(r["alert_key"], r["status"]) for r in rows] == [
        ("system:database:unreachable:1", "sent"),
        ("system:database:unreachable:2", "suppressed"),
    ]
    assert "alerted 60 s ago" in rows[1]["reason"]
    assert [(d["chat_id"], d["status"], d["attempts"]) for d in delivery_rows(db)] == [("console", "sent", 1)]
    assert "sent directly" in delivery_rows(db)[0]["error"]
    # Recorded as sent: the sender has nothing left to deliver.
    assert TelegramNotifier(db, ConsoleChannel("test", stream)).drain(1.0).sent == 0


def test_the_direct_path_reaches_a_group_that_became_a_supergroup(db, rig):
    """While the database is away the stored route cannot be read: Telegram's answer is followed."""
    rig.server.migrated_chats["-111"] = "-100111"
    notifier = rig.notifier(db, chats=("-111",))
    service = AlertService(AlertOutbox(CONFIG, "HTML", "telegram"), notifier, idle_seconds=0.05)
    live = db.dsn
    try:
        db.dsn = DEAD
        db.reset_pool()
        service.deliver_directly([system_event("critical", "database", "unreachable for 30 s", NOW, "u:1")], NOW)
        wait_for(lambda: rig.server.messages, 10, "the alert in the supergroup")
    finally:
        db.dsn = live
        db.reset_pool()
        service.close(1.0)
    assert [m.chat_id for m in rig.server.messages] == ["-100111"]
