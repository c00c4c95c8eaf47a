"""The alert outbox on a real PostgreSQL: recording in the caller's transaction, and what a crash
at each point of a delivery leaves behind (the guarantee in alerts/sender.py's docstring)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from factories import game
from helpers import HOSTILE, alert_events, alert_rows, delivery_rows, rows
from nfl_sync.alerts.outbox import AlertOutbox
from nfl_sync.config import load_settings
from nfl_sync.domain.alert_policy import DUPLICATE, PolicyConfig
from nfl_sync.domain.events import ALERT_TYPES, AlertType, Event, Priority, ScoreData
from nfl_sync.domain.markup import RESEND_NOTICE

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
CONFIG = PolicyConfig(cooldowns=dict.fromkeys(ALERT_TYPES, 300), daily_limit=100, quiet_hours=None, timezone=NEW_YORK)
OUTBOX = AlertOutbox(CONFIG, "HTML", "telegram")
EVENTS = alert_events(NOW)
SCORE, PRICE = EVENTS["score"], EVENTS["kalshi_price"]


def record(db, events, now=NOW, outbox=OUTBOX):
    return db.run(lambda tx: outbox.record_events(tx, events, now))


def price_spike(minute: int, now: datetime) -> Event:
    """The same market spiking again in another minute (another key, the same family)."""
    return replace(PRICE, key=f"price:{PRICE.data.ticker}:{minute}", occurred_at=now)


# --- recording ------------------------------------------------------------------------------


def test_events_are_written_pending_or_suppressed_with_their_reason(db):
    results = record(db, [SCORE, PRICE, price_spike(1, NOW)])

    rows = alert_rows(db)
    assert [(r["alert_key"], r["status"], r["reason"]) for r in rows] == [
        (SCORE.key, "pending", None),
        (PRICE.key, "pending", None),
        (price_spike(1, NOW).key, "suppressed", f"cooldown: {PRICE.family} alerted 0 s ago (cooldown 300 s)"),
    ]
    assert [r.alert_id for r in results] == [row["id"] for row in rows]
    assert rows[0]["message"].startswith("🏈 <b>SCORE UPDATE</b>")
    assert rows[0]["channel"] == "telegram" and rows[0]["created_at"] == NOW and rows[0]["event_time"] == NOW
    assert rows[1]["payload"]["parse_mode"] == "HTML"
    assert rows[1]["payload"]["data"]["price_after"] == "0.52"  # Decimal kept exact, as text


def test_alerts_commit_or_roll_back_with_the_callers_state_change(db):
    class Stop(Exception):
        pass

    def cycle(tx, fail):
        tx.games.upsert_game(game(home_score=17, away_score=21))
        OUTBOX.record_events(tx, [SCORE], NOW)
        if fail:
            raise Stop

    with pytest.raises(Stop):
        db.run(lambda tx: cycle(tx, fail=True))
    assert alert_rows(db) == [] and rows(db, "SELECT * FROM nfl_games") == []

    db.run(lambda tx: cycle(tx, fail=False))
    assert [(r["alert_key"], r["game_id"]) for r in alert_rows(db)] == [(SCORE.key, "401547417")]


def test_the_same_key_is_never_recorded_twice(db):
    record(db, [SCORE, SCORE])
    again = record(db, [SCORE], NOW + timedelta(hours=1))

    assert len(alert_rows(db)) == 1
    assert again[0].decision.action == DUPLICATE and again[0].alert_id is None


def test_cooldown_reads_the_last_alert_of_the_family_from_the_database(db):
    record(db, [PRICE])
    soon, later = NOW + timedelta(seconds=120), NOW + timedelta(seconds=301)

    record(db, [price_spike(2, soon)], soon)
    record(db, [price_spike(6, later)], later)

    assert [r["status"] for r in alert_rows(db)] == ["pending", "suppressed", "pending"]


def test_daily_limit_counts_the_configured_zones_day(db):
    outbox = AlertOutbox(replace(CONFIG, daily_limit=2, cooldowns={}), "HTML", "telegram")
    late_evening = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)  # 23:30 on the 24th in New York
    after_midnight = datetime(2026, 11, 25, 5, 1, tzinfo=UTC)  # 00:01 on the 25th, same UTC day

    record(db, [price_spike(m, late_evening) for m in (1, 2, 3)], late_evening, outbox)
    record(db, [replace(SCORE, occurred_at=late_evening)], late_evening + timedelta(minutes=1), outbox)
    record(db, [price_spike(4, after_midnight)], after_midnight, outbox)

    assert [(r["priority"], r["status"], (r["reason"] or "").split(":")[0]) for r in alert_rows(db)] == [
        ("medium", "pending", ""),
        ("medium", "pending", ""),
        ("medium", "suppressed", "daily_limit"),
        ("high", "pending", ""),  # high priority bypasses the limit
        ("medium", "pending", ""),
    ]  # a new day in New York


def test_a_switched_off_alert_type_is_recorded_as_suppressed(db):
    rows(db, "UPDATE nfl_alert_triggers SET enabled = false WHERE alert_type = 'injury' RETURNING 1")

    record(db, [EVENTS["injury"], SCORE])

    assert [(r["alert_type"], r["status"], (r["reason"] or "")[:8]) for r in alert_rows(db)] == [
        ("injury", "suppressed", "disabled"),
        ("score", "pending", ""),
    ]
    triggers = {r["alert_type"]: r["last_triggered"] for r in rows(db, "SELECT * FROM nfl_alert_triggers")}
    assert triggers["score"] == NOW and triggers["injury"] is None


def test_an_event_of_unknown_type_is_left_out_without_failing_the_transaction(db):
    unknown_type = replace(SCORE, key="weather:1", alert_type="weather")

    results = record(db, [unknown_type, replace(SCORE, priority="urgent"), PRICE])

    assert [r.event.key for r in results] == [PRICE.key]
    assert [r["alert_key"] for r in alert_rows(db)] == [PRICE.key]


def test_malformed_data_is_still_alerted_with_its_raw_fields(db):
    data = ScoreData(game_id="401547417", home_team="BUF", away_team="KC", home_score=3, away_score=None)
    broken = Event(AlertType.SCORE, "score:broken", Priority.HIGH, NOW, data)

    record(db, [broken])

    assert alert_rows(db)[0]["message"].startswith(
        "🔔 <b>SCORE ALERT</b>\n\naway_team: KC\ngame_id: 401547417\nhome_score: 3\nhome_team: BUF"
    )


def test_text_postgresql_cannot_store_is_cleaned_not_fatal(db):
    injury = EVENTS["injury"]
    hostile = replace(injury, data=replace(injury.data, player="Nul\x00l Surr\ud800ogate"))

    record(db, [hostile])

    row = alert_rows(db)[0]
    assert row["status"] == "pending" and "Null Surr\ufffdogate" in row["message"]
    assert row["payload"]["data"]["player"] == "Null Surr\ufffdogate"


def test_numbers_json_cannot_hold_are_stored_as_text(db):
    record(db, [replace(PRICE, data=replace(PRICE.data, seconds=float("nan"), volume=Decimal("1E+3")))])

    data = alert_rows(db)[0]["payload"]["data"]
    assert (data["seconds"], data["volume"]) == ("nan", "1E+3")


def test_the_outbox_writes_for_the_channel_in_use():
    telegram = AlertOutbox.from_settings(
        load_settings(env={"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_CHAT_ID": "111", "TELEGRAM_PARSE_MODE": "MarkdownV2"})
    )
    console = AlertOutbox.from_settings(
        load_settings(env={"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_CHAT_ID": "111", "TELEGRAM_ENABLED": "false"})
    )

    assert (telegram.parse_mode, telegram.channel) == ("MarkdownV2", "telegram")
    assert (console.parse_mode, console.channel) == (None, "console")


# --- crashes during delivery ----------------------------------------------------------------


class Crash(BaseException):
    """The process stopping mid-drain: a BaseException, so no handler in the code under test
    can treat it as a delivery outcome."""


class CrashingChannel:
    """A real channel that stops the process just before or just after the request to the chats
    in `crash_chats` (all by default)."""

    def __init__(self, inner, point: str, crash_chats=None):
        self.inner, self.point, self.crash_chats = inner, point, crash_chats
        self.name, self.chat_ids, self.paced = inner.name, inner.chat_ids, inner.paced

    def send(self, chat_id, text, parse_mode):
        crash = self.crash_chats is None or chat_id in self.crash_chats
        if crash and self.point == "before_request":
            raise Crash
        message_id = self.inner.send(chat_id, text, parse_mode)
        if crash:
            raise Crash
        return message_id

    def close(self):
        self.inner.close()


def crash_while_draining(db, rig, point, chats=("111",), crash_chats=None):
    notifier = rig.notifier(db, channel=CrashingChannel(rig.channel(chats), point, crash_chats))
    with pytest.raises(Crash):
        notifier.drain(60)


def test_stopped_before_sending_the_alert_goes_out_once_after_restart(db, rig):
    record(db, [SCORE])  # committed as pending; the process stops before the sender runs

    report = rig.notifier(db).drain(60)

    assert report.sent == 1
    assert [m.visible_text.startswith("🏈 SCORE UPDATE") for m in rig.server.messages] == [True]
    assert alert_rows(db)[0]["status"] == "sent"


def test_stopped_after_the_attempt_was_counted_but_before_the_request_sends_once_labelled(db, rig):
    record(db, [SCORE])
    crash_while_draining(db, rig, "before_request")
    assert rig.server.messages == []
    assert [(d["status"], d["attempts"]) for d in delivery_rows(db)] == [("pending", 1)]

    rig.notifier(db).drain(60)

    assert [m.visible_text.split("\n")[0] for m in rig.server.messages] == [RESEND_NOTICE]
    assert alert_rows(db)[0]["status"] == "sent"


def test_stopped_after_telegram_accepted_but_before_the_mark_resends_once_labelled(db, rig):
    record(db, [SCORE])
    crash_while_draining(db, rig, "after_request")
    assert len(rig.server.messages) == 1
    assert alert_rows(db)[0]["status"] == "pending"

    rig.notifier(db).drain(60)
    rig.notifier(db).drain(60)

    first, second = rig.server.messages  # the one possible duplicate, and no more
    assert not first.visible_text.startswith(RESEND_NOTICE)
    assert second.visible_text == RESEND_NOTICE + "\n" + first.visible_text
    row = alert_rows(db)[0]
    assert (row["status"], row["external_message_id"], row["attempts"]) == ("sent", "2", 2)


def test_an_alert_marked_sent_is_never_sent_again(db, rig):
    record(db, [SCORE, PRICE])
    rig.notifier(db).drain(60)

    report = rig.notifier(db).drain(60)

    assert report.sent == 0 and len(rig.server.messages) == 2


def test_a_restart_resends_only_to_the_chats_still_missing_the_alert(db, rig):
    record(db, [SCORE])
    crash_while_draining(db, rig, "after_request", chats=("111", "222"), crash_chats={"222"})

    rig.notifier(db, chats=("111", "222")).drain(60)

    assert len(rig.server.messages_to("111")) == 1
    assert [m.visible_text.startswith(RESEND_NOTICE) for m in rig.server.messages_to("222")] == [False, True]
    assert [(d["chat_id"], d["status"]) for d in delivery_rows(db)] == [("111", "sent"), ("222", "sent")]


def test_a_delivery_whose_outcome_stays_unknown_is_given_up_at_last(db, rig):
    from nfl_sync.alerts.sender import GIVE_UP_ATTEMPTS

    record(db, [SCORE])
    for _ in range(GIVE_UP_ATTEMPTS):
        crash_while_draining(db, rig, "after_request")

    report = rig.notifier(db).drain(60)

    assert len(rig.server.messages) == GIVE_UP_ATTEMPTS and report.failed == 1
    row = alert_rows(db)[0]
    assert row["status"] == "failed"
    assert row["error"] == f"chat 111: gave up after {GIVE_UP_ATTEMPTS} attempts whose outcome is unknown"


def test_hostile_values_survive_the_whole_path(db, rig):
    record(db, list(EVENTS.values()))

    rig.notifier(db).drain(60)

    assert len(rig.server.messages) == len(EVENTS)
    assert all(HOSTILE in message.visible_text for message in rig.server.messages)
