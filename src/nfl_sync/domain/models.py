"""Typed records shared by every part of the pipeline.

Parsers produce them, detectors compare them and the database stores them; what an alert says is
in `events.py`. They carry no behaviour beyond derived values, and no I/O.
Prices and percentages are `Decimal`; times are timezone-aware UTC `datetime`s.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class GameState(StrEnum):
    """Where a game stands for the daemon: not started (or moved to another day), under way
    (suspended included: it resumes), over (a final, or canceled). Derived from `GamePhase`, not
    from ESPN's `status.type.state`, which says "post" for a postponed game too."""

    PRE = "pre"
    IN = "in"
    POST = "post"


class GamePhase(StrEnum):
    """What ESPN's `status.type.name` says of a game, with `completed` deciding a real final."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    HALFTIME = "halftime"
    END_OF_PERIOD = "end_of_period"
    DELAYED = "delayed"
    SUSPENDED = "suspended"
    POSTPONED = "postponed"
    CANCELED = "canceled"
    FINAL = "final"
    FINAL_OT = "final_ot"


FINAL_PHASES = frozenset((GamePhase.FINAL, GamePhase.FINAL_OT))
# Phases that stop a game short of its final: each is news of its own.
INTERRUPTED_PHASES = frozenset((GamePhase.SUSPENDED, GamePhase.POSTPONED, GamePhase.CANCELED))


def state_of(phase: GamePhase, started: bool) -> GameState:
    """The daemon's state of a game in `phase`; `started` (a period is under way) places a delay."""
    if phase in FINAL_PHASES or phase == GamePhase.CANCELED:
        return GameState.POST
    if phase in (GamePhase.SCHEDULED, GamePhase.POSTPONED) or (phase == GamePhase.DELAYED and not started):
        return GameState.PRE
    return GameState.IN


@dataclass(frozen=True)
class Game:
    """One game as a scoreboard (or a summary header) shows it at one moment."""

    game_id: str
    season: int | None
    season_type: int | None  # 1 preseason, 2 regular, 3 postseason
    week: int | None
    start_time: datetime | None
    home_team: str  # canonical abbreviation (teams.py)
    away_team: str
    home_score: int | None
    away_score: int | None
    status: str  # ESPN status name, e.g. STATUS_IN_PROGRESS
    state: GameState
    phase: GamePhase
    period: int | None = None
    clock: str | None = None  # display clock "7:45"
    possession: str | None = None  # team abbreviation
    down: int | None = None
    distance: int | None = None
    yard_line: int | None = None  # 0-100 from the home goal line
    venue_id: str | None = None
    venue_name: str | None = None
    venue_city: str | None = None
    venue_state: str | None = None
    venue_indoor: bool | None = None
    neutral_site: bool | None = None
    home_team_id: str | None = None  # ESPN team id
    away_team_id: str | None = None
    last_play_id: str | None = None
    last_play_text: str | None = None
    home_win_pct: Decimal | None = None  # ESPN's live win probability, 0-1
    # The scoreboard's `situation.lastPlay` as a play, for the alerts the scoreboard alone can
    # give; it has no sequence number (0) and no score of its own (the game's), and is never stored.
    last_play: Play | None = None

    @property
    def is_live(self) -> bool:
        """Under way and being played: a suspended game (resumed, maybe, days later) is not."""
        return self.state == GameState.IN and self.phase != GamePhase.SUSPENDED

    @property
    def is_final(self) -> bool:
        """A real final (ESPN's `completed`): the score is the result."""
        return self.phase in FINAL_PHASES

    @property
    def is_over(self) -> bool:
        """Nothing more will happen: a final, or a canceled game."""
        return self.state == GameState.POST


# What makes a play the same play when ESPN gives it a new id: period, clock, type and text.
PlayIdentity = tuple[int | None, str | None, str, str]
_SPACES = re.compile(r"\s+")


def _words(text: str | None) -> str:
    return _SPACES.sub(" ", text or "").strip().lower()


# ESPN's clock-management and period markers: entries of the play-by-play where no down is
# played (nothing ends a drive there, nothing a market reacts to).
ADMINISTRATIVE_PLAY_TYPES = frozenset(
    (
        "timeout",
        "official timeout",
        "two-minute warning",
        "end period",
        "end of half",
        "end of game",
        "end of regulation",
        "coin toss",
    )
)


def is_administrative(play_type: str | None) -> bool:
    """Whether ESPN's play type text names a timeout, a period marker or the like, not a down."""
    return (play_type or "").casefold() in ADMINISTRATIVE_PLAY_TYPES


@dataclass(frozen=True)
class Play:
    """One play of a game's play-by-play, with the score after it."""

    game_id: str
    play_id: str
    sequence_number: int
    period: int | None
    clock: str | None
    type: str | None  # ESPN type text, e.g. "Pass Reception"
    text: str | None
    yards: int | None
    team: str | None  # abbreviation of the team in possession at the start
    home_score: int | None
    away_score: int | None
    scoring_play: bool = False
    score_value: int = 0  # points this play scored (a try ESPN shows on the next row included)
    is_turnover: bool = False
    wallclock: datetime | None = None
    drive_id: str | None = None
    down: int | None = None
    distance: int | None = None
    yard_line: int | None = None
    scoring_type: str | None = None  # TD / FG / SF / XP / 2PT
    significance: tuple[str, ...] = ()  # filled by the classifier: "touchdown", "interception" ...
    drive_result: str | None = (
        None  # ESPN drive result ("INT", "FUMBLE", "DOWNS"...), only on the play that ended the drive
    )

    @property
    def is_significant(self) -> bool:
        return bool(self.significance)

    @property
    def is_administrative(self) -> bool:
        return is_administrative(self.type)

    @functools.cached_property
    def identity(self) -> PlayIdentity:
        """The play's identity across ESPN's renumbering (case and spacing do not count).
        Remembered on the object: a summary repeats every play, and the parser and the lane hand
        back the same object for a play that did not change."""
        return (self.period, self.clock, _words(self.type), _words(self.text))


@dataclass(frozen=True)
class WinProbability:
    game_id: str
    play_id: str
    home_win_pct: Decimal
    tie_pct: Decimal | None = None


@dataclass(frozen=True)
class Injury:
    player_id: str | None
    player: str
    team: str  # abbreviation
    position: str | None
    status: str  # "Out", "Questionable", "Injured Reserve" ...
    injury: str | None  # body part / detail, e.g. "Knee"
    reported_at: datetime | None
    game_id: str | None = None
    return_date: str | None = None

    @property
    def player_key(self) -> str:
        """Who the report is about: ESPN's athlete id, or the name when ESPN gives none."""
        return self.player_id or self.player


@dataclass(frozen=True)
class DepthChart:
    """Who starts for a team: each athlete first on ESPN's depth chart at a position, by athlete
    id, with that position's abbreviation."""

    team: str  # abbreviation
    starters: Mapping[str, str]


@dataclass(frozen=True)
class PlayerStat:
    game_id: str
    player_id: str
    player: str
    team: str
    category: str  # passing / rushing / receiving ...
    stats: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Weather:
    """Forecast conditions at a venue near kickoff (imperial units)."""

    source: str  # "openweathermap" / "open-meteo" / "espn"
    forecast_time: datetime | None
    temperature_f: Decimal | None = None
    wind_mph: Decimal | None = None
    gust_mph: Decimal | None = None
    precipitation_in: Decimal | None = None
    precipitation_probability: Decimal | None = None  # 0-100
    condition: str | None = None
    roof: str | None = None  # open / dome / retractable
    game_id: str | None = None


@dataclass(frozen=True)
class OddsLine:
    """One bookmaker's lines for one game."""

    provider: str
    home_team: str
    away_team: str
    game_id: str | None = None
    commence_time: datetime | None = None
    spread: Decimal | None = None  # home team's handicap
    over_under: Decimal | None = None
    home_moneyline: int | None = None  # American odds
    away_moneyline: int | None = None
    details: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class GameSummary:
    """Everything `/summary?event=` tells about one game."""

    game: Game
    plays: tuple[Play, ...] = ()
    scoring_plays: tuple[Play, ...] = ()
    win_probabilities: tuple[WinProbability, ...] = ()
    player_stats: tuple[PlayerStat, ...] = ()
    odds: tuple[OddsLine, ...] = ()
    weather: Weather | None = None
    injuries: tuple[Injury, ...] = ()


@dataclass(frozen=True)
class KalshiMarket:
    """A Kalshi market's identity, and what it says about an NFL game when it is one."""

    ticker: str
    event_ticker: str
    series_ticker: str
    title: str | None
    status: str  # response vocabulary: active, closed, finalized ...
    market_kind: str | None = None  # game / spread / total, None when not an NFL game market
    away_team: str | None = None
    home_team: str | None = None
    game_date: str | None = None  # Eastern-time date of the game, YYYY-MM-DD
    team: str | None = None  # the team a game or spread market is about
    line: Decimal | None = None  # spread or total line (floor_strike)
    close_time: datetime | None = None
    game_id: str | None = None  # ESPN game id once mapped
    segment: str | None = None  # part of the game priced: 1H, 2H, 1Q..4Q; None for the full game
    subtitle: str | None = None  # Kalshi's yes_sub_title: the side YES is on ("Los Angeles R")


@dataclass(frozen=True)
class MarketSnapshot:
    """Top of book of one market at one moment, as stored in nfl_kalshi_prices."""

    ticker: str
    ts: datetime
    yes_bid: Decimal | None
    yes_ask: Decimal | None
    last_price: Decimal | None
    volume: Decimal | None
    open_interest: Decimal | None = None
    game_id: str | None = None
    event_ticker: str | None = None

    @property
    def mid(self) -> Decimal | None:
        if self.yes_bid is None or self.yes_ask is None:
            return self.last_price
        return (self.yes_bid + self.yes_ask) / 2

    @property
    def spread(self) -> Decimal | None:
        if self.yes_bid is None or self.yes_ask is None:
            return None
        return self.yes_ask - self.yes_bid

    @property
    def implied_probability(self) -> Decimal | None:
        """The market's probability of YES: mid when both sides quote, else the last trade."""
        return self.mid


@dataclass(frozen=True)
class BookLevels:
    """The best levels of a market's order book at one moment, stored beside its price snapshot.

    Kalshi's book holds bids only: `yes_bids` and `no_bids` are (price, contracts), best first;
    a YES ask is the complement of a NO bid, so the contracts offered at the best YES ask are
    the best NO bid's."""

    ticker: str
    ts: datetime
    yes_bids: tuple[tuple[Decimal, Decimal], ...] = ()
    no_bids: tuple[tuple[Decimal, Decimal], ...] = ()

    @property
    def bid_size(self) -> Decimal | None:
        return self.yes_bids[0][1] if self.yes_bids else None

    @property
    def ask_size(self) -> Decimal | None:
        return self.no_bids[0][1] if self.no_bids else None


@dataclass(frozen=True)
class Correlation:
    """A market's move measured after a play (or linked to a price spike), as stored in
    nfl_kalshi_correlations."""

    game_id: str
    play_id: str
    ticker: str
    event_type: str
    price_before: Decimal | None
    price_after: Decimal | None
    change_pct: Decimal | None
    impact_level: str
    seconds_after: Decimal
    play_time: datetime | None
    created_at: datetime
