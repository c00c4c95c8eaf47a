"""tx.chats against the real PostgreSQL: who may use the bot, and each chat's settings."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from helpers import rows
from nfl_sync.domain.subscriptions import ChatSettings

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def access(db, admins, allow_new_chats):
    db.run(lambda tx: tx.chats.configure_access(admins, allow_new_chats, NOW))


def register(db, chat_id, title=None, is_admin=False):
    return db.run(lambda tx: tx.chats.register(chat_id, title, is_admin, NOW))


def chat(db, chat_id):
    return db.run(lambda tx: tx.chats.chat(chat_id))


def test_configured_chats_are_admins_and_other_chats_are_refused_unless_new_chats_are_allowed(db):
    access(db, ["111"], allow_new_chats=False)

    assert chat(db, "111") == ChatSettings("111", is_admin=True)
    assert register(db, "999", "Strangers") is False
    assert chat(db, "999") is None
    # The refusal is kept, so an administrator can see who asked.
    assert rows(db, "SELECT title, allowed FROM nfl_chats WHERE chat_id = '999'") == [
        {"title": "Strangers", "allowed": False}
    ]

    access(db, ["111"], allow_new_chats=True)
    assert register(db, "999") is True
    assert chat(db, "999") == ChatSettings("999")
    assert [c.chat_id for c in db.run(lambda tx: tx.chats.subscribers())] == ["111", "999"]


def test_switching_new_chats_off_shuts_them_out_without_forgetting_their_settings(db):
    access(db, ["111"], allow_new_chats=True)
    register(db, "999")
    db.run(lambda tx: tx.chats.follow("999", ["DAL"]))

    access(db, ["111"], allow_new_chats=False)
    assert chat(db, "999") is None
    assert register(db, "999") is False
    assert [c.chat_id for c in db.run(lambda tx: tx.chats.subscribers())] == ["111"]

    access(db, ["111"], allow_new_chats=True)
    assert chat(db, "999").teams == {"DAL"}


def test_a_chat_left_out_of_the_configured_ones_is_no_admin_any_more(db):
    access(db, ["111", "222"], allow_new_chats=False)
    access(db, ["222"], allow_new_chats=False)

    assert chat(db, "111") is None
    assert chat(db, "222").is_admin
    # A later register without the admin flag does not demote a configured chat.
    assert register(db, "222", "Ops") is True and chat(db, "222").is_admin


def test_settings_round_trip_and_repeats_change_nothing(db):
    access(db, ["111"], allow_new_chats=False)
    until = NOW + timedelta(hours=2)

    def configure(tx):
        tx.chats.follow("111", ["PHI", "DAL"])
        tx.chats.follow("111", ["DAL", "KC"])
        tx.chats.unfollow("111", ["PHI"])
        tx.chats.set_alert_types("111", ["score", "edge"])
        tx.chats.set_quiet("111", time(23), time(7))
        tx.chats.mute_until("111", until)
        tx.chats.mute_game("111", "401547417")
        tx.chats.mute_game("111", "401547417")

    db.run(configure)
    expected = ChatSettings(
        "111",
        is_admin=True,
        teams=frozenset({"DAL", "KC"}),
        alert_types=frozenset({"score", "edge"}),
        quiet_hours=(time(23), time(7)),
        muted_until=until,
        muted_games=frozenset({"401547417"}),
    )
    assert chat(db, "111") == expected
    stamp = rows(db, "SELECT updated_at FROM nfl_chats")

    def repeat(tx):
        tx.chats.follow("111", ["KC"])
        tx.chats.unfollow("111", ["PHI"])
        tx.chats.set_alert_types("111", ["edge", "score"])
        tx.chats.set_quiet("111", time(23), time(7))
        tx.chats.mute_until("111", until)
        tx.chats.mute_game("111", "401547417")
        tx.chats.register("111", None, True, NOW)

    db.run(repeat)
    assert chat(db, "111") == expected
    assert rows(db, "SELECT updated_at FROM nfl_chats") == stamp  # nothing was rewritten

    def clear(tx):
        tx.chats.unfollow("111", None)
        tx.chats.set_alert_types("111", None)
        tx.chats.set_quiet("111", None)
        tx.chats.mute_until("111", None)

    db.run(clear)
    assert chat(db, "111") == ChatSettings("111", is_admin=True, muted_games=frozenset({"401547417"}))
    db.run(lambda tx: tx.chats.unmute_games("111"))
    assert chat(db, "111") == ChatSettings("111", is_admin=True)


def test_settings_of_an_unknown_chat_are_not_written(db):
    db.run(lambda tx: tx.chats.follow("404", ["DAL"]))

    assert rows(db, "SELECT * FROM nfl_chats") == []
