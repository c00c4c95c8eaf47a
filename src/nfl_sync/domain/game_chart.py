"""A game's story as a chart spec: what the game chart plots, decided from the stored rows.

`chart_spec(data)` turns a game's stored plays (each with ESPN's home win probability), the home
team's Kalshi game-winner prices and the markets' measured reactions to plays into a `ChartSpec`:
two series over the minutes since kickoff (wall time, since prices have no game clock; quarters
are marked where their first play was), the scoring plays with the score after them, turnovers
and big plays, and the largest market reactions with their size in cents. Pure, so the chart's
content is tested with exact values; `alerts/charts.py` only draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.calendar import EASTERN
from nfl_sync.domain.play_classifier import BIG_PLAY, FUMBLE_LOST, INTERCEPTION, SAFETY, TURNOVER_ON_DOWNS

# Reactions smaller than this (cents) are noise on a phone-sized chart; at most this many are drawn.
MIN_REACTION_CENTS = Decimal(3)
MAX_REACTIONS = 6
# Prices this long before kickoff and after the last play frame the game; older ones (the market
# trades all week) would squeeze it into a corner.
PRICE_MARGIN = timedelta(minutes=5)
# How a significant (non-scoring) play is labelled, first matching tag first.
_PLAY_LABELS = (
    (INTERCEPTION, "INT"),
    (FUMBLE_LOST, "FUMBLE"),
    (TURNOVER_ON_DOWNS, "DOWNS"),
    (SAFETY, "SAFETY"),
    (BIG_PLAY, "BIG PLAY"),
)
_PERIOD_NAMES = {2: "Q2", 3: "Q3", 4: "Q4"}


@dataclass(frozen=True)
class ChartGame:
    game_id: str
    away_team: str
    home_team: str
    away_score: int | None
    home_score: int | None
    phase: str  # nfl_games.phase: final, final_ot, in_progress, ...
    start_time: datetime | None


@dataclass(frozen=True)
class ChartPlay:
    """A stored play with a wall clock, in sequence order; `home_win_pct` is ESPN's (0-1) after it."""

    play_id: str
    period: int | None
    wallclock: datetime
    scoring_play: bool
    away_score: int | None
    home_score: int | None
    significance: tuple[str, ...]
    yards: int | None
    home_win_pct: Decimal | None


@dataclass(frozen=True)
class PricePoint:
    """The home team's game-winner market at `at`: its mid (bid/ask midpoint, else last trade), dollars."""

    at: datetime
    mid: Decimal


@dataclass(frozen=True)
class Reaction:
    """The home game-winner market's measured move after a play (nfl_kalshi_correlations)."""

    play_id: str
    price_before: Decimal
    price_after: Decimal


@dataclass(frozen=True)
class GameChartData:
    game: ChartGame
    plays: tuple[ChartPlay, ...]
    prices: tuple[PricePoint, ...]
    reactions: tuple[Reaction, ...]


@dataclass(frozen=True)
class Series:
    label: str
    x: tuple[float, ...]  # minutes since kickoff
    y: tuple[float, ...]  # percent / cents, 0-100


@dataclass(frozen=True)
class Marker:
    """A point of the win-probability line labelled with what happened there."""

    x: float
    y: float
    label: str
    kind: str  # "score" or "play"


@dataclass(frozen=True)
class Annotation:
    """A market reaction: drawn at the price after the play, labelled with its size ("+18¢")."""

    x: float
    y: float
    label: str


@dataclass(frozen=True)
class ChartSpec:
    title: str
    subtitle: str
    win_probability: Series
    price: Series
    quarters: tuple[tuple[float, str], ...]
    markers: tuple[Marker, ...]
    annotations: tuple[Annotation, ...]


def final_line(game: ChartGame) -> str:
    """'GB 24 @ ATL 25 — final' (or '— final (OT)', or '— live' before the end): the chart's
    title and the caption of the photo sent with the final-score alert."""
    state = {"final": "final", "final_ot": "final (OT)"}.get(game.phase, "live")
    return f"{game.away_team} {game.away_score or 0} @ {game.home_team} {game.home_score or 0} — {state}"


def _minutes(at: datetime, kickoff: datetime) -> float:
    return (at - kickoff).total_seconds() / 60


def _percent(value: Decimal) -> float:
    return float(value * 100)


def _play_label(play: ChartPlay) -> str | None:
    for tag, label in _PLAY_LABELS:
        if tag in play.significance:
            return f"+{play.yards} yds" if tag == BIG_PLAY and play.yards is not None else label
    return None


def _reaction_label(reaction: Reaction) -> str:
    cents = (reaction.price_after - reaction.price_before) * 100
    return f"{cents:+.0f}¢"


def _in_time_order(plays: tuple[ChartPlay, ...]) -> list[ChartPlay]:
    """The plays whose wall clock does not go back before an earlier play's: ESPN stamps the odd
    play with a wrong time, which would draw the line backwards."""
    kept: list[ChartPlay] = []
    for play in plays:
        if not kept or play.wallclock >= kept[-1].wallclock:
            kept.append(play)
    return kept


def chart_spec(data: GameChartData) -> ChartSpec | None:
    """The chart of a game, or None while it has no play with a wall clock to place anything."""
    plays = _in_time_order(data.plays)
    if not plays:
        return None
    game, kickoff = data.game, plays[0].wallclock
    charted = [p for p in plays if p.home_win_pct is not None]
    end = plays[-1].wallclock + PRICE_MARGIN
    prices = [p for p in data.prices if kickoff - PRICE_MARGIN <= p.at <= end]
    at = {p.play_id: _minutes(p.wallclock, kickoff) for p in plays}
    # A marker sits on the win-probability line (the play's own value, or the last one before it).
    level: dict[str, float] = {}
    last = 50.0
    for play in plays:
        last = _percent(play.home_win_pct) if play.home_win_pct is not None else last
        level[play.play_id] = last
    quarters: list[tuple[float, str]] = []
    for play in plays:
        name = _PERIOD_NAMES.get(play.period or 1, "OT" if (play.period or 1) > 4 else None)
        if name is not None and name not in {label for _, label in quarters}:
            quarters.append((at[play.play_id], name))
    markers = []
    for play in plays:
        if play.scoring_play:
            score = f"{game.away_team} {play.away_score} – {play.home_score} {game.home_team}"
            markers.append(Marker(at[play.play_id], level[play.play_id], score, "score"))
        elif (label := _play_label(play)) is not None:
            markers.append(Marker(at[play.play_id], level[play.play_id], label, "play"))
    large = [
        r for r in data.reactions if r.play_id in at and abs(r.price_after - r.price_before) * 100 >= MIN_REACTION_CENTS
    ]
    largest = sorted(large, key=lambda r: (-abs(r.price_after - r.price_before), at[r.play_id]))[:MAX_REACTIONS]
    annotations = tuple(
        Annotation(at[r.play_id], _percent(r.price_after), _reaction_label(r))
        for r in sorted(largest, key=lambda r: at[r.play_id])
    )
    day = (game.start_time or kickoff).astimezone(EASTERN)
    return ChartSpec(
        title=final_line(game),
        subtitle=f"{day:%a %b} {day.day}, {day.year} · {game.home_team} win chance, minutes since kickoff",
        win_probability=Series(
            f"ESPN: {game.home_team} win probability",
            tuple(at[p.play_id] for p in charted),
            tuple(_percent(p.home_win_pct) for p in charted if p.home_win_pct is not None),
        ),
        price=Series(
            f"Kalshi: {game.home_team} to win (¢)",
            tuple(_minutes(p.at, kickoff) for p in prices),
            tuple(_percent(p.mid) for p in prices),
        ),
        quarters=tuple(quarters),
        markers=tuple(markers),
        annotations=annotations,
    )
