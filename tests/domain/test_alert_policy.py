"""alert_policy: pure decisions (dedup, cooldown, quiet hours, daily limit) on an injected `now`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpers import alert_events
from nfl_sync.alerts.outbox import policy_config
from nfl_sync.config import load_settings
from nfl_sync.domain.alert_policy import (
    DUPLICATE,
    SEND,
    SUPPRESS,
    Decision,
    History,
    PolicyConfig,
    day_start,
    decide,
    in_quiet_hours,
)
from nfl_sync.domain.events import ALERT_TYPES, system_event
from nfl_sync.domain.pacing import is_group_chat

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # 1 PM in New York
CONFIG = PolicyConfig(cooldowns=dict.fromkeys(ALERT_TYPES, 300), daily_limit=100, quiet_hours=None, timezone=NEW_YORK)
EVENTS = alert_events(NOW)
PRICE, SCORE, PLAY = EVENTS["kalshi_price"], EVENTS["score"], EVENTS["significant_play"]


def test_a_new_event_is_sent():
    assert decide(PRICE, History(), NOW, CONFIG) == Decision(SEND)


def test_a_key_already_decided_is_a_duplicate():
    decision = decide(SCORE, History(keys=frozenset({SCORE.key})), NOW, CONFIG)

    assert decision.action == DUPLICATE


@pytest.mark.parametrize("age, action", [(299, SUPPRESS), (300, SEND), (3600, SEND)])
def test_cooldown_suppresses_the_same_family_within_its_window(age, action):
    history = History(last_alert_at={PRICE.family: NOW - timedelta(seconds=age)})

    decision = decide(PRICE, history, NOW, CONFIG)

    assert decision.action == action
    if action == SUPPRESS:
        assert decision.rule == "cooldown"
        assert decision.reason == f"cooldown: {PRICE.family} alerted 299 s ago (cooldown 300 s)"


def test_cooldown_is_configured_per_alert_type():
    config = replace(CONFIG, cooldowns={**CONFIG.cooldowns, "kalshi_price": 60})
    history = History(last_alert_at={PRICE.family: NOW - timedelta(seconds=61)})

    assert decide(PRICE, history, NOW, config).send
    assert not decide(
        EVENTS["injury"], History(last_alert_at={EVENTS["injury"].family: NOW - timedelta(seconds=61)}), NOW, config
    ).send


def test_another_family_is_not_cooled_down():
    history = History(last_alert_at={"price:OTHER-TICKER": NOW})

    assert decide(PRICE, history, NOW, CONFIG).send


@pytest.mark.parametrize("event", [SCORE, PLAY], ids=["score", "turnover"])
def test_cooldown_never_suppresses_a_new_score_or_turnover(event):
    family = "game:401547417"
    history = History(last_alert_at={family: NOW - timedelta(seconds=1)})

    assert decide(replace(event, family=family), history, NOW, CONFIG).send


def test_a_lane_warning_never_holds_back_its_critical_alert_nor_another_games_warning():
    warning = system_event("warning", "plays", "game 1 failing", NOW, "1:a", subject="401547417")
    history = History().after(warning, decide(warning, History(), NOW, CONFIG), NOW)
    later = NOW + timedelta(seconds=60)

    critical = system_event("critical", "plays", "5 consecutive plays steps failed", later, "episode")
    other_game = system_event("warning", "plays", "game 2 failing", later, "2:a", subject="401547602")
    same_game = system_event("warning", "plays", "game 1 failing again", later, "1:b", subject="401547417")
    assert decide(critical, history, later, CONFIG).send
    assert decide(other_game, history, later, CONFIG).send
    assert not decide(same_game, history, later, CONFIG).send


def test_events_without_a_family_are_never_cooled_down():
    reaction = EVENTS["market_reaction"]

    assert reaction.family is None
    assert decide(reaction, History(last_alert_at={None: NOW}), NOW, CONFIG).send


def test_daily_limit_suppresses_all_but_high_priority():
    history = History(alerts_today=100)

    medium = decide(PRICE, history, NOW, CONFIG)

    assert medium.action == SUPPRESS
    assert medium.reason == "daily_limit: 100 alerts today, limit 100"
    assert decide(SCORE, history, NOW, CONFIG).send
    assert decide(PRICE, History(alerts_today=99), NOW, CONFIG).send


def test_a_daily_limit_of_zero_means_no_limit():
    assert decide(PRICE, History(alerts_today=10_000), NOW, replace(CONFIG, daily_limit=0)).send


@pytest.mark.parametrize("utc_hour, quiet", [(3, False), (4, True), (11, True), (12, False)])
def test_quiet_hours_wrap_midnight_in_the_configured_zone(utc_hour, quiet):
    # 23:00-07:00 New York time is 04:00-12:00 UTC in November.
    config = replace(CONFIG, quiet_hours=(time(23, 0), time(7, 0)))
    now = NOW.replace(hour=utc_hour, minute=30 if utc_hour == 3 else 0)

    medium = decide(PRICE, History(), now, config)

    assert medium.action == (SUPPRESS if quiet else SEND)
    assert decide(SCORE, History(), now, config).send
    if quiet:
        assert medium.reason == "quiet_hours: 23:00-07:00, only high priority goes out"


def test_quiet_hours_within_one_day():
    window = (time(13, 0), time(14, 0))

    assert in_quiet_hours(NOW, window, NEW_YORK)
    assert not in_quiet_hours(NOW, window, ZoneInfo("UTC"))


def test_disabled_alert_types_are_suppressed_even_when_high():
    decision = decide(SCORE, History(disabled_types=frozenset({"score"})), NOW, CONFIG)

    assert decision.rule == "disabled"


def test_the_first_matching_rule_is_the_recorded_reason():
    config = replace(CONFIG, quiet_hours=(time(0, 0), time(23, 59)))
    history = History(last_alert_at={PRICE.family: NOW}, alerts_today=500)

    assert decide(PRICE, history, NOW, config).rule == "cooldown"
    assert decide(PRICE, replace(history, last_alert_at={}), NOW, config).rule == "quiet_hours"


def test_history_after_folds_a_batch_so_events_of_one_cycle_see_each_other():
    second_spike = replace(PRICE, key=PRICE.key + "-next")
    history = History(alerts_today=3)

    first = decide(PRICE, history, NOW, CONFIG)
    history = history.after(PRICE, first, NOW)
    second = decide(second_spike, history, NOW, CONFIG)
    history = history.after(second_spike, second, NOW)

    assert first.send and second.rule == "cooldown"
    assert history.keys == {PRICE.key, second_spike.key}
    assert history.alerts_today == 4  # the suppressed one is not counted
    assert history.last_alert_at == {PRICE.family: NOW}


@pytest.mark.parametrize(
    "now, start",
    [
        (datetime(2026, 11, 24, 3, 0, tzinfo=UTC), datetime(2026, 11, 23, 5, 0, tzinfo=UTC)),
        (datetime(2026, 11, 24, 5, 0, tzinfo=UTC), datetime(2026, 11, 24, 5, 0, tzinfo=UTC)),
        # 1 November 2026: the day daylight saving time ends began at midnight EDT (UTC-4).
        (datetime(2026, 11, 1, 17, 0, tzinfo=UTC), datetime(2026, 11, 1, 4, 0, tzinfo=UTC)),
    ],
)
def test_the_day_of_the_daily_limit_starts_at_local_midnight(now, start):
    assert day_start(now, NEW_YORK) == start


def test_policy_config_comes_from_settings():
    settings = load_settings(
        env={
            "ALERT_COOLDOWN_SECONDS": "120",
            "ALERT_COOLDOWN_KALSHI_PRICE": "30",
            "DAILY_ALERT_LIMIT": "40",
            "QUIET_HOURS": "22:30-06:00",
            "TIMEZONE": "America/Chicago",
        }
    )

    config = policy_config(settings)

    assert config.cooldowns["kalshi_price"] == 30 and config.cooldowns["injury"] == 120
    assert (config.daily_limit, config.quiet_hours) == (40, (time(22, 30), time(6, 0)))
    assert config.timezone == ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    "chat_id, group", [("123456789", False), ("-987654321", True), ("-1001234567890", True), ("@nfl_alerts", True)]
)
def test_group_chats_are_told_from_private_ones(chat_id, group):
    assert is_group_chat(chat_id) is group
