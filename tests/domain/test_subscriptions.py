"""Which chats an alert goes to: teams followed, alert types, quiet hours, mutes, admins (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpers import alert_events
from nfl_sync.domain.events import AlertType, Priority
from nfl_sync.domain.subscriptions import (
    ADMINS_ONLY,
    GAME_MUTED,
    MUTED,
    OTHER_TEAMS,
    QUIET,
    TYPE_OFF,
    ChatSettings,
    event_teams,
    exclusion,
    no_recipients_reason,
    recipients,
)

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # 13:00 in New York
# KC @ BUF, game 401547417: one event of each type, as detection builds them.
EVENTS = alert_events(NOW, text="")
TEAM_TYPES = [kind for kind in EVENTS if kind != AlertType.SYSTEM]


def test_an_event_concerns_the_teams_its_data_names_in_canonical_spelling():
    assert event_teams(EVENTS["score"]) == {"BUF", "KC"}
    assert event_teams(EVENTS["injury"]) == {"KC"}
    assert event_teams(EVENTS["system"]) == frozenset()
    washington = replace(EVENTS["edge"], data=replace(EVENTS["edge"].data, home_team="WAS", team="Commanders"))
    assert event_teams(washington) == {"WSH", "KC"}


@pytest.mark.parametrize("kind", TEAM_TYPES)
def test_a_chat_following_one_of_the_game_s_teams_gets_each_of_its_alerts(kind):
    chats = [ChatSettings("kc", teams=frozenset({"KC"})), ChatSettings("dal", teams=frozenset({"DAL"}))]

    assert recipients(EVENTS[kind], chats, NOW, NEW_YORK) == ["kc"]
    assert exclusion(EVENTS[kind], chats[1], NOW, NEW_YORK) == OTHER_TEAMS


@pytest.mark.parametrize("kind", TEAM_TYPES)
def test_a_chat_following_no_team_gets_every_team_s_alerts(kind):
    assert recipients(EVENTS[kind], [ChatSettings("all")], NOW, NEW_YORK) == ["all"]


def test_team_names_match_in_any_source_s_spelling():
    score = replace(EVENTS["score"], data=replace(EVENTS["score"].data, home_team="WSH", away_team="DAL"))

    assert recipients(score, [ChatSettings("fan", teams=frozenset({"WAS"}))], NOW, NEW_YORK) == ["fan"]


@pytest.mark.parametrize("kind", ["kalshi_price", "market_reaction"])
def test_a_market_alert_that_names_only_its_game_concerns_the_game_s_teams(kind):
    event = EVENTS[kind]
    bare = replace(event, data=replace(event.data, home_team=None, away_team=None))
    chats = [ChatSettings("buf", teams=frozenset({"BUF"}))]

    assert recipients(bare, chats, NOW, NEW_YORK) == []  # nothing says which teams
    assert recipients(bare, chats, NOW, NEW_YORK, teams={"BUF", "KC"}) == ["buf"]


def test_system_alerts_reach_admin_chats_only_whatever_teams_they_follow():
    chats = [
        ChatSettings("admin", is_admin=True, teams=frozenset({"DAL"})),
        ChatSettings("fan"),
    ]

    assert recipients(EVENTS["system"], chats, NOW, NEW_YORK) == ["admin"]
    assert exclusion(EVENTS["system"], chats[1], NOW, NEW_YORK) == ADMINS_ONLY


def test_an_admin_gets_system_alerts_whatever_it_muted_or_switched_off():
    # What /alerts off kalshi_price stores: the choosable types, which never include system.
    chosen = ChatSettings("admin", is_admin=True, alert_types=frozenset({"score", "injury"}))
    muted = ChatSettings("admin", is_admin=True, muted_until=NOW + timedelta(days=7), muted_games=frozenset({"1"}))

    assert exclusion(EVENTS["system"], chosen, NOW, NEW_YORK) is None
    assert exclusion(EVENTS["system"], muted, NOW, NEW_YORK) is None
    assert exclusion(EVENTS["kalshi_price"], chosen, NOW, NEW_YORK) == TYPE_OFF


@pytest.mark.parametrize("kind", list(EVENTS))
def test_a_chat_gets_only_the_alert_types_it_chose(kind):
    chat = ChatSettings("c", alert_types=frozenset({"score"}))

    expected = None if kind == "score" else ADMINS_ONLY if kind == "system" else TYPE_OFF
    assert exclusion(EVENTS[kind], chat, NOW, NEW_YORK) == expected


@pytest.mark.parametrize("kind", [kind for kind in EVENTS if kind != "system"])  # system: see above
def test_a_muted_chat_gets_nothing_until_the_mute_ends(kind):
    chat = ChatSettings("c", muted_until=NOW + timedelta(hours=2))

    assert exclusion(EVENTS[kind], chat, NOW, NEW_YORK) == MUTED
    assert exclusion(EVENTS[kind], chat, NOW + timedelta(hours=2, seconds=-1), NEW_YORK) == MUTED
    assert exclusion(EVENTS[kind], chat, NOW + timedelta(hours=2), NEW_YORK) is None


@pytest.mark.parametrize("kind", TEAM_TYPES)
def test_a_muted_game_s_alerts_stay_away_and_other_games_still_arrive(kind):
    muted = ChatSettings("c", muted_games=frozenset({"401547417"}))
    other = replace(EVENTS[kind], game_id="401547999", data=_other_game(EVENTS[kind].data))

    assert exclusion(EVENTS[kind], muted, NOW, NEW_YORK) == GAME_MUTED
    assert exclusion(other, muted, NOW, NEW_YORK) is None


def _other_game(data):
    return replace(data, game_id="401547999") if hasattr(data, "game_id") else data


@pytest.mark.parametrize("kind", list(EVENTS))
@pytest.mark.parametrize("priority", list(Priority))
def test_in_a_chat_s_quiet_hours_only_high_priority_arrives(kind, priority):
    # 13:00 in New York: inside 12:00-14:00, outside 22:00-07:00 (a window past midnight).
    event = replace(EVENTS[kind], priority=priority)
    quiet = ChatSettings("c", is_admin=True, quiet_hours=(time(12), time(14)))
    night = ChatSettings("n", is_admin=True, quiet_hours=(time(22), time(7)))

    assert exclusion(event, quiet, NOW, NEW_YORK) == (None if priority == Priority.HIGH else QUIET)
    assert exclusion(event, night, NOW, NEW_YORK) is None
    assert exclusion(event, night, NOW + timedelta(hours=12), NEW_YORK) == (
        None if priority == Priority.HIGH else QUIET
    )


def test_an_alert_no_chat_gets_says_how_many_chats_each_rule_kept_it_from():
    chats = [
        ChatSettings("a", teams=frozenset({"DAL"})),
        ChatSettings("b", teams=frozenset({"PHI"})),
        ChatSettings("c", muted_until=NOW + timedelta(minutes=5)),
    ]

    assert recipients(EVENTS["score"], chats, NOW, NEW_YORK) == []
    assert no_recipients_reason(EVENTS["score"], chats, NOW, NEW_YORK) == "no_recipients: muted 1, other_teams 2"
    assert no_recipients_reason(EVENTS["score"], [], NOW, NEW_YORK) == "no_recipients: no chat is subscribed"
