"""The chart spec's choices: a play ESPN stamped earlier than the one before it is left out (the
line never runs backwards), reactions under 3¢ are not drawn and at most the six largest are, in
time order, and the title says whether the game is over."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.game_chart import (
    MAX_REACTIONS,
    ChartGame,
    ChartPlay,
    GameChartData,
    Reaction,
    chart_spec,
    final_line,
)

KICKOFF = datetime(2023, 9, 17, 17, 0, tzinfo=UTC)
GAME = ChartGame("g", "GB", "ATL", 24, 25, "final", KICKOFF)


def plays(n: int) -> tuple[ChartPlay, ...]:
    return tuple(
        ChartPlay(f"p{i}", 1, KICKOFF + timedelta(minutes=i), False, 0, 0, (), None, Decimal("0.5")) for i in range(n)
    )


def test_a_play_stamped_back_in_time_is_left_out():
    stamped = list(plays(4))
    stamped[2] = replace(stamped[2], wallclock=KICKOFF - timedelta(minutes=30))
    spec = chart_spec(GameChartData(GAME, tuple(stamped), (), ()))
    assert spec.win_probability.x == (0.0, 1.0, 3.0)


def test_only_the_largest_reactions_are_drawn_in_time_order():
    moves = [(f"p{i}", Decimal(i) / 100) for i in range(10)]  # 0¢ .. 9¢
    reactions = tuple(Reaction(play, Decimal("0.50"), Decimal("0.50") - move) for play, move in moves)
    spec = chart_spec(GameChartData(GAME, plays(10), (), reactions))
    assert len(spec.annotations) == MAX_REACTIONS
    assert [(a.x, a.label) for a in spec.annotations] == [(float(i), f"-{i}¢") for i in range(4, 10)]


def test_the_title_says_final_overtime_or_live():
    assert final_line(GAME) == "GB 24 @ ATL 25 — final"
    assert final_line(replace(GAME, phase="final_ot")) == "GB 24 @ ATL 25 — final (OT)"
    assert final_line(replace(GAME, phase="in_progress", home_score=None)) == "GB 24 @ ATL 0 — live"
