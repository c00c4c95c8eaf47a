"""Events: what a typed alert record hands the templates and the stored payload."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from nfl_sync.domain.events import AlertType, Event, LinkedPlay, PriceMoveData, Priority, ScoreData

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def test_fields_hold_the_required_ones_and_the_optional_ones_detection_set():
    data = ScoreData("401547417", "BUF", "KC", 17, None, scoring_team="KC", points=7)
    event = Event(AlertType.SCORE, "score:401547417:0:21-17", Priority.HIGH, NOW, data, "401547417")

    assert event.fields() == {
        "game_id": "401547417",
        "home_team": "BUF",
        "away_team": "KC",
        "home_score": 17,
        "away_score": None,  # required: kept even when unknown
        "scoring_team": "KC",
        "points": 7,
    }


def test_a_flag_set_by_detection_is_kept():
    data = ScoreData("401547417", "BUF", "KC", 17, 24, final=True)
    event = Event(AlertType.SCORE, "final:401547417", Priority.HIGH, NOW, data, "401547417")

    assert event.fields()["final"] is True and "correction" not in event.fields()


def test_linked_plays_are_handed_over_as_mappings_like_the_fields_around_them():
    play = LinkedPlay("p1", "Interception", "high", measured=True, period=3, clock="8:24", tags=("interception",))
    data = PriceMoveData("T", Decimal("0.4"), Decimal("0.5"), Decimal("25"), linked_plays=(play,))
    event = Event(AlertType.KALSHI_PRICE, "price:T:1", Priority.MEDIUM, NOW, data)

    assert event.fields()["linked_plays"] == (
        {
            "play_id": "p1",
            "text": "Interception",
            "impact_level": "high",
            "measured": True,
            "period": 3,
            "clock": "8:24",
            "tags": ("interception",),
        },
    )
