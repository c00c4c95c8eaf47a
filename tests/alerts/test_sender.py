"""The sender draining the outbox on a real PostgreSQL through the fake Bot API: retries, 429s,
permanent failures, and pacing under Telegram's flood limits."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from alert_cases import EVENTS, SCORE, record, recorded, sends
from helpers import (
    TELEGRAM_TOKEN,
    FakeClock,
    TelegramRig,
    alert_rows,
    delivery_rows,
    wait_for,
)
from nfl_replay.telegram_server import FakeTelegramServer, Hold, telegram_error
from nfl_sync.alerts.channel import PermanentFailure, RetryLater
from nfl_sync.alerts.sender import ChatRateLimiter
from nfl_sync.domain.markup import RESEND_NOTICE, to_plain

# --- retries, 429, permanent failures ------------------------------------------------------


def test_network_errors_and_5xx_are_retried_with_exponential_backoff(db, rig):
    record(db, [SCORE])
    rig.server.script("sendMessage", telegram_error(502, "Bad Gateway"), telegram_error(503, "Service Unavailable"))

    report = rig.notifier(db).drain(60)

    assert (report.sent, report.retries) == (1, 2)
    assert rig.clock.sleeps == [1.0, 2.0]
    assert len(sends(rig.server)) == 3
    # A failed request may still have been delivered, so the copy that got through says so.
    assert rig.server.messages[0].visible_text.startswith(RESEND_NOTICE)
    assert [(d["status"], d["attempts"]) for d in delivery_rows(db)] == [("sent", 3)]


def test_a_timeout_after_telegram_accepted_is_retried_and_the_retry_labelled(db, rig):
    record(db, [SCORE])
    rig.server.script("sendMessage", Hold(2.0))

    report = rig.notifier(db, channel=rig.channel(timeout=0.3)).drain(60)

    assert report.sent == 1
    first, second = rig.server.messages
    assert second.visible_text == RESEND_NOTICE + "\n" + first.visible_text


def test_three_failed_attempts_pause_the_channel_and_keep_the_alerts_in_order(db, rig):
    record(db, [SCORE, EVENTS["system"]])
    rig.server.script("sendMessage", *[telegram_error(500, "Internal Server Error")] * 3)
    notifier = rig.notifier(db)

    report = notifier.drain(10)

    assert (report.failed, report.retries, report.backlog) == (0, 2, True)
    assert [r["status"] for r in alert_rows(db)] == ["pending", "pending"]
    assert [(d["status"], d["attempts"], d["error"]) for d in delivery_rows(db)] == [
        ("pending", 3, "Internal Server Error")
    ]
    assert notifier.drain(5).sent == 0  # the channel rests before the next round
    rig.clock.advance(30)
    assert notifier.drain(5).sent == 2
    texts = [m.visible_text for m in rig.server.messages]
    assert "SCORE UPDATE" in texts[0] and texts[0].startswith(RESEND_NOTICE)  # in doubt after the 5xx
    assert [r["status"] for r in alert_rows(db)] == ["sent", "sent"]


def test_a_queue_goes_out_scores_first_then_high_priority_then_the_rest(db, rig):
    record(db, [EVENTS["kalshi_price"], EVENTS["injury"], EVENTS["significant_play"]])
    record(db, [SCORE])

    assert rig.notifier(db).drain(60).sent == 4

    by_id = {str(r["external_message_id"]): r["alert_type"] for r in _sent(db)}
    assert [by_id[str(m.message_id)] for m in rig.server.messages] == [
        "score",
        "significant_play",
        "kalshi_price",
        "injury",
    ]


def test_a_score_recorded_during_a_drain_goes_next(db, rig):
    # While the first price move is on its way, the scoreboard lane records a score.
    record(db, [EVENTS["kalshi_price"], EVENTS["injury"]])
    rig.server.script("sendMessage", Hold(1.0))

    def record_once_the_first_arrived():  # it arrived and its answer is held: the drain is mid-send
        wait_for(lambda: rig.server.messages, 30, "the first message")
        record(db, [SCORE])

    recorder = threading.Thread(target=record_once_the_first_arrived)
    recorder.start()

    assert rig.notifier(db).drain(60).sent == 3
    recorder.join()

    by_id = {str(r["external_message_id"]): r["alert_type"] for r in _sent(db)}
    assert [by_id[str(m.message_id)] for m in rig.server.messages] == ["kalshi_price", "score", "injury"]


def test_a_score_recorded_while_the_pacing_is_waited_out_goes_next(db, rig):
    record(db, [EVENTS["kalshi_price"], EVENTS["injury"]])
    notifier = rig.notifier(db)
    while notifier.limiter.delay("111") == 0:  # the chat's burst is spent: the next message waits
        notifier.limiter.take("111")
    sleep = rig.clock.sleep

    def sleep_while_a_score_comes(seconds: float) -> None:
        if not rig.clock.sleeps:
            record(db, [SCORE])
        sleep(seconds)

    rig.clock.sleep = sleep_while_a_score_comes

    assert notifier.drain(60).sent == 3

    by_id = {str(r["external_message_id"]): r["alert_type"] for r in _sent(db)}
    assert [by_id[str(m.message_id)] for m in rig.server.messages] == ["score", "kalshi_price", "injury"]


def _sent(db) -> list[dict]:
    return db.run(
        lambda tx: (
            tx.cur.execute(
                "SELECT h.alert_type, d.external_message_id FROM nfl_alert_history h "
                "JOIN nfl_alert_deliveries d ON d.alert_id = h.id WHERE d.status = 'sent'"
            ),
            tx.cur.fetchall(),
        )[1]
    )


def test_a_delivery_failing_for_ten_rounds_is_given_up(db, rig):
    from nfl_sync.alerts.sender import GIVE_UP_ATTEMPTS, OUTAGE_PAUSE_SECONDS

    record(db, [SCORE])
    rig.server.script("sendMessage", *[telegram_error(502, "Bad Gateway")] * GIVE_UP_ATTEMPTS)
    notifier = rig.notifier(db)
    for _ in range(GIVE_UP_ATTEMPTS // 3):
        notifier.drain(10)
        rig.clock.advance(OUTAGE_PAUSE_SECONDS)
    report = notifier.drain(10)

    assert report.failed == 1
    row = alert_rows(db)[0]
    assert (row["status"], row["attempts"]) == ("failed", GIVE_UP_ATTEMPTS)
    assert "gave up after 30 attempts" in row["error"]


def test_a_429_waits_its_retry_after_and_is_not_an_attempt(db, rig):
    record(db, [SCORE])
    rig.server.script("sendMessage", recorded("error_429_too_many_requests.json"))

    report = rig.notifier(db).drain(60)

    assert (report.sent, report.rate_limited, report.retries) == (1, 1, 0)
    assert rig.clock.sleeps == [1.0]
    assert [(d["status"], d["attempts"]) for d in delivery_rows(db)] == [("sent", 1)]
    assert not rig.server.messages[0].visible_text.startswith(RESEND_NOTICE)


def test_a_429_longer_than_the_drain_budget_leaves_the_alert_pending(db, rig):
    record(db, [SCORE])
    rig.server.script("sendMessage", telegram_error(429, "Too Many Requests: retry after 30", retry_after=30))
    notifier = rig.notifier(db)

    first = notifier.drain(5)
    rig.clock.advance(30)
    second = notifier.drain(5)

    assert (first.sent, first.backlog, second.sent) == (0, True, 1)
    assert rig.clock.sleeps == []


def test_a_blocked_chat_fails_for_good_while_the_others_are_served(db, rig):
    record(db, [SCORE])
    rig.server.blocked_chats.add("222")

    report = rig.notifier(db, chats=("111", "222")).drain(60)

    assert (report.sent, report.failed, report.retries) == (1, 1, 0)
    assert [(d["chat_id"], d["status"], d["error"]) for d in delivery_rows(db)] == [
        ("111", "sent", None),
        ("222", "failed", "Forbidden: bot was blocked by the user"),
    ]
    row = alert_rows(db)[0]
    assert (row["status"], row["error"]) == ("sent", "chat 222: Forbidden: bot was blocked by the user")


def test_a_recorded_403_body_is_permanent(rig):
    rig.server.script("sendMessage", recorded("error_403_bot_blocked.json"))

    with pytest.raises(PermanentFailure, match="bot was blocked by the user") as failure:
        rig.channel().send("111", "hi", None)
    assert failure.value.reason == "blocked"


def test_an_unknown_chat_is_a_permanent_bad_request(db, rig):
    record(db, [SCORE])

    report = rig.notifier(db, chats=("not-a-chat",)).drain(60)

    assert report.failed == 1 and len(sends(rig.server)) == 1
    assert alert_rows(db)[0]["error"] == "chat not-a-chat: Chat not found"


def test_rejected_formatting_is_resent_once_as_plain_text_and_noted(db, rig):
    record(db, [SCORE])
    rig.server.script("sendMessage", recorded("error_400_cant_parse_entities.json"))

    report = rig.notifier(db).drain(60)

    assert report.sent == 1
    message = rig.server.messages[0]
    assert message.parse_mode is None and message.text == to_plain(alert_rows(db)[0]["message"], "HTML")
    assert delivery_rows(db)[0]["error"] == (
        "sent as plain text: Can't parse entities: can't find end of the entity starting at byte offset 89"
    )


# --- pacing ----------------------------------------------------------------------------------


def paced_waits(limiter, clock, chats):
    """The wait before each message, sending them one after the other as the drain does."""
    waits = []
    for chat in chats:
        waits.append(limiter.delay(chat))
        clock.sleep(waits[-1])
        limiter.take(chat)
    return waits


def test_pacing_allows_a_short_burst_then_one_message_per_second_per_chat():
    clock = FakeClock()
    limiter = ChatRateLimiter(clock)

    assert paced_waits(limiter, clock, ["111"] * 5) == [0, 0, 0, 1.0, 1.0]
    assert paced_waits(limiter, clock, ["-222"] * 4) == [0, 0, 0, pytest.approx(3.0)]  # 20 a minute in a group


def test_pacing_keeps_the_overall_rate_under_30_per_second():
    clock = FakeClock()

    waits = paced_waits(ChatRateLimiter(clock), clock, [str(chat) for chat in range(1, 23)])

    assert waits[:20] == [0] * 20 and waits[20:] == [pytest.approx(1 / 30)] * 2


def test_asking_for_the_delay_spends_nothing():
    clock = FakeClock()
    limiter = ChatRateLimiter(clock)
    paced_waits(limiter, clock, ["111"] * 3)

    for _ in range(5):
        assert limiter.delay("111") == 1.0  # a drain that stops on its budget loses no slot

    assert paced_waits(limiter, clock, ["111"] * 2) == [1.0, 1.0]


def test_the_drain_sleeps_out_the_pacing_on_its_clock(db, rig):
    record(db, [SCORE, EVENTS["injury"], EVENTS["kalshi_price"], EVENTS["system"], EVENTS["market_reaction"]])

    report = rig.notifier(db).drain(60)

    assert report.sent == 5 and rig.clock.sleeps == [1.0, 1.0]


def test_the_fake_enforces_telegrams_flood_limits():
    from nfl_sync.domain.pacing import TELEGRAM_FLOOD_LIMITS

    with TelegramRig(limits=TELEGRAM_FLOOD_LIMITS) as rig:
        channel = rig.channel()
        for _ in range(5):
            channel.send("111", "burst", None)
        with pytest.raises(RetryLater) as flood:
            channel.send("111", "one too many", None)

    assert flood.value.retry_after == 1


def test_the_fake_takes_json_and_query_parameters_and_any_method_case():
    with FakeTelegramServer(TELEGRAM_TOKEN) as server:
        base = f"{server.api_base_url}{TELEGRAM_TOKEN}"
        body = json.dumps({"chat_id": 111, "text": "<b>json</b>", "parse_mode": "HTML"}).encode()
        as_json = urllib.request.Request(f"{base}/SENDMESSAGE", body, {"Content-Type": "application/json"})
        answers = [
            json.load(urllib.request.urlopen(as_json)),
            json.load(urllib.request.urlopen(f"{base}/sendMessage?chat_id=-222&text=query")),
        ]

    assert [a["result"]["chat"]["type"] for a in answers] == ["private", "group"]
    assert [(m.chat_id, m.visible_text) for m in server.messages] == [("111", "json"), ("-222", "query")]
