"""What the daemon holds: the alert service's sender thread, its health check, and the console
channel used when Telegram is not."""

from __future__ import annotations

import io
import logging
from dataclasses import replace

import pytest

from alert_cases import CONFIG, EVENTS, NOW, SCORE
from helpers import (
    HOSTILE,
    TELEGRAM_TOKEN,
    FakeClock,
    alert_rows,
    delivery_rows,
    wait_for,
)
from nfl_sync.alerts.console import ConsoleChannel
from nfl_sync.alerts.outbox import AlertOutbox
from nfl_sync.alerts.service import AlertService, build_notifier
from nfl_sync.config import load_settings
from nfl_sync.metrics import Metrics

# --- console channel ------------------------------------------------------------------------


def test_without_telegram_alerts_go_to_the_console_and_the_log_through_the_outbox(db, capsys, caplog):
    settings = load_settings(env={"TELEGRAM_ENABLED": "false", "TIMEZONE": "America/New_York"})
    service = build_notifier(settings, db, FakeClock())
    db.run(lambda tx: service.outbox.record_events(tx, [SCORE, EVENTS["injury"]], NOW))

    with caplog.at_level(logging.INFO, logger="nfl_sync.alerts.console"):
        report = service.notifier.drain()
    service.notifier.close()

    printed = capsys.readouterr().out
    assert report.sent == 2
    assert f"🏈 SCORE UPDATE\n\nKC 21 @ BUF {HOSTILE} 17\n" in printed
    assert "<b>SCORE" not in printed and "\n🚑 INJURY UPDATE\n" in printed
    assert "Telegram not in use: TELEGRAM_ENABLED is false" in caplog.text
    assert [(r["channel"], r["status"]) for r in alert_rows(db)] == [("console", "sent")] * 2
    assert {d["chat_id"] for d in delivery_rows(db)} == {"console"}


def test_the_console_shows_markup_written_for_telegram_as_plain_text(capsys):
    ConsoleChannel("no token").send("console", r"*Score* 7\-3\.", "MarkdownV2")

    assert capsys.readouterr().out.endswith("Score 7-3.\n")


def test_a_console_without_emoji_still_shows_the_alert():
    stream = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")

    ConsoleChannel("no token", stream).send("console", "🏈 SCORE UPDATE", None)

    stream.seek(0)
    assert stream.read().endswith("? SCORE UPDATE\n")


# --- the daemon's alert service ---------------------------------------------------------------


def sample(metrics, alert_type, outcome):
    return metrics.registry.get_sample_value("nfl_alerts_total", {"alert_type": alert_type, "outcome": outcome})


def test_the_service_records_in_the_transaction_and_its_sender_delivers_when_woken(db, rig):
    metrics = Metrics()
    outbox = AlertOutbox(replace(CONFIG, cooldowns={"kalshi_price": 300}), "HTML", "telegram")
    service = AlertService(outbox, rig.notifier(db), metrics=metrics)
    price = EVENTS["kalshi_price"]
    again = replace(price, key=price.key + ":next")

    db.run(lambda tx: service.record(tx, [SCORE, price, again], NOW))
    assert rig.server.messages == []  # nothing goes out before the commit and the wake
    service.wake()
    wait_for(lambda: len(rig.server.messages) == 2, 5.0, "the alert sender")
    service.close(flush_seconds=1)

    assert [r["status"] for r in alert_rows(db)] == ["sent", "sent", "suppressed"]
    assert sample(metrics, "score", "queued") == 1 and sample(metrics, "kalshi_price", "cooldown") == 1
    assert sample(metrics, "score", "sent") == 1
    assert metrics.registry.get_sample_value("nfl_alerts_today") == 2


def test_closing_the_service_flushes_what_is_pending(db, rig):
    service = AlertService(AlertOutbox(CONFIG, "HTML", "telegram"), rig.notifier(db))
    db.run(lambda tx: service.record(tx, [SCORE], NOW))

    service.close(flush_seconds=2)

    assert len(rig.server.messages) == 1 and alert_rows(db)[0]["status"] == "sent"


def test_the_health_check_reports_a_rejected_token(db, rig):
    service = AlertService(
        AlertOutbox(CONFIG, "HTML", "telegram"), rig.notifier(db, channel=rig.channel(token="1234567:wrong"))
    )
    check = service.health_checks()["alerts"]
    check()  # nothing known to be wrong yet
    db.run(lambda tx: service.record(tx, [SCORE], NOW))

    service.notifier.drain(5)

    with pytest.raises(RuntimeError, match="alert delivery: telegram unavailable"):
        check()
    service.close(flush_seconds=0)


def test_a_dry_run_uses_the_console_even_when_telegram_is_configured(db):
    settings = load_settings(env={"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_CHAT_ID": "111"})

    service = build_notifier(settings, db, FakeClock(), console_only=True)

    assert service.describe() == "the console (dry run)"
    assert (service.outbox.channel, service.outbox.parse_mode) == ("console", None)
    service.close(flush_seconds=0)
