"""The Kalshi NFL ticker grammar on every recorded NFL market, and the mapping of markets to ESPN
games by team pair and Eastern date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from helpers import fixture_json
from kalshi_support import NFL_MARKET_FILES, nfl_market, scheduled_game
from nfl_sync.domain import teams
from nfl_sync.domain.calendar import eastern_date
from nfl_sync.sources.kalshi.parser import parse_market
from nfl_sync.sources.kalshi.tickers import map_markets_to_games, parse_event_ticker, parse_nfl_ticker

# Kickoffs implied by the recordings (close_time - 48 h): both are evening games whose UTC date is
# the day after the Eastern date in the ticker.
BUF_AT_LAR = scheduled_game("401900001", "BUF", "LAR", "2026-10-13T00:15:00+00:00")
TB_AT_DAL = scheduled_game("401900002", "TB", "DAL", "2026-10-09T00:15:00+00:00")
ATL_AT_NO = scheduled_game("401900003", "ATL", "NO", "2026-10-06T00:15:00+00:00")


# --- NFL ticker grammar -----------------------------------------------------------------------------

# ticker -> (series, kind, segment, date, away, home, team, strike, line from floor_strike)
NFL_FIXTURE_GRAMMAR = {
    "KXNFLGAME-26OCT12BUFLAR-LAR": ("KXNFLGAME", "game", None, date(2026, 10, 12), "BUF", "LAR", "LAR", None, None),
    "KXNFLSPREAD-26OCT08TBDAL-TB8": (
        "KXNFLSPREAD",
        "spread",
        None,
        date(2026, 10, 8),
        "TB",
        "DAL",
        "TB",
        8,
        Decimal("7.5"),
    ),
    "KXNFLTOTAL-26OCT08TBDAL-69": (
        "KXNFLTOTAL",
        "total",
        None,
        date(2026, 10, 8),
        "TB",
        "DAL",
        None,
        69,
        Decimal("68.5"),
    ),
    "KXNFL1H-26OCT05ATLNO-ATL": ("KXNFL1H", "game", "1H", date(2026, 10, 5), "ATL", "NO", "ATL", None, None),
    "KXNFL1H-26OCT05ATLNO-NO": ("KXNFL1H", "game", "1H", date(2026, 10, 5), "ATL", "NO", "NO", None, None),
    "KXNFL1H-26OCT05ATLNO-TIE": ("KXNFL1H", "game", "1H", date(2026, 10, 5), "ATL", "NO", None, None, None),
    "KXNFL1HSPREAD-26OCT05ATLNO-NO8": (
        "KXNFL1HSPREAD",
        "spread",
        "1H",
        date(2026, 10, 5),
        "ATL",
        "NO",
        "NO",
        8,
        Decimal("7.5"),
    ),
    "KXNFL1HTOTAL-26OCT05ATLNO-8": (
        "KXNFL1HTOTAL",
        "total",
        "1H",
        date(2026, 10, 5),
        "ATL",
        "NO",
        None,
        8,
        Decimal("7.5"),
    ),
}


def test_grammar_table_covers_every_nfl_fixture():
    assert sorted(f"kalshi_market_{ticker}.json" for ticker in NFL_FIXTURE_GRAMMAR) == NFL_MARKET_FILES


@pytest.mark.parametrize("ticker", sorted(NFL_FIXTURE_GRAMMAR))
def test_ticker_grammar_of_every_nfl_fixture(ticker):
    series, kind, segment, game_date, away, home, team, strike, line = NFL_FIXTURE_GRAMMAR[ticker]
    parsed = parse_nfl_ticker(ticker)
    assert (parsed.event.series_ticker, parsed.event.kind, parsed.event.segment, parsed.event.game_date) == (
        series,
        kind,
        segment,
        game_date,
    )
    assert (parsed.event.away_team, parsed.event.home_team, parsed.team, parsed.strike) == (away, home, team, strike)

    market = parse_market(nfl_market(ticker)).market
    assert (market.series_ticker, market.market_kind, market.segment, market.game_date) == (
        series,
        kind,
        segment,
        game_date.isoformat(),
    )
    assert (market.away_team, market.home_team, market.team, market.line) == (away, home, team, line)


@pytest.mark.parametrize(
    "ticker, away, home, team",
    [
        ("KXNFLGAME-26NOV29JACWAS-WAS", "JAX", "WSH", "WSH"),  # Kalshi codes -> ESPN abbreviations
        ("KXNFLGAME-26DEC06NONYG-NO", "NO", "NYG", "NO"),  # 2+3 letters
        ("KXNFLGAME-26DEC07LVNE-NE", "LV", "NE", "NE"),  # 2+2
        ("KXNFLGAME-26DEC13LACLAR-LAC", "LAC", "LAR", "LAC"),  # 3+3, both Los Angeles
        ("KXNFLSPREAD-26DEC13KCDEN-KC3", "KC", "DEN", "KC"),
    ],
)
def test_ticker_grammar_splits_team_codes(ticker, away, home, team):
    parsed = parse_nfl_ticker(ticker)
    assert (parsed.event.away_team, parsed.event.home_team, parsed.team) == (away, home, team)


@pytest.mark.parametrize(
    "ticker",
    [
        "KXBTCD-26JUL2502-T74299.99",  # not NFL
        "KXNFLMVP-26-JALLEN",  # NFL future, not a game
        "KXNFLTEAMTOTAL-26OCT08TBDAL-TB30",  # series outside the grammar
        "KXNFLGAME-26OCT12BUFXYZ-BUF",  # unknown team code
        "KXNFLGAME-26OCT12BUFLAR-DAL",  # team not in the game
        "KXNFLGAME-26OCT12BUFLAR-TIE",  # full games have no TIE market
        "KXNFLGAME-26FEB30BUFLAR-LAR",  # impossible date
        "KXNFLGAME-26OCX12BUFLAR-LAR",  # unknown month
        "KXNFLSPREAD-26OCT08TBDAL-8",  # spread without a team
        "KXNFLTOTAL-26OCT08TBDAL-TB8",  # total with a team
    ],
)
def test_ticker_grammar_rejects(ticker):
    assert parse_nfl_ticker(ticker) is None


def test_ambiguous_team_split_is_not_guessed(monkeypatch):
    # No two real codes collide today; a future code that did must not send prices to a wrong game.
    codes = frozenset({"NE", "NEW", "WAS", "AS"})
    monkeypatch.setattr(teams, "kalshi_codes", lambda: codes)
    monkeypatch.setattr(teams, "resolve", lambda code: SimpleNamespace(abbr=code))
    assert parse_event_ticker("KXNFLGAME-26OCT12NEWAS") is None
    assert parse_event_ticker("KXNFLGAME-26OCT12NEAS").away_team == "NE"


# --- market -> game ---------------------------------------------------------------------------------


def markets_of(*tickers: str):
    return [parse_market(nfl_market(ticker)).market for ticker in tickers]


def test_every_nfl_fixture_maps_to_its_game_by_eastern_date():
    mapped, unmapped = map_markets_to_games(markets_of(*NFL_FIXTURE_GRAMMAR), [BUF_AT_LAR, TB_AT_DAL, ATL_AT_NO])
    assert unmapped == []
    expected = {"BUF": BUF_AT_LAR.game_id, "TB": TB_AT_DAL.game_id, "ATL": ATL_AT_NO.game_id}
    assert {m.ticker: m.game_id for m in mapped} == {m.ticker: expected[m.away_team] for m in mapped}
    assert len(mapped) == len(NFL_FIXTURE_GRAMMAR)


def test_eastern_date_not_utc_date():
    assert BUF_AT_LAR.start_time.date() == date(2026, 10, 13)
    assert eastern_date(BUF_AT_LAR.start_time) == date(2026, 10, 12)
    # The same pair a day earlier in Eastern time is a different slate date: no match.
    early = scheduled_game("x", "BUF", "LAR", "2026-10-12T03:00:00+00:00")  # Oct 11, 23:00 EDT
    _, unmapped = map_markets_to_games(markets_of("KXNFLGAME-26OCT12BUFLAR-LAR"), [early])
    assert unmapped[0].reason == "no ESPN game for BUF at LAR on 2026-10-12"


def test_unmapped_markets_are_returned_with_reasons():
    btc = parse_market(fixture_json("kalshi", "other_series", "kalshi_markets.json")["markets"][0]).market
    mapped, unmapped = map_markets_to_games(
        [*markets_of("KXNFLGAME-26OCT12BUFLAR-LAR", "KXNFLTOTAL-26OCT08TBDAL-69"), btc], [BUF_AT_LAR]
    )
    assert [m.ticker for m in mapped] == ["KXNFLGAME-26OCT12BUFLAR-LAR"]
    assert [(u.market.ticker, u.reason) for u in unmapped] == [
        ("KXNFLTOTAL-26OCT08TBDAL-69", "no ESPN game for TB at DAL on 2026-10-08"),
        ("KXBTCD-26JUL2502-T74299.99", "not an NFL game market (ticker not understood)"),
    ]


@pytest.mark.parametrize(
    "candidate, maps",
    [
        (scheduled_game("moved", "BUF", "LAR", "2026-10-14T00:15:00+00:00"), True),  # postponed a day
        (scheduled_game("neutral", "LAR", "BUF", "2026-10-13T00:15:00+00:00"), True),  # listed the other way round
        (scheduled_game("rematch", "BUF", "LAR", "2026-10-20T00:15:00+00:00"), False),  # a week later
        (scheduled_game("other", "BUF", "NYJ", "2026-10-13T00:15:00+00:00"), False),
    ],
)
def test_mapping_tolerates_postponement_and_swapped_sides(candidate, maps):
    mapped, _ = map_markets_to_games(markets_of("KXNFLGAME-26OCT12BUFLAR-LAR"), [candidate])
    assert [m.game_id for m in mapped] == ([candidate.game_id] if maps else [])
