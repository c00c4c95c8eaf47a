"""The sender through Telegram's outages and refusals, on a real PostgreSQL through python-telegram-bot
and the fake Bot API: a Bot API that cannot be reached (refused connections) for 10 minutes of
simulated time, chats that refuse the bot for good, a group moved to a supergroup, two senders
racing over one outbox, and a sender that is not the leader."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from telegram.error import NetworkError, TimedOut

from alert_cases import CONFIG, EVENTS, NOW, SCORE, record, sends
from helpers import FakeClock, alert_events, alert_rows, delivery_rows, rows
from nfl_sync.alerts.channel import NotSent, TransientFailure
from nfl_sync.alerts.outbox import AlertOutbox
from nfl_sync.alerts.sender import OUTAGE_PAUSE_SECONDS, OUTAGE_ROUNDS
from nfl_sync.alerts.service import AlertService
from nfl_sync.alerts.telegram import _classify
from nfl_sync.domain.markup import RESEND_NOTICE

OUTBOX_ORDER = "ORDER BY (alert_type = 'score') DESC, (priority = 'high') DESC, id"


def distinct_events(count: int, minute: int) -> list:
    """`count` alerts of every type with texts and keys of their own (minute `minute`)."""
    events = []
    for index in range(count):
        for event in alert_events(NOW + timedelta(minutes=minute), text=f"m{minute}-{index}").values():
            events.append(replace(event, key=f"{event.key}:{minute}:{index}", family=None))
    return events


# --- what python-telegram-bot tells us -------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (NetworkError("httpx.ConnectError: [Errno 111] Connection refused"), NotSent),
        (NetworkError("httpx.ConnectError: [Errno -2] Name or service not known"), NotSent),
        (TimedOut(), NotSent),  # with a ConnectTimeout or PoolTimeout cause: below
        (NetworkError("httpx.ReadError: connection reset"), TransientFailure),
        (TimedOut(), TransientFailure),  # with a ReadTimeout cause: Telegram may have the message
        (NetworkError("no cause"), TransientFailure),
    ],
    ids=["refused", "dns", "connect-timeout", "read-error", "read-timeout", "unknown"],
)
def test_only_an_error_from_before_the_request_left_is_not_sent(error, outcome):
    causes = {
        "Connection refused": httpx.ConnectError("refused"),
        "Name or service": httpx.ConnectError("dns"),
        "connection reset": httpx.ReadError("reset"),
    }
    cause = next((c for text, c in causes.items() if text in str(error)), None)
    if isinstance(error, TimedOut):
        cause = httpx.ConnectTimeout("connect") if outcome is NotSent else httpx.ReadTimeout("read")
    error.__cause__ = cause

    assert type(_classify(error, 10)) is outcome


# --- Telegram unreachable ----------------------------------------------------------------------


def test_ten_minutes_of_refused_connections_lose_nothing_and_the_alerts_go_out_in_order(db, rig, caplog, capsys):
    """The Bot API refuses connections for 10 minutes (simulated) while alerts keep coming: none
    is marked failed nor counted as an attempt; after 10 rounds a critical message says the
    channel is down, on the console and in the outbox; once it is back every alert goes out once,
    unlabelled, in the outbox's order."""
    service = AlertService(AlertOutbox(CONFIG, "HTML", "telegram"), rig.notifier(db))
    notifier = service.notifier
    record(db, distinct_events(1, 0))
    rig.server.stop()  # the port stays bound to nobody: every connection is refused
    started = rig.clock.monotonic()
    minute = 0
    with caplog.at_level(logging.WARNING):
        while rig.clock.monotonic() - started < 600:
            notifier.drain(5)
            rig.clock.advance(5)
            if (rig.clock.monotonic() - started) // 120 > minute:  # more news every two minutes
                minute += 2
                record(db, distinct_events(1, minute))
    down = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert [d.getMessage() for d in down] == [notifier.channel_down], "said once per outage"
    assert "is down: 10 rounds of deliveries failed" in notifier.channel_down
    assert "CRITICAL: Telegram (1 chat) is down" in capsys.readouterr().out
    assert service.channel_problems() == [notifier.channel_down]
    with pytest.raises(RuntimeError, match="is down"):
        service.health_checks()["alerts"]()
    assert {r["status"] for r in alert_rows(db)} == {"pending"}
    assert {(d["status"], d["attempts"]) for d in delivery_rows(db)} <= {("pending", 0)}
    expected = [r["message"] for r in rows(db, f"SELECT message FROM nfl_alert_history {OUTBOX_ORDER}")]

    rig.server.start()  # back, on the same port
    while notifier.drain(60).backlog:
        rig.clock.advance(OUTAGE_PAUSE_SECONDS)

    assert [r["status"] for r in alert_rows(db)] == ["sent"] * len(expected)
    assert [m.text for m in rig.server.messages] == expected, "each once, in the outbox's order"
    assert not any(RESEND_NOTICE in m.visible_text for m in rig.server.messages)
    assert {d["attempts"] for d in delivery_rows(db)} == {1}
    assert notifier.channel_down is None and service.channel_problems() == []
    system = [r for r in alert_rows(db) if r["alert_key"].startswith("system:alerts:down:")]
    assert len(system) == 1 and "is down" in system[0]["message"], "the outage is on record"


def test_the_channel_is_reported_down_after_the_tenth_resting_round(db, rig):
    record(db, [SCORE])
    notifier = rig.notifier(db)
    reports = []
    notifier.on_channel_down = reports.append
    rig.server.stop()

    for _ in range(OUTAGE_ROUNDS - 1):
        notifier.drain(OUTAGE_PAUSE_SECONDS + 10)
    assert reports == []
    notifier.drain(OUTAGE_PAUSE_SECONDS + 10)

    assert len(reports) == 1 and alert_rows(db)[0]["status"] == "pending"


# --- chats that refuse the bot ----------------------------------------------------------------


def test_a_blocked_chat_makes_the_channel_unhealthy_until_it_takes_alerts_again(db, rig):
    service = AlertService(AlertOutbox(CONFIG, "HTML", "telegram"), rig.notifier(db, chats=("111", "222")))
    rig.server.blocked_chats.add("222")
    record(db, [SCORE])

    service.notifier.drain(10)

    assert service.channel_problems() == ["chat 222: Forbidden: bot was blocked by the user"]
    with pytest.raises(RuntimeError, match="chat 222: Forbidden"):
        service.health_checks()["alerts"]()
    rig.server.blocked_chats.clear()
    record(db, [EVENTS["injury"]])
    service.notifier.drain(10)
    assert service.channel_problems() == []
    service.health_checks()["alerts"]()


def test_a_chat_not_found_makes_the_channel_unhealthy(db, rig):
    service = AlertService(AlertOutbox(CONFIG, "HTML", "telegram"), rig.notifier(db, chats=("@nobody",)))
    rig.server.known_chats = {"111"}
    record(db, [SCORE])

    service.notifier.drain(10)

    assert service.channel_problems() == ["chat @nobody: Chat not found"]


# --- a group moved to a supergroup ----------------------------------------------------------------


def test_a_migrated_group_is_followed_for_this_and_later_alerts_and_across_restarts(db, rig, caplog):
    rig.server.migrated_chats["-111"] = "-100111"
    record(db, [SCORE])

    with caplog.at_level(logging.WARNING):
        report = rig.notifier(db, chats=("-111",)).drain(10)

    assert report.sent == 1
    assert [m.chat_id for m in rig.server.messages] == ["-100111"]
    assert not any(RESEND_NOTICE in m.visible_text for m in rig.server.messages)
    (delivery,) = delivery_rows(db)
    assert (delivery["chat_id"], delivery["status"], delivery["attempts"]) == ("-111", "sent", 1)
    assert delivery["error"] == "sent to the supergroup -100111"
    assert "moved the group -111 to the supergroup -100111" in caplog.text
    assert rows(db, "SELECT chat_id, target_chat_id FROM nfl_alert_chat_routes") == [
        {"chat_id": "-111", "target_chat_id": "-100111"}
    ]

    record(db, [EVENTS["injury"]])
    restarted = rig.notifier(db, chats=("-111",))  # a new process: the route comes from the database
    assert restarted.drain(10).sent == 1
    old_group = [r for r in sends(rig.server) if b"-111" in r.body and b"-100111" not in r.body]
    assert len(old_group) == 1, "after the move, nothing more is sent to the old group"
    assert [m.chat_id for m in rig.server.messages] == ["-100111", "-100111"]


# --- two senders, one outbox -----------------------------------------------------------------------


def test_two_senders_racing_over_one_outbox_deliver_each_alert_once(db, rig):
    """As during a takeover: two senders drain the same queue at once; the claims (FOR NO KEY
    UPDATE SKIP LOCKED) give each alert to one of them."""
    events = distinct_events(8, 0)  # 8 of every type
    record(db, events)
    senders = [rig.notifier(db, clock=FakeClock()) for _ in range(2)]
    barrier = threading.Barrier(len(senders))
    reports = []

    def drain(sender) -> None:
        barrier.wait()
        reports.append(sender.drain(600))

    threads = [threading.Thread(target=drain, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    texts = [m.text for m in rig.server.messages]
    assert len(texts) == len(events) and len(set(texts)) == len(events)
    assert {r["status"] for r in alert_rows(db)} == {"sent"}
    assert {d["attempts"] for d in delivery_rows(db)} == {1}
    assert all(r.sent > 0 for r in reports), "both senders took part"


def test_a_claimed_alert_is_skipped_by_another_transaction(db):
    record(db, [SCORE, EVENTS["injury"]])
    with db.transaction() as first, db.transaction() as second:
        held = first.outbox.claim_next_pending_alert()
        other = second.outbox.claim_next_pending_alert()
        assert held["alert_type"] == "score"
        assert other["alert_type"] == "injury"
        assert second.outbox.claim_next_pending_alert() == other, "a transaction sees its own claims"


# --- only the leader sends ------------------------------------------------------------------------


def test_a_sender_that_may_not_send_sends_nothing_and_counts_nothing(db, rig):
    leader = threading.Event()
    record(db, [SCORE])
    notifier = rig.notifier(db, may_send=leader.is_set)

    report = notifier.drain(10)

    assert report.backlog and sends(rig.server) == [] and delivery_rows(db) == []
    leader.set()
    assert notifier.drain(10).sent == 1
