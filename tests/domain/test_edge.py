"""domain.edge: a game-winner market well below ESPN's win probability, two polls in a row, per
side, with a cooldown; a stale probability or a one-sided book says nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from factories import game, game_market
from nfl_sync.domain.edge import (
    PROBABILITY_MAX_AGE,
    EdgeConfig,
    EdgeQuote,
    EdgeSide,
    ProbabilityReading,
    detect_edge,
    edge_points,
    is_candidate,
    is_game_winner,
)
from nfl_sync.domain.events import AlertType, EdgeData, Priority
from nfl_sync.domain.models import BookLevels, MarketSnapshot

T0 = datetime(2023, 9, 17, 18, 0, tzinfo=UTC)
POLL = timedelta(seconds=5)
CONFIG = EdgeConfig(Decimal(15), timedelta(minutes=15))
GAME = game(home_score=14, away_score=10, period=3, clock="8:24")  # GB @ ATL


def quote(team: str, bid: str | None, ask: str | None, at: datetime) -> EdgeQuote:
    snap = MarketSnapshot(
        game_market(team).ticker,
        at,
        None if bid is None else Decimal(bid),
        None if ask is None else Decimal(ask),
        None,
        None,
    )
    return EdgeQuote(GAME, game_market(team), snap)


def espn(home: str, at: datetime, source: str = "scoreboard") -> ProbabilityReading:
    return ProbabilityReading(Decimal(home), at, source)


def polls(team: str, prices: list[tuple[str, str]], home_pct: str = "0.70", start: datetime = T0, side=None):
    """Run the detector over consecutive polls; returns (events of each poll, last side)."""
    found = []
    for n, (bid, ask) in enumerate(prices):
        now = start + n * POLL
        events, side = detect_edge(side, quote(team, bid, ask, now), espn(home_pct, now), now, CONFIG)
        found.append(events)
    return found, side


def test_points_are_espn_minus_the_mid_for_the_markets_team():
    now = T0
    # ATL (home) at 70 % by ESPN; its market's mid is 52.5 ¢; GB's market mirrors it.
    assert edge_points(quote("ATL", "0.52", "0.53", now), espn("0.70", now), now) == Decimal("17.5")
    assert edge_points(quote("GB", "0.47", "0.48", now), espn("0.70", now), now) == Decimal("-17.5")


def test_two_polls_in_a_row_alert_the_cheap_side_with_both_numbers():
    found, _ = polls("ATL", [("0.52", "0.54")] * 3)

    assert [len(events) for events in found] == [0, 1, 0]
    event = found[1][0]
    assert (event.alert_type, event.game_id, event.family) == (AlertType.EDGE, GAME.game_id, f"edge:{GAME.game_id}:ATL")
    data = event.data
    assert isinstance(data, EdgeData)
    assert (data.team, data.market_price, data.espn_probability, data.edge_points) == (
        "ATL",
        Decimal("0.53"),
        Decimal("0.70"),
        Decimal("17.0"),
    )
    assert (data.home_score, data.away_score, data.period, data.clock) == (14, 10, 3, "8:24")
    assert (data.yes_bid, data.yes_ask, data.spread, data.probability_source) == (
        Decimal("0.52"),
        Decimal("0.54"),
        Decimal("0.02"),
        "scoreboard",
    )
    assert event.priority == Priority.MEDIUM


def test_one_poll_is_not_enough_and_a_poll_in_agreement_breaks_the_run():
    found, side = polls("ATL", [("0.52", "0.54"), ("0.64", "0.66"), ("0.52", "0.54")])

    assert [len(events) for events in found] == [0, 0, 0]
    assert side == EdgeSide(polls=1)


def test_no_alert_when_the_market_agrees_or_is_the_dear_side():
    agree, _ = polls("ATL", [("0.66", "0.68")] * 4)
    dear, _ = polls("GB", [("0.47", "0.48")] * 4)  # GB's market is 17.5 points dearer than ESPN: not cheap

    assert [e for events in agree + dear for e in events] == []


def test_each_side_is_alerted_on_its_own():
    """Both markets cheap at once (a book out of line on both sides): one alert for each."""
    away, _ = polls("GB", [("0.30", "0.32")] * 2, home_pct="0.50")
    home, _ = polls("ATL", [("0.30", "0.32")] * 2, home_pct="0.50")
    fair, _ = polls("ATL", [("0.50", "0.52")] * 2, home_pct="0.50")

    assert [e.data.team for events in away + home for e in events] == ["GB", "ATL"]
    assert [e.key for events in away + home for e in events] == [
        f"edge:{GAME.game_id}:GB:{(T0 + POLL):%Y%m%dT%H%M%S}",
        f"edge:{GAME.game_id}:ATL:{(T0 + POLL):%Y%m%dT%H%M%S}",
    ]
    assert [e for events in fair for e in events] == []


def test_the_cooldown_holds_a_lasting_edge_back_then_it_is_alerted_again():
    during = int(CONFIG.cooldown / POLL)  # polls inside the cooldown after the first alert
    found, side = polls("ATL", [("0.52", "0.54")] * (1 + during))

    assert sum(len(events) for events in found) == 1
    assert side.alerted_at == T0 + POLL
    later = T0 + POLL + CONFIG.cooldown
    events, _ = detect_edge(side, quote("ATL", "0.52", "0.54", later), espn("0.70", later), later, CONFIG)
    assert len(events) == 1


def test_a_stale_probability_says_nothing_and_breaks_the_run():
    now = T0 + PROBABILITY_MAX_AGE + timedelta(seconds=1)
    old = espn("0.70", T0)
    first = quote("ATL", "0.52", "0.54", now)

    assert edge_points(first, old, now) is None
    assert not is_candidate(first, old, now, CONFIG)
    events, side = detect_edge(EdgeSide(polls=1), first, old, now, CONFIG)
    assert (events, side.polls) == ([], 0)
    fresh = espn("0.70", now - PROBABILITY_MAX_AGE)  # exactly the limit is still fresh
    assert edge_points(first, fresh, now) == Decimal("17.0")


def test_a_one_sided_book_or_no_probability_is_no_edge():
    assert edge_points(quote("ATL", None, "0.40", T0), espn("0.70", T0), T0) is None
    assert edge_points(quote("ATL", "0.52", "0.54", T0), None, T0) is None


def test_a_big_edge_is_high_priority_and_carries_the_book_top():
    book = BookLevels(
        game_market("ATL").ticker,
        T0,
        ((Decimal("0.30"), Decimal("1200")), (Decimal("0.29"), Decimal("50"))),
        ((Decimal("0.68"), Decimal("340")),),
    )
    side = EdgeSide(polls=1)
    q = quote("ATL", "0.30", "0.32", T0)
    events, _ = detect_edge(
        side, EdgeQuote(q.game, q.market, q.snapshot, book), espn("0.70", T0, "summary"), T0, CONFIG
    )

    (event,) = events
    assert event.priority == Priority.HIGH  # 39 points: more than twice the threshold
    assert (event.data.bid_size, event.data.ask_size, event.data.probability_source) == (
        Decimal("1200"),
        Decimal("340"),
        "summary",
    )


def test_only_full_game_winner_markets_count():
    assert is_game_winner(game_market("ATL"))
    assert not is_game_winner(game_market("ATL", segment="1H", series_ticker="KXNFL1H"))
    assert not is_game_winner(game_market("ATL", market_kind="spread"))
    assert not is_game_winner(replace(game_market("ATL"), team=None))
