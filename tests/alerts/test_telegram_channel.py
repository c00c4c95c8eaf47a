"""The Telegram channel through the real python-telegram-bot client against the fake Bot API on
loopback (HTTP/1.1 keep-alive, form-encoded bodies): what Telegram receives, the token kept
secret, and the `telegram --test` diagnosis."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from alert_cases import EVENTS, NEW_YORK, NOW, SCORE, record
from helpers import (
    HOSTILE,
    TELEGRAM_TOKEN,
    TelegramRig,
    alert_rows,
    delivery_rows,
)
from nfl_replay.telegram_server import FakeTelegramServer
from nfl_sync.alerts.channel import ChannelUnavailable
from nfl_sync.cli import main
from nfl_sync.domain.events import ALERT_TYPES
from nfl_sync.domain.markup import to_plain
from nfl_sync.logging_setup import redact

# --- templates through the Bot API ----------------------------------------------------------


@pytest.mark.parametrize("parse_mode", ["HTML", "MarkdownV2"])
def test_every_template_is_accepted_and_read_as_written(db, rig, parse_mode):
    record(db, list(EVENTS.values()), parse_mode)

    report = rig.notifier(db).drain(60)

    assert report.sent == len(ALERT_TYPES) and report.failed == 0
    messages = rig.server.messages
    assert [m.parse_mode for m in messages] == [parse_mode] * len(ALERT_TYPES)
    by_message = {row["external_message_id"]: row for row in alert_rows(db)}
    assert len(by_message) == len(messages)
    for message in messages:
        row = by_message[str(message.message_id)]
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
            "🚨 SYSTEM CRITICAL",  # high priority before medium
            "📈 KALSHI PRICE MOVEMENT",
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
