"""Pure detection of edges: a live game's game-winner market priced well below ESPN's live win
probability of its team.

Every Kalshi poll hands each live game-winner market (`EdgeQuote`) to `detect_edge` with ESPN's
latest win probability of its game (`ProbabilityReading`) and what the earlier polls left for
that market (`EdgeSide`: a game-winner market is one side of its game, the team it pays on). A
market whose mid trails ESPN by at least `EdgeConfig.points` percentage points on
`POLLS_IN_A_ROW` polls in a row is alerted (its team is the cheap side), and that side not again
for `EdgeConfig.cooldown`. A probability read more than `PROBABILITY_MAX_AGE` ago says nothing of
the game now: it breaks the run, as a market without both a bid and an ask does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.alert_policy import edge_priority
from nfl_sync.domain.events import AlertType, EdgeData, Event
from nfl_sync.domain.models import BookLevels, Game, KalshiMarket, MarketSnapshot

PROBABILITY_MAX_AGE = timedelta(minutes=3)
POLLS_IN_A_ROW = 2
_TENTH = Decimal("0.1")


@dataclass(frozen=True)
class ProbabilityReading:
    """ESPN's win probability of a game's home team, and when the daemon read it."""

    home_win_pct: Decimal  # 0-1
    at: datetime
    source: str  # scoreboard (situation.lastPlay.probability) / summary (latest winprobability entry)


@dataclass(frozen=True)
class EdgeQuote:
    """One live game-winner market as a poll saw it, with the top of its book when it was read."""

    game: Game
    market: KalshiMarket
    snapshot: MarketSnapshot
    book: BookLevels | None = None


@dataclass(frozen=True)
class EdgeConfig:
    points: Decimal  # percentage points (EDGE_ALERT_POINTS)
    cooldown: timedelta  # between two alerts of one side (EDGE_ALERT_COOLDOWN)


@dataclass(frozen=True)
class EdgeSide:
    """What the polls so far say of one market: how many in a row it trailed ESPN by the
    threshold, and when its side was last alerted."""

    polls: int = 0
    alerted_at: datetime | None = None


def is_game_winner(market: KalshiMarket) -> bool:
    """A full-game winner market of one team (KXNFLGAME), not a half's or a quarter's."""
    return market.market_kind == "game" and market.segment is None and market.team is not None


def team_probability(game: Game, reading: ProbabilityReading, team: str) -> Decimal | None:
    """ESPN's win probability of `team` in `game`; None for a team not playing in it."""
    if team == game.home_team:
        return reading.home_win_pct
    if team == game.away_team:
        return 1 - reading.home_win_pct
    return None


@dataclass(frozen=True)
class _Measure:
    espn: Decimal  # ESPN's probability of the market's team
    mid: Decimal
    points: Decimal  # (espn - mid) in percentage points


def _measure(quote: EdgeQuote, reading: ProbabilityReading | None, now: datetime) -> _Measure | None:
    snap = quote.snapshot
    if reading is None or now - reading.at > PROBABILITY_MAX_AGE or snap.yes_bid is None or snap.yes_ask is None:
        return None
    espn = team_probability(quote.game, reading, quote.market.team or "")
    if espn is None:
        return None
    mid = (snap.yes_bid + snap.yes_ask) / 2
    return _Measure(espn, mid, ((espn - mid) * 100).quantize(_TENTH))


def edge_points(quote: EdgeQuote, reading: ProbabilityReading | None, now: datetime) -> Decimal | None:
    """How many percentage points the market's mid trails ESPN's probability of its team
    (negative: the market is the dearer one); None without a fresh probability, or without both
    a bid and an ask (a last trade is no price anyone offers now)."""
    measure = _measure(quote, reading, now)
    return None if measure is None else measure.points


def is_candidate(quote: EdgeQuote, reading: ProbabilityReading | None, now: datetime, config: EdgeConfig) -> bool:
    """Whether this poll finds the market's side cheap: the lane reads its order book then."""
    points = edge_points(quote, reading, now)
    return points is not None and points >= config.points


def detect_edge(
    previous: EdgeSide | None,
    quote: EdgeQuote,
    reading: ProbabilityReading | None,
    now: datetime,
    config: EdgeConfig,
) -> tuple[list[Event], EdgeSide]:
    """This poll's edge alert of the market's side (none, or one), and what the next poll needs."""
    previous = previous or EdgeSide()
    measure = _measure(quote, reading, now)
    if measure is None or measure.points < config.points:
        return [], EdgeSide(0, previous.alerted_at)
    polls = previous.polls + 1
    cooled = previous.alerted_at is None or now - previous.alerted_at >= config.cooldown
    if polls < POLLS_IN_A_ROW or not cooled:
        return [], EdgeSide(polls, previous.alerted_at)
    assert reading is not None  # _measure needs one
    return [_edge_event(quote, reading.source, measure, now, config)], EdgeSide(polls, now)


def _edge_event(quote: EdgeQuote, source: str, measure: _Measure, now: datetime, config: EdgeConfig) -> Event:
    game, market, snap = quote.game, quote.market, quote.snapshot
    team = market.team or ""
    data = EdgeData(
        game_id=game.game_id,
        ticker=market.ticker,
        team=team,
        home_team=game.home_team,
        away_team=game.away_team,
        market_price=measure.mid,
        espn_probability=measure.espn,
        edge_points=measure.points,
        probability_source=source,
        home_score=game.home_score,
        away_score=game.away_score,
        period=game.period,
        clock=game.clock,
        title=market.title,
        yes_bid=snap.yes_bid,
        yes_ask=snap.yes_ask,
        spread=snap.spread,
        bid_size=quote.book.bid_size if quote.book is not None else None,
        ask_size=quote.book.ask_size if quote.book is not None else None,
    )
    side = f"edge:{game.game_id}:{team}"
    # One key per alert of the side (a side alerted again after its cooldown is new news); the
    # family lets the policy hold the cooldown across a restart, which forgets `EdgeSide`.
    return Event(
        AlertType.EDGE,
        f"{side}:{now:%Y%m%dT%H%M%S}",
        edge_priority(measure.points, config.points),
        now,
        data,
        game.game_id,
        family=side,
    )
