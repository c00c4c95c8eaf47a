"""The bot's commands as text (pure): parsing, team names as people type them, the per-chat
limit, which game "the game" is, and replies that Telegram parses in every mode."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from nfl_replay.telegram_server import parse_entities
from nfl_sync.domain import command_replies as replies
from nfl_sync.domain.commands import (
    Command,
    CommandLimiter,
    GameLine,
    Verdict,
    change_alert_types,
    current_game,
    parse_command,
    parse_duration,
    parse_quiet_hours,
)
from nfl_sync.domain.markup import markup
from nfl_sync.domain.subscriptions import ChatSettings
from nfl_sync.domain.teams import all_teams, parse_teams, resolve_team

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, abbr",
    [
        ("DAL", "DAL"),
        ("dal", "DAL"),
        ("Cowboys", "DAL"),
        ("cowboy", "DAL"),
        ("Dallas Cowboys", "DAL"),
        ("the Cowboys", "DAL"),
        ("niners", "SF"),
        ("49ers", "SF"),
        ("Niners!", "SF"),
        ("WSH", "WSH"),
        ("WAS", "WSH"),
        ("commanders", "WSH"),
        ("Bucs", "TB"),
        ("Pats", "NE"),
        ("G-Men", "NYG"),
        ("gmen", "NYG"),
        ("NY Giants", "NYG"),
        ("Jags", "JAX"),
        ("JAC", "JAX"),
        ("bolts", "LAC"),
        ("LA Rams", "LAR"),
        ("St. Louis Rams", "LAR"),
        ("Green Bay", "GB"),
        ("green-bay-packers", "GB"),
        ("Fins", "MIA"),
        ("Vegas", "LV"),
        ("KC", "KC"),
        ("Chiefs", "KC"),
    ],
)
def test_resolve_team_reads_names_as_fans_type_them(text, abbr):
    team = resolve_team(text)
    assert team is not None and team.abbr == abbr


@pytest.mark.parametrize("text", ["", "  ", "New York", "NY", "birds", "foo", "the", "Los Angeles", "LA", "2", "34"])
def test_resolve_team_refuses_what_names_no_team_or_two(text):
    assert resolve_team(text) is None


def test_every_team_resolves_by_its_abbreviation_name_nickname_and_kalshi_code():
    for team in all_teams():
        for name in (team.abbr, team.name, team.nickname, team.kalshi_code, team.name.upper()):
            assert resolve_team(name) == team, name


@pytest.mark.parametrize(
    "text, abbrs, unknown",
    [
        ("DAL PHI", ["DAL", "PHI"], []),
        ("new york giants, bills", ["NYG", "BUF"], []),
        ("New England Dallas", ["NE", "DAL"], []),
        ("niners niners SF", ["SF"], []),
        ("Cowboys foo Eagles", ["DAL", "PHI"], ["foo"]),
        ("", [], []),
    ],
)
def test_parse_teams_takes_the_longest_name_and_reports_the_rest(text, abbrs, unknown):
    teams, left = parse_teams(text)
    assert ([t.abbr for t in teams], list(left)) == (abbrs, unknown)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("/follow DAL PHI", Command("follow", "DAL PHI")),
        ("/Follow@RogerLoggerBot  DAL ", Command("follow", "DAL")),
        ("/games", Command("games", "")),
        ("/status@OtherBot", None),
        ("hello", None),
        ("/", None),
    ],
)
def test_parse_command(text, expected):
    assert parse_command(text, "RogerLoggerBot") == expected


@pytest.mark.parametrize(
    "text, minutes",
    [("2h", 120), ("30m", 30), ("1h30m", 90), ("90 min", 90), ("1 day", 1440), ("2 hours", 120), ("7d", 10080)],
)
def test_parse_duration(text, minutes):
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "2", "h", "0m", "8d", "2h soon", "soon 2h", "-2h"])
def test_parse_duration_refuses_what_is_no_duration_or_too_long(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    "text, hours",
    [
        ("23:00-07:00", (time(23), time(7))),
        ("23-7", (time(23), time(7))),
        ("22:30 - 6:45", (time(22, 30), time(6, 45))),
    ],
)
def test_parse_quiet_hours(text, hours):
    assert parse_quiet_hours(text) == hours


@pytest.mark.parametrize("text", ["", "23:00", "25:00-07:00", "23:00-07:60", "7-7", "night"])
def test_parse_quiet_hours_refuses_malformed_ranges(text):
    assert parse_quiet_hours(text) is None


def test_alert_types_switch_off_and_on_by_name_or_alias():
    off = change_alert_types(None, "off kalshi_price reactions")
    assert off is not None and off.types == frozenset({"score", "significant_play", "injury", "edge"})
    back = change_alert_types(off.types, "on prices market_reaction")
    assert back is not None and back.types is None  # every type again
    assert change_alert_types(None, "off all").types == frozenset()
    assert change_alert_types(frozenset(), "on all").types is None
    assert change_alert_types(None, "off bogus").unknown == ("bogus",)
    assert change_alert_types(None, "") is None and change_alert_types(None, "off") is None


def test_the_limiter_answers_the_limit_then_one_slow_down_then_silence():
    limiter = CommandLimiter(limit=3, window=60.0)
    verdicts = [limiter.check("1", 100.0 + i) for i in range(6)]
    assert verdicts == [Verdict.ANSWER] * 3 + [Verdict.SLOW_DOWN, Verdict.IGNORE, Verdict.IGNORE]
    assert limiter.check("2", 106.0) is Verdict.ANSWER  # per chat
    assert limiter.check("1", 160.5) is Verdict.ANSWER  # the first command left the window
    limiter.forget_idle(1000.0)
    assert limiter._seen == {} and limiter._told == set()  # idle chats leave the table
    assert limiter.check("1", 1000.0) is Verdict.ANSWER


def _line(game_id, away, home, state, hours=0):
    return GameLine(
        game_id, away, home, 0, 0, state, "in" if state == "in" else state, 1, "15:00", NOW + timedelta(hours=hours)
    )


def test_current_game_is_the_live_one_else_the_next_else_unclear():
    live = _line("1", "GB", "ATL", "in")
    later = _line("2", "PHI", "DAL", "pre", 7)
    done = _line("3", "BUF", "KC", "post", -5)
    games = [done, live, later]
    assert current_game(games, ["ATL"]) == live
    assert current_game(games, ["DAL"]) == later
    assert current_game(games, ["KC"]) == done
    assert current_game(games, ["NYJ"]) is None
    assert current_game(games, []) == live  # the only live game
    assert current_game([live, _line("4", "NE", "NYJ", "in")], []) is None  # which one?


CHAT = ChatSettings("1", False, frozenset({"DAL", "SF"}), frozenset({"score"}), (time(23), time(7)))
GAMES = [
    GameLine("1", "GB", "ATL", 14, 10, "in", "in", 3, "8:24", NOW, Decimal("0.415"), {"GB": Decimal("0.61")}),
    GameLine("2", "PHI", "DAL", None, None, "pre", "scheduled", None, None, NOW + timedelta(hours=7)),
    GameLine("3", "BUF", "KC", 27, 30, "post", "final_ot", 5, "0:00", NOW - timedelta(hours=5)),
]


@pytest.mark.parametrize("parse_mode", ["HTML", "MarkdownV2", None])
def test_every_reply_parses_in_every_mode(parse_mode):
    m, tz = markup(parse_mode), ZoneInfo("America/New_York")
    texts = [
        replies.help_text(m),
        replies.welcome(m, CHAT),
        replies.refused(m),
        replies.following(m, CHAT),
        replies.followed(m, CHAT, ["<b>&", "x_y*"]),
        replies.alert_types(m, CHAT, ["bo.gus"]),
        replies.quiet_hours(m, CHAT.quiet_hours, tz, NOW),
        replies.muted(m, NOW, tz),
        replies.muted_game(m, GAMES[0]),
        replies.games(m, GAMES, tz),
        replies.slow_down(m),
    ]
    for text in texts:
        visible = parse_entities(text, parse_mode)
        assert visible.strip() and len(visible) < 1000


def test_games_reads_well_on_a_phone():
    text = replies.games(markup(None), GAMES, ZoneInfo("America/New_York"))
    assert text.split("\n") == [
        "🔴 GB 14 @ ATL 10 · Q3 - 8:24",
        "   Kalshi GB 61¢ · ESPN ATL 42%",
        "PHI @ DAL · Tue Nov 24, 8:00 PM EST",
        "BUF 27 @ KC 30 · Final",
    ]
    assert max(len(line) for line in text.split("\n")) <= 40


def test_quiet_hours_and_alert_types_say_what_is_set():
    m, tz = markup(None), ZoneInfo("America/New_York")
    assert replies.quiet_hours(m, (time(23), time(7)), tz, NOW).startswith("🌙 Quiet from 23:00 to 07:00 (EST)")
    assert "🔔 score on" in replies.alert_types(m, CHAT) and "🔕 edge off" in replies.alert_types(m, CHAT)
