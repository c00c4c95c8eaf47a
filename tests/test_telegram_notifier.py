"""TelegramNotifier and its channels, through the real python-telegram-bot client against the
fake Bot API on loopback (HTTP/1.1 keep-alive, form-encoded bodies), on a real PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from helpers import HOSTILE, TELEGRAM_TOKEN, FakeClock, TelegramRig, alert_events, fixture_path
from nfl_replay.http import Response
from nfl_replay.telegram_server import FakeTelegramServer, Hold, recorded_error, telegram_error
from nfl_sync.alerts.channel import ChannelUnavailable, PermanentFailure, RetryLater
from nfl_sync.alerts.console import ConsoleChannel
from nfl_sync.alerts.outbox import AlertOutbox
from nfl_sync.alerts.sender import ChatRateLimiter
from nfl_sync.alerts.service import AlertService, build_notifier
from nfl_sync.cli import main
from nfl_sync.config import load_settings
from nfl_sync.domain.alert_policy import PolicyConfig
from nfl_sync.domain.alert_templates import RESEND_NOTICE, to_plain
from nfl_sync.domain.events import ALERT_TYPES
from nfl_sync.logging_setup import redact
from nfl_sync.metrics import Metrics

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
CONFIG = PolicyConfig(cooldowns={}, daily_limit=100, quiet_hours=None, timezone=NEW_YORK)
EVENTS = alert_events(NOW)
SCORE = EVENTS["score"]


def recorded(name: str) -> Response:
    return recorded_error(fixture_path("telegram", name).read_bytes())


def record(db, events, parse_mode="HTML", channel="telegram"):
    outbox = AlertOutbox(CONFIG, parse_mode, channel)
    return db.run(lambda tx: outbox.record_events(tx, events, NOW))


def query(db, sql):
    return db.run(lambda tx: (tx.cur.execute(sql), tx.cur.fetchall())[1])


def alert_rows(db):
    return query(db, "SELECT * FROM nfl_alert_history ORDER BY id")


def delivery_rows(db):
    return query(db, "SELECT * FROM nfl_alert_deliveries ORDER BY alert_id, chat_id")


def sends(server):
    return [r for r in server.requests if r.path.lower().endswith("/sendmessage")]


@pytest.fixture
def rig():
    with TelegramRig() as rig:
        yield rig


# --- templates through the Bot API ----------------------------------------------------------


@pytest.mark.parametrize("parse_mode", ["HTML", "MarkdownV2"])
def test_every_template_is_accepted_and_read_as_written(db, rig, parse_mode):
    record(db, list(EVENTS.values()), parse_mode)

    report = rig.notifier(db).drain(60)

    assert report.sent == len(ALERT_TYPES) and report.failed == 0
    messages = rig.server.messages
    assert [m.parse_mode for m in messages] == [parse_mode] * len(ALERT_TYPES)
    for message, row in zip(messages, alert_rows(db), strict=False):
        assert message.visible_text == to_plain(row["message"], parse_mode)
        assert HOSTILE in message.visible_text
        assert (row["status"], row["external_message_id"]) == ("sent", str(message.message_id))


def test_the_bot_says_getme_first_then_posts_form_encoded_messages(db, rig):
    record(db, [SCORE])

    rig.notifier(db).drain(60)

    first, second = rig.server.requests
    assert first.path.endswith("/getMe")
    headers = {name.lower(): value for name, value in second.headers.items()}
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert second.body.startswith(b"chat_id=111&text=")


def test_every_chat_gets_every_alert_in_order(db, rig):
    record(db, [SCORE, EVENTS["kalshi_price"], EVENTS["system"]])

    rig.notifier(db, chats=("111", "-222", "333")).drain(60)

    for chat in ("111", "-222", "333"):
        assert [m.visible_text.split("\n")[0] for m in rig.server.messages_to(chat)] == [
            "🏈 SCORE UPDATE",
            "📈 KALSHI PRICE MOVEMENT",
            "🚨 SYSTEM CRITICAL",
        ]
    assert [r["status"] for r in alert_rows(db)] == ["sent"] * 3


def test_sends_from_several_threads_share_the_one_bot_loop(rig):
    channel = rig.channel(("111", "222", "333", "444"))
    results = {}

    def send(chat):
        results[chat] = channel.send(chat, f"hello {chat}", None)

    threads = [threading.Thread(target=send, args=(chat,)) for chat in channel.chat_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == dict.fromkeys(channel.chat_ids, "1")


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


# --- the token stays secret -----------------------------------------------------------------


def test_the_token_is_in_no_log_record_and_no_stored_error(db, caplog):
    wrong_token = "987654321:AAHwrong-Token-For-Tests_0123456789abcd"
    record(db, [SCORE])
    with TelegramRig() as rig, caplog.at_level(logging.DEBUG):
        rig.notifier(db, chats=("111",)).drain(60)  # a good token: every request URL has it
        rejected = rig.notifier(db, channel=rig.channel(token=wrong_token))
        record(db, [EVENTS["system"]])
        report = rejected.drain(60)

    assert report.backlog and alert_rows(db)[1]["status"] == "pending"
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert "getMe" in logged and "sendMessage" in logged  # the libraries did log their URLs
    assert TELEGRAM_TOKEN not in logged and wrong_token not in logged
    stored = json.dumps([dict(row) for row in alert_rows(db) + delivery_rows(db)], default=str)
    assert "rejected by the server" in stored and wrong_token not in stored


def test_a_rejected_token_leaves_alerts_pending_and_rests_the_channel(db):
    record(db, [SCORE])
    with TelegramRig() as rig:
        notifier = rig.notifier(db, channel=rig.channel(token="1234567:wrong"))
        with pytest.raises(ChannelUnavailable):
            rig.channel(token="1234567:wrong").send("111", "x", None)

        notifier.drain(60)
        requests_after_first = len(rig.server.requests)
        notifier.drain(5)

        assert len(rig.server.requests) == requests_after_first  # paused: no hammering
    assert [(d["status"], d["attempts"]) for d in delivery_rows(db)] == [("pending", 0)]


def test_redact_hides_registered_secrets_and_anything_shaped_like_a_token():
    url = "https://api.telegram.org/bot110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage"

    assert redact(url) == "https://api.telegram.org/bot<redacted>/sendMessage"


# --- --test ---------------------------------------------------------------------------------


def test_connection_check_reports_a_working_setup(rig):
    lines = []

    ok = rig.channel(("111",)).test_connection("MarkdownV2", NEW_YORK, NOW, lines.append)

    assert ok
    assert lines[1] == "✓ Token accepted (getMe): bot @RogerLoggerBot (id 2084591315)"
    assert lines[2] == "✓ Chat 111: test message delivered (message id 1)"
    assert "KC -3.5 @ BUF (o/u 47.5)! <b>&</b> works." in rig.server.messages[0].visible_text


@pytest.mark.parametrize(
    "setup, expected",
    [
        ("token", "✗ The bot token was rejected"),
        ("chat", "✗ Chat 999: chat not found (400): check TELEGRAM_CHAT_ID"),
        ("blocked", "✗ Chat 111: the bot was blocked by the user or removed from the chat (403)"),
    ],
)
def test_connection_check_diagnoses_token_chat_and_blocked_bot(setup, expected):
    lines = []
    with TelegramRig(known_chats={"111"}) as rig:
        rig.server.blocked_chats.add("111")
        channel = rig.channel(
            ("999",) if setup == "chat" else ("111",), token="1234567:wrong" if setup == "token" else TELEGRAM_TOKEN
        )

        ok = channel.test_connection("HTML", NEW_YORK, NOW, lines.append)

    assert not ok and lines[-1].startswith(expected)


def test_cli_test_uses_the_configured_bot_api(monkeypatch, capsys):
    with FakeTelegramServer(TELEGRAM_TOKEN) as server:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
        monkeypatch.setenv("TELEGRAM_CHAT_ID", "111,-222")
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", server.api_base_url)
        monkeypatch.setenv("TELEGRAM_ENABLED", "true")

        status = main(["telegram", "--test"])

    out = capsys.readouterr().out
    assert status == 0 and out.count("test message delivered") == 2
    assert TELEGRAM_TOKEN not in out


def test_cli_test_explains_that_telegram_is_not_configured(monkeypatch, capsys):
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("TELEGRAM_ENABLED", "true")

    assert main(["telegram", "--test"]) == 1
    assert "Telegram is not in use: TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID not set" in capsys.readouterr().out


def test_close_stops_the_loop_thread_and_can_be_repeated(rig):
    def loop_threads():
        return sum(1 for thread in threading.enumerate() if thread.name == "telegram-loop")

    channel = rig.channel()
    channel.send("111", "hi", None)
    running = loop_threads()

    channel.close()
    channel.close()

    assert loop_threads() == running - 1


# --- the daemon's alert service ---------------------------------------------------------------


def wait_until(condition, seconds=5.0):
    """Poll for what a background thread does (bounded, so a bug fails instead of hanging)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the alert sender"
        time.sleep(0.01)


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
    wait_until(lambda: len(rig.server.messages) == 2)
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
