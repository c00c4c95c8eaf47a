"""Each alert fanned out to the chats it concerns, recorded with it and delivered by the sender
through python-telegram-bot to the fake Bot API server."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from alert_cases import CONFIG
from helpers import TELEGRAM_TOKEN, alert_events, alert_rows, delivery_rows
from nfl_sync.alerts.outbox import AlertOutbox
from nfl_sync.alerts.service import register_admin_chats
from nfl_sync.config import load_settings

ADMIN = "111"
FAN = "333"  # a chat that subscribed through the bot and follows DAL


def outbox():
    return AlertOutbox(CONFIG, "HTML", "telegram", admin_chats=(ADMIN,))


def game_events(now, game_id, away, home):
    """One event of each team alert type for the game `away` @ `home` (keys of their own)."""
    events = []
    for kind, event in alert_events(now, text="").items():
        if kind == "system":
            continue
        data = replace(
            event.data, **{f: v for f, v in (("home_team", home), ("away_team", away)) if hasattr(event.data, f)}
        )
        if hasattr(data, "team"):
            data = replace(data, team=away)
        if hasattr(data, "game_id"):
            data = replace(data, game_id=game_id)
        events.append(replace(event, key=f"{event.key}:{game_id}", game_id=game_id, data=data, family=None))
    return events


def subscribe_fan(db, now, **settings):
    def write(tx):
        tx.chats.configure_access([ADMIN], True, now)
        assert tx.chats.register(FAN, "Cowboys fans", False, now)
        tx.chats.follow(FAN, ["DAL"])
        if "mute_until" in settings:
            tx.chats.mute_until(FAN, settings["mute_until"])

    db.run(write)


def texts(server, chat_id):
    return [message.visible_text for message in server.messages_to(chat_id)]


def test_a_chat_following_dal_receives_only_dal_s_alerts(db, rig):
    now = rig.clock.now()
    subscribe_fan(db, now)
    dallas = game_events(now, "401772001", "DAL", "PHI")
    others = game_events(now, "401772002", "KC", "BUF")

    db.run(lambda tx: outbox().record_events(tx, dallas + others, now))
    report = rig.notifier(db, chats=(ADMIN,)).drain(60)

    by_key = {row["alert_key"]: row for row in alert_rows(db)}
    assert report.sent == len(dallas) + len(dallas + others)
    assert sorted(m.text for m in rig.server.messages_to(FAN)) == sorted(by_key[e.key]["message"] for e in dallas)
    assert len(rig.server.messages_to(ADMIN)) == len(dallas + others)
    deliveries = {(d["alert_id"], d["chat_id"]) for d in delivery_rows(db)}
    for event in dallas:
        assert (by_key[event.key]["id"], FAN) in deliveries
    for event in others:
        assert (by_key[event.key]["id"], FAN) not in deliveries
    assert {row["status"] for row in by_key.values()} == {"sent"}


def test_a_muted_chat_receives_nothing_until_the_clock_passes_the_mute(db, rig):
    start = rig.clock.now()
    subscribe_fan(db, start, mute_until=start + timedelta(hours=2))
    notifier = rig.notifier(db, chats=(ADMIN,))
    first, second, third = (game_events(start, f"40177200{n}", "DAL", "PHI")[:1] for n in (1, 2, 3))

    db.run(lambda tx: outbox().record_events(tx, first, rig.clock.now()))
    notifier.drain(10)
    rig.clock.advance(2 * 3600 - 1)
    db.run(lambda tx: outbox().record_events(tx, second, rig.clock.now()))
    notifier.drain(10)
    assert texts(rig.server, FAN) == []
    assert len(texts(rig.server, ADMIN)) == 2

    rig.clock.advance(1)
    db.run(lambda tx: outbox().record_events(tx, third, rig.clock.now()))
    notifier.drain(10)
    assert len(texts(rig.server, FAN)) == 1


def test_system_alerts_reach_the_admins_only(db, rig):
    now = rig.clock.now()
    subscribe_fan(db, now)
    db.run(lambda tx: tx.chats.unfollow(FAN, None))  # even a chat following every team

    db.run(lambda tx: outbox().record_events(tx, [alert_events(now)["system"]], now))
    rig.notifier(db, chats=(ADMIN,)).drain(10)

    assert len(texts(rig.server, ADMIN)) == 1 and "Authentication failed" in texts(rig.server, ADMIN)[0]
    assert texts(rig.server, FAN) == []


def test_an_alert_no_chat_gets_is_suppressed_with_the_reason_and_has_no_delivery(db, rig):
    now = rig.clock.now()
    subscribe_fan(db, now)
    db.run(lambda tx: tx.chats.follow(ADMIN, ["NYG"]))
    [event] = game_events(now, "401772002", "KC", "BUF")[:1]

    [recorded] = db.run(lambda tx: outbox().record_events(tx, [event], now))
    rig.notifier(db, chats=(ADMIN,)).drain(10)

    assert not recorded.decision.send
    assert [(r["status"], r["reason"]) for r in alert_rows(db)] == [("suppressed", "no_recipients: other_teams 2")]
    assert delivery_rows(db) == [] and rig.server.messages == []


def test_without_subscriptions_every_configured_chat_gets_every_alert(db, rig):
    now = rig.clock.now()
    settings = load_settings(
        env={
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_CHAT_ID": "111,222",
            "TELEGRAM_API_BASE_URL": rig.server.api_base_url,
            "TIMEZONE": "America/New_York",
        }
    )
    events = list(alert_events(now).values())

    db.run(lambda tx: AlertOutbox.from_settings(settings).record_events(tx, events, now))
    rig.notifier(db, chats=("111", "222")).drain(60)

    assert len(texts(rig.server, "111")) == len(texts(rig.server, "222")) == len(events)
    assert {(r["status"], r["fanned_out"]) for r in alert_rows(db)} == {("sent", True)}


def test_start_up_registers_the_configured_chats_as_admins_and_refuses_others_by_default(db, rig):
    settings = load_settings(env={"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_CHAT_ID": "111,222"})
    assert settings.telegram_allow_new_chats is False

    register_admin_chats(settings, db, rig.clock.now())
    register_admin_chats(settings, db, rig.clock.now())

    subscribers = db.run(lambda tx: tx.chats.subscribers())
    assert [(chat.chat_id, chat.is_admin) for chat in subscribers] == [("111", True), ("222", True)]
    assert db.run(lambda tx: tx.chats.register("999", "someone", False, rig.clock.now())) is False


def test_a_subscriber_that_blocked_the_bot_fails_alone_and_does_not_mark_the_daemon_unhealthy(db, rig):
    now = rig.clock.now()
    subscribe_fan(db, now)
    rig.server.blocked_chats.add(FAN)
    notifier = rig.notifier(db, chats=(ADMIN,))

    db.run(lambda tx: outbox().record_events(tx, game_events(now, "401772001", "DAL", "PHI")[:1], now))
    notifier.drain(10)

    assert {d["chat_id"]: d["status"] for d in delivery_rows(db)} == {ADMIN: "sent", FAN: "failed"}
    assert [r["status"] for r in alert_rows(db)] == ["sent"]
    assert notifier.broken_chats == {}
