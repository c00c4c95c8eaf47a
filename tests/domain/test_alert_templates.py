"""alert_templates: every template, escaped for both parse modes, within Telegram's limits.

The fake Bot API's entity parser (`replay.telegram_server.parse_entities`) stands in for
Telegram's: "accepted" means it parsed, and the text the reader sees is compared with the values.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from telegram.helpers import escape_markdown

from helpers import HOSTILE, alert_events
from nfl_replay.telegram_server import EntityError, parse_entities
from nfl_sync.domain.alert_templates import render, render_raw
from nfl_sync.domain.events import AlertType, Event, InjuryData, LinkedPlay, PlayData, Priority, ScoreData
from nfl_sync.domain.markup import (
    BODY_LIMIT,
    MAX_MESSAGE_LENGTH,
    RESEND_NOTICE,
    clean,
    escape_html,
    escape_markdown_v2,
    text_length,
    to_plain,
    with_resend_notice,
)

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 18, 5, tzinfo=UTC)  # 1:05 PM in New York
EVENTS = alert_events(NOW)
MODES = ["HTML", "MarkdownV2"]


def score_event(**fields) -> Event:
    return Event(AlertType.SCORE, "k", Priority.HIGH, NOW, ScoreData(game_id="g", **fields))


def with_data(event: Event, **changes) -> Event:
    return replace(event, data=replace(event.data, **changes))


@pytest.mark.parametrize("parse_mode", MODES)
@pytest.mark.parametrize("alert_type", sorted(EVENTS))
def test_every_template_parses_and_shows_hostile_values_verbatim(alert_type, parse_mode):
    text = render(EVENTS[alert_type], parse_mode, NEW_YORK)

    visible = parse_entities(text, parse_mode)

    assert HOSTILE in visible
    assert visible == render(EVENTS[alert_type], None, NEW_YORK)
    assert to_plain(text, parse_mode) == visible


def test_score_template_says_who_scored_how_and_when():
    event = score_event(
        home_team="BUF",
        away_team="KC",
        home_score=17,
        away_score=21,
        scoring_team="KC",
        points=7,
        scoring_type="TD",
        period=3,
        clock="8:24",
    )

    assert render(event, None, NEW_YORK) == (
        "🏈 SCORE UPDATE\n\nKC 21 @ BUF 17\n🎯 KC score 7 points! (touchdown)\n⏱️ Q3 - 8:24\n🕒 Tue Nov 24, 1:05 PM EST"
    )
    assert render(event, "HTML", NEW_YORK).startswith("🏈 <b>SCORE UPDATE</b>\n\n<b>KC 21 @ BUF 17</b>\n")


def test_final_and_corrected_scores_say_so():
    data = {"home_team": "BUF", "away_team": "KC", "home_score": 17, "away_score": 24}
    final = render(score_event(**data, final=True, period=4), None, NEW_YORK)
    corrected = render(
        score_event(**data, correction=True, previous_home_score=17, previous_away_score=27), None, NEW_YORK
    )

    assert final.startswith("🏁 FINAL SCORE\n\nKC 24 @ BUF 17\n⏱️ Q4")
    assert corrected.startswith("⚠️ SCORE CORRECTION\n\nKC 24 @ BUF 17\nWas: KC 27 @ BUF 17\n")


@pytest.mark.parametrize(
    ("status", "header"),
    [
        ("postponed", "📅 GAME POSTPONED"),
        ("canceled", "🚫 GAME CANCELED"),
        ("suspended", "⏸️ GAME SUSPENDED"),
        ("resumed", "▶️ GAME RESUMED"),
    ],
)
def test_a_game_stopped_short_or_resumed_says_so_and_is_no_final(status, header):
    data = {"home_team": "BUF", "away_team": "KC", "home_score": 0, "away_score": 0}
    text = render(score_event(**data, status=status), None, NEW_YORK)
    assert text.startswith(f"{header}\n\nKC 0 @ BUF 0") and "FINAL" not in text


def test_a_final_in_overtime_says_so():
    data = {"home_team": "BUF", "away_team": "KC", "home_score": 23, "away_score": 17}
    assert render(score_event(**data, final=True, status="final_ot"), None, NEW_YORK).startswith("🏁 FINAL SCORE (OT)")


def test_a_reversed_turnover_says_so_with_the_play_it_takes_back():
    event = Event(
        AlertType.SIGNIFICANT_PLAY,
        "k",
        Priority.HIGH,
        NOW,
        PlayData("g", "ATL", "GB", "p1", "Love pass INTERCEPTED by Bates", ("interception",), correction=True),
    )
    text = render(event, None, NEW_YORK)
    assert text.startswith("⚠️ TURNOVER REVERSED") and "Love pass INTERCEPTED by Bates" in text


def test_price_template_says_what_moved_the_game_and_the_linked_plays():
    event = alert_events(NOW, "Bills")["kalshi_price"]
    rising = render(event, None, NEW_YORK)
    falling = render(EVENTS["market_reaction"], None, NEW_YORK)

    assert rising.splitlines() == [
        "📈 KALSHI PRICE MOVEMENT",
        "",
        "Will Bills win? — Kansas City",
        "🏟️ KC 21 @ BUF Bills 17 · Q3 - 8:24",
        "Price: 45¢ → 52¢ (+15.6%) in 5 s",
        "Volume: 124,500 contracts",
        "Linked plays:",
        "• Q3 - 8:31 · interception · impact high: J.Allen pass deep left INTERCEPTED by Bills at KC 30.",
        "• Q3 - 8:24 · by time, move high: P.Mahomes kneels",
        "Ticker: KXNFLGAME-26NOV24KCBUF-KC",
        "🕒 Tue Nov 24, 1:05 PM EST",
    ]
    assert falling.startswith("🔥 MARKET REACTION: EXTREME")
    assert "Price: 55¢ → 40¢ (-27.3%) within 5 s" in falling


@pytest.mark.parametrize(
    ("title", "subtitle", "line", "shown"),
    [
        (
            "Los Angeles R at Dallas: winner?",
            "Los Angeles R",
            None,
            ["Los Angeles R at Dallas: winner? — Los Angeles R"],
        ),
        ("Los Angeles R wins", "Los Angeles R", None, ["Los Angeles R wins"]),  # the title says it already
        (
            "Dallas wins by over 3.5 points?",
            "Dallas wins by over 3.5 points",
            "DAL −3.5",
            ["Dallas wins by over 3.5 points?", "Line: DAL −3.5"],
        ),
        (
            "Full Game: over 44.5 points scored?",
            "Over 44.5 points",
            "Over 44.5",
            ["Full Game: over 44.5 points scored? — Over 44.5 points", "Line: Over 44.5"],
        ),
        (None, "Over 44.5 points", "Over 44.5", ["Over 44.5 points", "Line: Over 44.5"]),
    ],
)
def test_price_alert_states_the_question_and_the_line(title, subtitle, line, shown):
    event = with_data(EVENTS["kalshi_price"], title=title, subtitle=subtitle, line=line)
    lines = render(event, None, NEW_YORK).splitlines()
    assert lines[2 : 2 + len(shown)] == shown
    for parse_mode in MODES:
        assert parse_entities(render(event, parse_mode, NEW_YORK), parse_mode) == "\n".join(lines)


@pytest.mark.parametrize("parse_mode", MODES)
def test_five_long_linked_plays_are_cut_and_the_message_fits(parse_mode):
    play = {"play_id": "p", "text": "<&> a.(-)! " * 500, "impact_level": "extreme", "period": 4, "clock": "0:02"}
    event = with_data(EVENTS["kalshi_price"], linked_plays=(LinkedPlay(**play),) * 5)

    text = render(event, parse_mode, NEW_YORK)

    assert text_length(text) <= BODY_LIMIT
    visible = parse_entities(text, parse_mode)
    cut = [line for line in visible.splitlines() if line.startswith("• Q4 - 0:02 · by time, move extreme: <&>")]
    assert len(cut) == 5 and all(line.endswith("…") and len(line) < 220 for line in cut)


def test_prices_read_back_from_json_strings_render_the_same():
    event = EVENTS["kalshi_price"]
    as_strings = replace(
        event,
        data=replace(
            event.data,
            **{key: str(value) for key, value in event.fields().items() if isinstance(value, (Decimal, float))},
        ),
    )

    assert render(as_strings, "HTML", NEW_YORK) == render(event, "HTML", NEW_YORK)


def test_edge_template_shows_both_numbers_the_game_the_spread_and_the_depth():
    text = render(EVENTS["edge"], None, NEW_YORK)

    assert text.splitlines()[0] == "💰 EDGE: KC CHEAP VS ESPN"
    for shown in (
        "KC 21 @ BUF",
        "Q3 - 8:24",
        "Kalshi: 52.5¢ (bid 52¢ / ask 53¢, spread 1¢)",
        "ESPN win probability: 71.2% (scoreboard)",
        "Edge: +18.7 points",
        "Top of book: 1,200 at the bid, 340 at the ask (contracts)",
        "Ticker: KXNFLGAME-26NOV24KCBUF-KC",
    ):
        assert shown in text
    bare = with_data(EVENTS["edge"], bid_size=None, ask_size=None, yes_bid=None, yes_ask=None, spread=None)
    assert "Top of book" not in render(bare, None, NEW_YORK)
    assert "Kalshi: 52.5¢\n" in render(bare, None, NEW_YORK)


def test_injury_template_shows_player_position_team_status_and_injury():
    event = Event(
        AlertType.INJURY,
        "i",
        Priority.MEDIUM,
        NOW,
        InjuryData(
            player="Patrick Mahomes",
            position="QB",
            team="KC",
            status="Out",
            previous_status="Questionable",
            injury="Ankle",
        ),
    )

    assert render(event, None, NEW_YORK) == (
        "🚑 INJURY UPDATE\n\nPatrick Mahomes (QB)\nTeam: KC\n"
        "Status: Questionable → Out\nInjury: Ankle\n🕒 Tue Nov 24, 1:05 PM EST"
    )


@pytest.mark.parametrize(
    "tags, headline",
    [
        (("big_play",), "⚡ BIG PLAY"),
        (("touchdown", "big_play"), "🏈 TOUCHDOWN"),
        (("interception", "touchdown"), "🔄 INTERCEPTION"),
        ((), "⚡ SIGNIFICANT PLAY"),
    ],
)
def test_significant_play_headline_names_the_most_important_tag(tags, headline):
    data = PlayData("g", "BUF", "KC", "p", "x", tags, home_score=None, away_score=None, yards=45, team="KC")
    event = Event(AlertType.SIGNIFICANT_PLAY, "p", Priority.HIGH, NOW, data)

    text = render(event, None, NEW_YORK)

    assert text.startswith(headline + "\n")
    assert "📏 KC: 45 yards" in text


@pytest.mark.parametrize(
    "zone, shown",
    [
        ("America/New_York", "Tue Nov 24, 1:05 PM EST"),
        ("America/Los_Angeles", "Tue Nov 24, 10:05 AM PST"),
        ("Europe/Berlin", "Tue Nov 24, 7:05 PM CET"),
    ],
)
def test_times_are_shown_in_the_configured_zone(zone, shown):
    assert render(EVENTS["system"], None, ZoneInfo(zone)).endswith("🕒 " + shown)


def test_overtime_periods():
    def clock_line(period):
        event = score_event(home_team="A", away_team="B", home_score=1, away_score=0, period=period, clock="1:00")
        return render(event, None, NEW_YORK).splitlines()[3]

    assert [clock_line(p) for p in (1, 4, 5, 6)] == ["⏱️ Q1 - 1:00", "⏱️ Q4 - 1:00", "⏱️ OT - 1:00", "⏱️ 2OT - 1:00"]


@pytest.mark.parametrize("parse_mode", MODES)
@pytest.mark.parametrize("unit", ["a.(-)!", "🏈", "<&>"])
def test_long_text_is_shortened_to_fit_and_still_parses(parse_mode, unit):
    event = with_data(EVENTS["significant_play"], play_text=unit * 5000)

    text = render(event, parse_mode, NEW_YORK)
    resent = with_resend_notice(text, parse_mode)

    assert text_length(text) <= BODY_LIMIT
    assert text_length(resent) <= MAX_MESSAGE_LENGTH
    visible = parse_entities(resent, parse_mode)
    assert "…" in visible and HOSTILE in visible  # only the long value was cut


def test_emoji_are_counted_as_telegram_counts_them():
    assert text_length("🏈a") == 3  # the football is two UTF-16 code units


def test_control_characters_and_lone_surrogates_are_cleaned():
    name = "Bad\x00Na\u0007me\ud800 \n\t Jr."

    text = render(with_data(EVENTS["injury"], player=name), "HTML", NEW_YORK)

    text.encode("utf-8")  # would raise on a lone surrogate
    assert "<b>BadNa me\ufffd Jr.</b>" in text


def test_missing_required_values_raise_and_raw_rendering_still_works():
    event = score_event(home_team="BUF", away_team=f"KC {HOSTILE}", home_score=None, away_score=None)

    with pytest.raises(KeyError, match="home_score, away_score"):
        render(event, "HTML", NEW_YORK)
    raw = render_raw(event, "MarkdownV2", NEW_YORK)
    assert parse_entities(raw, "MarkdownV2").startswith(
        f"🔔 SCORE ALERT\n\naway_team: KC {HOSTILE}\ngame_id: g\nhome_team: BUF"
    )


@pytest.mark.parametrize("parse_mode", MODES)
def test_blank_values_leave_no_empty_markup(parse_mode):
    event = with_data(EVENTS["significant_play"], play_text=" \n ")

    visible = parse_entities(render(event, parse_mode, NEW_YORK), parse_mode)

    assert "📝" not in visible


def test_unknown_alert_type_or_parse_mode_is_an_error():
    with pytest.raises(ValueError):
        render(replace(EVENTS["system"], alert_type="weather"), "HTML", NEW_YORK)
    with pytest.raises(ValueError):
        render(EVENTS["system"], "Markdown", NEW_YORK)


@pytest.mark.parametrize("parse_mode", MODES + [None])
def test_resend_notice_heads_the_message_and_parses(parse_mode):
    text = with_resend_notice(render(EVENTS["score"], parse_mode, NEW_YORK), parse_mode)

    visible = parse_entities(text, parse_mode)

    assert visible.startswith(RESEND_NOTICE + "\n🏈 SCORE UPDATE")


def test_markdown_escaping_matches_the_verified_ptb_output():
    line = "KC -3.5 @ BUF (o/u 47.5)! mph_gusts"

    assert escape_markdown_v2(line) == r"KC \-3\.5 @ BUF \(o/u 47\.5\)\! mph\_gusts"
    assert escape_markdown_v2(line) == escape_markdown(line, version=2)


@pytest.mark.parametrize(
    "broken, parse_mode",
    [
        ("Score 7-3.", "MarkdownV2"),
        ("*bold", "MarkdownV2"),
        ("<b>bold", "HTML"),
        ("1 < 2", "HTML"),
        ("<blink>x</blink>", "HTML"),
    ],
)
def test_the_stand_in_parser_rejects_what_telegram_rejects(broken, parse_mode):
    with pytest.raises(EntityError):
        parse_entities(broken, parse_mode)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_escaped_for_either_mode_reads_back_unchanged(value):
    shown = clean(value)
    assume(shown)  # an empty value is written without markup at all

    assert parse_entities("_" + escape_markdown_v2(shown) + "_", "MarkdownV2") == shown
    assert parse_entities("<i>" + escape_html(shown) + "</i>", "HTML") == shown
    assert escape_markdown_v2(shown) == escape_markdown(shown, version=2)
