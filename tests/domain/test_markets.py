"""Pure market detection: price spikes, impact classes, the plays before a move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from factories import game, play
from nfl_sync.domain.markets import (
    MAX_LINKED_PLAYS,
    MoveContext,
    detect_price_spikes,
    impact_level,
    is_spike,
    linked_plays,
    market_line,
    plays_before,
)
from nfl_sync.domain.models import KalshiMarket, MarketSnapshot

NOW = datetime(2023, 9, 17, 18, 0, tzinfo=UTC)


def snap(ticker, mid_bid, ts, ask=None, game_id="401547417"):
    bid = Decimal(mid_bid)
    return MarketSnapshot(
        ticker, ts, bid, Decimal(ask) if ask else bid + Decimal("0.02"), None, Decimal(100), game_id=game_id
    )


def test_price_spikes_above_threshold_with_context_plays():
    t0 = NOW
    previous = {"A": snap("A", "0.40", t0), "B": snap("B", "0.40", t0), "C": snap("C", "0.02", t0)}
    current = [
        snap("A", "0.50", t0 + timedelta(seconds=5)),
        snap("B", "0.42", t0 + timedelta(seconds=5)),
        snap("C", "0.025", t0 + timedelta(seconds=5)),
    ]
    recent = {"401547417": [play(n=7, text="Interception by X")]}
    asked = []
    context = MoveContext(recent_plays=lambda game_id: asked.append(game_id) or recent.get(game_id, ()))
    events = detect_price_spikes(previous, current, Decimal(10), Decimal(1), context)
    assert asked == ["401547417"]  # only the market that moved enough
    assert [e.data.ticker for e in events] == ["A"]  # B moved 5 %, C half a cent
    event = events[0]
    assert event.data.change_pct == Decimal("24.39")
    assert event.family == "price:A"
    assert [(p.text, p.impact_level, p.measured) for p in event.data.linked_plays] == [
        ("Interception by X", "extreme", False)
    ]


@pytest.mark.parametrize(
    ("before", "after", "pct", "floor", "spike"),
    [
        ("0.10", "0.115", "10", "1", True),  # +15 % from 10 cents: the old fixed 2-cent floor kept it quiet
        ("0.10", "0.11", "10", "1", True),  # exactly both thresholds
        ("0.10", "0.1099", "10", "1", False),  # 9.99 %: no rounding up to 10
        ("0.60", "0.66", "10", "1", True),
        ("0.60", "0.6599", "10", "1", False),  # 5.99 cents of 60 is 9.98 %
        ("0.01", "0.015", "10", "1", False),  # +50 %, but half a cent
        ("0.99", "0.985", "0.1", "1", False),  # a half-cent move never passes a 1-cent floor
        ("0.30", "0.27", "10", "1", True),  # falls count alike
        ("0.30", "0.27", "10", "3.5", False),  # the floor is configurable
        ("0.02", "0.025", "10", "0", True),  # no floor: relative only
        ("0", "0.05", "10", "1", False),  # no relative move from nothing
    ],
)
def test_a_spike_needs_both_the_relative_threshold_and_the_floor(before, after, pct, floor, spike):
    assert is_spike(Decimal(before), Decimal(after), Decimal(pct), Decimal(floor)) is spike


def market(kind, line=None, team=None, segment=None):
    return KalshiMarket("T", "E", "S", "title", "active", market_kind=kind, team=team, line=line, segment=segment)


def test_spread_and_total_markets_state_their_line():
    assert market_line(market("spread", Decimal("3.5"), "DAL")) == "DAL −3.5"
    assert market_line(market("spread", Decimal("7.00"), "TB")) == "TB −7"
    assert market_line(market("total", Decimal("44.50"))) == "Over 44.5"
    assert market_line(market("total", Decimal("70"))) == "Over 70"
    assert market_line(market("spread", Decimal("7.5"), "NO", segment="1H")) == "1H NO −7.5"
    assert market_line(market("game", team="DAL")) is None
    assert market_line(market("spread", None, "DAL")) is None  # no floor_strike: the suffix is only rounded


def test_a_move_names_its_market_game_and_plays_measured_or_by_time():
    t0 = NOW
    spread = KalshiMarket(
        "KXNFLSPREAD-23SEP17GBATL-ATL4",
        "KXNFLSPREAD-23SEP17GBATL",
        "KXNFLSPREAD",
        "Atlanta wins by over 3.5 points?",
        "active",
        market_kind="spread",
        team="ATL",
        line=Decimal("3.5"),
        subtitle="Atlanta wins by over 3.5 points",
    )
    ticker = spread.ticker
    moved = snap(ticker, "0.30", t0 + timedelta(seconds=5))
    plays = [play(n=n, text=f"play {n}", significance=("interception",) if n == 6 else ()) for n in range(1, 8)]
    board = {"401547417": game(home_score=10, away_score=14, period=3, clock="8:24")}
    context = MoveContext({ticker: spread}, board, lambda game_id: plays, {(plays[5].play_id, ticker): "high"})

    (event,) = detect_price_spikes({ticker: snap(ticker, "0.40", t0)}, [moved], Decimal(10), Decimal(1), context)

    data = event.data
    assert (data.title, data.subtitle, data.line) == (spread.title, spread.subtitle, "ATL −3.5")
    assert (data.away_team, data.away_score, data.home_team, data.home_score) == ("GB", 14, "ATL", 10)
    assert (data.period, data.clock) == (3, "8:24")
    assert [(p.text, p.impact_level, p.measured, p.tags) for p in data.linked_plays] == [
        ("play 3", "extreme", False, ()),
        ("play 4", "extreme", False, ()),
        ("play 5", "extreme", False, ()),
        ("play 6", "high", True, ("interception",)),  # its own reaction, measured before the move
        ("play 7", "extreme", False, ()),
    ]  # the newest MAX_LINKED_PLAYS, oldest first
    assert len(data.linked_plays) == MAX_LINKED_PLAYS


def test_impact_levels_follow_the_documented_classes():
    assert [impact_level(Decimal(x)) for x in ("25", "-20.5", "15", "10", "-7", "4.99")] == [
        "extreme",
        "extreme",
        "high",
        "high",
        "medium",
        "low",
    ]
    assert impact_level(None) == "low"


def test_plays_before_selects_the_window():
    base = NOW
    plays = [play(n=1, wallclock=base - timedelta(minutes=5)), play(n=2, wallclock=base - timedelta(seconds=30))]
    assert [p.play_id for p in plays_before(plays, base)] == [plays[1].play_id]


def test_a_spike_links_the_downs_before_it_not_timeouts_or_the_end_of_a_period():
    plays = [
        play(n=1, type="Rush"),
        play(n=2, type="Timeout", text="Timeout #2 by GB at 01:55."),
        play(n=3, type="Two-minute warning", text="Two-Minute Warning"),
        play(n=4, type="Pass Reception"),
        play(n=5, type="End Period", text="END QUARTER 4"),
    ]

    linked = linked_plays(plays, "KXNFLGAME-23SEP17GBATL-ATL", "high", {})

    assert [p.play_id for p in linked] == [plays[0].play_id, plays[3].play_id]
