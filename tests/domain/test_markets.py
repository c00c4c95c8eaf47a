"""Pure market detection: price spikes, impact classes, the plays before a move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from factories import play
from nfl_sync.domain.markets import detect_price_spikes, impact_level, plays_before
from nfl_sync.domain.models import MarketSnapshot

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
        snap("C", "0.03", t0 + timedelta(seconds=5)),
    ]
    recent = {"401547417": [play(n=7, text="Interception by X")]}
    asked = []
    events = detect_price_spikes(
        previous,
        current,
        Decimal(10),
        Decimal("0.02"),
        lambda game_id: asked.append(game_id) or recent.get(game_id, ()),
    )
    assert asked == ["401547417"]  # only the market that moved enough
    assert [e.data.ticker for e in events] == ["A"]
    event = events[0]
    assert event.data.change_pct == Decimal("24.39")
    assert event.family == "price:A" and event.data.recent_plays == ("Interception by X",)


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
