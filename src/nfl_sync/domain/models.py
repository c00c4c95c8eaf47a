"""Typed records shared by every part of the pipeline.

Parsers produce them, detectors compare them, the database stores them and the alert templates
render them. They carry no behaviour beyond derived values, and no I/O.
Prices and percentages are `Decimal`; times are timezone-aware UTC `datetime`s.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Optional


@dataclass(frozen=True)
class Game:
    """One game as a scoreboard (or a summary header) shows it at one moment."""

    game_id: str
    season: Optional[int]
    season_type: Optional[int]  # 1 preseason, 2 regular, 3 postseason
    week: Optional[int]
    start_time: Optional[datetime]
    home_team: str  # canonical abbreviation (teams.py)
    away_team: str
    home_score: Optional[int]
    away_score: Optional[int]
    status: str  # ESPN status name, e.g. STATUS_IN_PROGRESS
    state: str  # pre / in / post
    period: Optional[int] = None
    clock: Optional[str] = None  # display clock "7:45"
    possession: Optional[str] = None  # team abbreviation
    down: Optional[int] = None
    distance: Optional[int] = None
    yard_line: Optional[int] = None  # 0-100 from the home goal line
    venue_id: Optional[str] = None
    venue_name: Optional[str] = None
    venue_city: Optional[str] = None
    venue_state: Optional[str] = None
    venue_indoor: Optional[bool] = None
    neutral_site: Optional[bool] = None
    home_team_id: Optional[str] = None  # ESPN team id
    away_team_id: Optional[str] = None
    last_play_id: Optional[str] = None
    last_play_text: Optional[str] = None
    home_win_pct: Optional[Decimal] = None  # ESPN's live win probability, 0-1

    @property
    def is_live(self) -> bool:
        return self.state == "in"

    @property
    def is_final(self) -> bool:
        return self.state == "post"


@dataclass(frozen=True)
class Play:
    """One play of a game's play-by-play, with the score after it."""

    game_id: str
    play_id: str
    sequence_number: int
    period: Optional[int]
    clock: Optional[str]
    type: Optional[str]  # ESPN type text, e.g. "Pass Reception"
    text: Optional[str]
    yards: Optional[int]
    team: Optional[str]  # abbreviation of the team in possession at the start
    home_score: Optional[int]
    away_score: Optional[int]
    scoring_play: bool = False
    score_value: int = 0  # points scored on this play (from the score delta)
    is_turnover: bool = False
    wallclock: Optional[datetime] = None
    drive_id: Optional[str] = None
    down: Optional[int] = None
    distance: Optional[int] = None
    yard_line: Optional[int] = None
    scoring_type: Optional[str] = None  # TD / FG / SF / XP / 2PT
    significance: tuple[str, ...] = ()  # filled by the classifier: "touchdown", "interception" ...
    drive_result: Optional[str] = None  # ESPN drive result ("INT", "FUMBLE", "DOWNS"...), only on the play that ended the drive

    @property
    def is_significant(self) -> bool:
        return bool(self.significance)


@dataclass(frozen=True)
class WinProbability:
    game_id: str
    play_id: str
    home_win_pct: Decimal
    tie_pct: Optional[Decimal] = None


@dataclass(frozen=True)
class Injury:
    player_id: Optional[str]
    player: str
    team: str  # abbreviation
    position: Optional[str]
    status: str  # "Out", "Questionable", "Injured Reserve" ...
    injury: Optional[str]  # body part / detail, e.g. "Knee"
    reported_at: Optional[datetime]
    game_id: Optional[str] = None
    return_date: Optional[str] = None


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
    forecast_time: Optional[datetime]
    temperature_f: Optional[Decimal] = None
    wind_mph: Optional[Decimal] = None
    gust_mph: Optional[Decimal] = None
    precipitation_in: Optional[Decimal] = None
    precipitation_probability: Optional[Decimal] = None  # 0-100
    condition: Optional[str] = None
    roof: Optional[str] = None  # open / dome / retractable
    game_id: Optional[str] = None


@dataclass(frozen=True)
class OddsLine:
    """One bookmaker's lines for one game."""

    provider: str
    home_team: str
    away_team: str
    game_id: Optional[str] = None
    commence_time: Optional[datetime] = None
    spread: Optional[Decimal] = None  # home team's handicap
    over_under: Optional[Decimal] = None
    home_moneyline: Optional[int] = None  # American odds
    away_moneyline: Optional[int] = None
    details: Optional[str] = None
    updated_at: Optional[datetime] = None


@dataclass(frozen=True)
class GameSummary:
    """Everything `/summary?event=` tells about one game."""

    game: Game
    plays: tuple[Play, ...] = ()
    scoring_plays: tuple[Play, ...] = ()
    win_probabilities: tuple[WinProbability, ...] = ()
    player_stats: tuple[PlayerStat, ...] = ()
    odds: tuple[OddsLine, ...] = ()
    weather: Optional[Weather] = None
    injuries: tuple[Injury, ...] = ()


@dataclass(frozen=True)
class KalshiMarket:
    """A Kalshi market's identity, and what it says about an NFL game when it is one."""

    ticker: str
    event_ticker: str
    series_ticker: str
    title: Optional[str]
    status: str  # response vocabulary: active, closed, finalized ...
    market_kind: Optional[str] = None  # game / spread / total, None when not an NFL game market
    away_team: Optional[str] = None
    home_team: Optional[str] = None
    game_date: Optional[str] = None  # Eastern-time date of the game, YYYY-MM-DD
    team: Optional[str] = None  # the team a game or spread market is about
    line: Optional[Decimal] = None  # spread or total line (floor_strike)
    close_time: Optional[datetime] = None
    game_id: Optional[str] = None  # ESPN game id once mapped
    segment: Optional[str] = None  # part of the game priced: 1H, 2H, 1Q..4Q; None for the full game


@dataclass(frozen=True)
class MarketSnapshot:
    """Top of book of one market at one moment, as stored in nfl_kalshi_prices."""

    ticker: str
    ts: datetime
    yes_bid: Optional[Decimal]
    yes_ask: Optional[Decimal]
    last_price: Optional[Decimal]
    volume: Optional[Decimal]
    open_interest: Optional[Decimal] = None
    game_id: Optional[str] = None
    event_ticker: Optional[str] = None

    @property
    def mid(self) -> Optional[Decimal]:
        if self.yes_bid is None or self.yes_ask is None:
            return self.last_price
        return (self.yes_bid + self.yes_ask) / 2

    @property
    def spread(self) -> Optional[Decimal]:
        if self.yes_bid is None or self.yes_ask is None:
            return None
        return self.yes_ask - self.yes_bid

    @property
    def implied_probability(self) -> Optional[Decimal]:
        """The market's probability of YES: mid when both sides quote, else the last trade."""
        return self.mid


@dataclass(frozen=True)
class Event:
    """Something detection found that may deserve an alert.

    `key` is the deduplication key: the same key is never alerted twice. `family` groups repeats
    that a cooldown may suppress (the same market spiking again); None means cooldowns never apply.
    """

    alert_type: str  # score / significant_play / injury / kalshi_price / market_reaction / system
    key: str
    priority: str  # high / medium / low
    occurred_at: datetime
    game_id: Optional[str] = None
    family: Optional[str] = None
    data: Mapping[str, Any] = field(default_factory=dict)
