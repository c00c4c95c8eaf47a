"""Events that may become alerts: their type, priority, and a typed record of what each says.

Detection builds an `Event` with the data record of its type; the alert policy decides it, the
templates render `Event.fields()`, and the outbox stores those fields as the alert's JSON payload.
Prices are `Decimal` dollars between 0 and 1, percentages `Decimal` (15.6 means +15.6 %).
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class AlertType(StrEnum):
    SCORE = "score"
    SIGNIFICANT_PLAY = "significant_play"
    INJURY = "injury"
    KALSHI_PRICE = "kalshi_price"
    MARKET_REACTION = "market_reaction"
    SYSTEM = "system"
    EDGE = "edge"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


ALERT_TYPES: tuple[AlertType, ...] = tuple(AlertType)
PRIORITIES: tuple[Priority, ...] = tuple(Priority)


@dataclass(frozen=True)
class ScoreData:
    """A score change, the final score, a correction (the score went down), or a game stopped
    short or resumed (`status`: suspended, postponed, canceled, resumed; final or final_ot on a
    final)."""

    game_id: str
    home_team: str
    away_team: str
    home_score: int | None
    away_score: int | None
    period: int | None = None
    clock: str | None = None
    scoring_team: str | None = None
    points: int | None = None
    scoring_type: str | None = None  # TD / FG / SF / XP / 2PT
    play_id: str | None = None
    play_text: str | None = None
    play_type: str | None = None
    final: bool = False
    correction: bool = False
    previous_home_score: int | None = None
    previous_away_score: int | None = None
    status: str | None = None


@dataclass(frozen=True)
class PlayData:
    """A turnover, safety or long gain; with `correction`, an alerted turnover ESPN took back."""

    game_id: str
    home_team: str
    away_team: str
    play_id: str
    play_text: str | None
    tags: tuple[str, ...]
    home_score: int | None = None
    away_score: int | None = None
    period: int | None = None
    clock: str | None = None
    team: str | None = None
    play_type: str | None = None
    yards: int | None = None
    correction: bool = False


@dataclass(frozen=True)
class InjuryData:
    player: str
    status: str
    position: str | None = None
    team: str | None = None
    injury: str | None = None
    return_date: str | None = None
    reported_at: datetime | None = None
    previous_status: str | None = None
    starter: bool = False  # first on the team's depth chart at his position
    opponent: str | None = None  # the team's game on the slate: the other team,
    home: bool | None = None  # whether the player's team is at home,
    kickoff: datetime | None = None  # and when it starts


@dataclass(frozen=True)
class LinkedPlay:
    """A play of the moving market's game in the minutes before the move, linked to it.

    `impact_level` is the play's own market reaction on this market when the lane had measured it
    by the time of the move (`measured`); otherwise the play is a candidate linked by time, and
    the level is the move's (what its `price_spike` correlation row says)."""

    play_id: str
    text: str | None
    impact_level: str
    measured: bool = False
    period: int | None = None
    clock: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriceMoveData:
    """A market's price moving past the spike thresholds between two polls: what the market asks
    (`title`, `subtitle` as Kalshi gives them; `line` such as "DAL −3.5" or "Over 44.5" for
    spreads and totals), its game as the board showed it at the move, and the linked plays."""

    ticker: str
    price_before: Decimal | None
    price_after: Decimal | None
    change_pct: Decimal | None
    game_id: str | None = None
    title: str | None = None
    volume: Decimal | None = None
    seconds: float | None = None
    subtitle: str | None = None
    line: str | None = None
    home_team: str | None = None
    away_team: str | None = None
    home_score: int | None = None
    away_score: int | None = None
    period: int | None = None
    clock: str | None = None
    linked_plays: tuple[LinkedPlay, ...] = ()


@dataclass(frozen=True)
class MarketReactionData:
    """A significant play's biggest strong market move, measured after the play."""

    ticker: str
    impact_level: str
    game_id: str
    play_id: str
    event_type: str
    price_before: Decimal | None
    price_after: Decimal | None
    change_pct: Decimal | None
    seconds_after: Decimal | None
    play_time: datetime | None = None
    play_text: str | None = None
    tags: tuple[str, ...] = ()
    period: int | None = None
    clock: str | None = None
    home_team: str | None = None
    away_team: str | None = None


@dataclass(frozen=True)
class EdgeData:
    """A game-winner market priced `edge_points` percentage points below ESPN's live win
    probability of its team (`team` is the cheap side): both numbers, the game's situation, and
    what the book offers (spread, contracts at the best bid and ask)."""

    game_id: str
    ticker: str
    team: str
    home_team: str
    away_team: str
    market_price: Decimal  # mid of YES bid and ask, dollars
    espn_probability: Decimal  # ESPN's win probability of `team`, 0-1
    edge_points: Decimal  # (espn_probability - market_price) * 100
    probability_source: str  # scoreboard / summary
    home_score: int | None = None
    away_score: int | None = None
    period: int | None = None
    clock: str | None = None
    title: str | None = None
    yes_bid: Decimal | None = None
    yes_ask: Decimal | None = None
    spread: Decimal | None = None
    bid_size: Decimal | None = None  # contracts at the best YES bid
    ask_size: Decimal | None = None  # contracts at the best YES ask (the best NO bid)


@dataclass(frozen=True)
class SystemData:
    """A message about the pipeline itself."""

    level: str  # critical / warning / info
    component: str
    message: str


AlertData = ScoreData | PlayData | InjuryData | PriceMoveData | MarketReactionData | SystemData | EdgeData


@dataclass(frozen=True)
class Event:
    """Something detection found that may deserve an alert.

    `key` is the deduplication key: the same key is never alerted twice. `family` groups repeats
    that a cooldown may suppress (the same market spiking again); None means cooldowns never apply.
    `held_since` is when the event was first detected, when a database outage kept it from being
    recorded then: the alert goes out late, and says so.
    """

    alert_type: AlertType
    key: str
    priority: Priority
    occurred_at: datetime
    data: AlertData
    game_id: str | None = None
    family: str | None = None
    held_since: datetime | None = None

    @property
    def held_seconds(self) -> float | None:
        """How late the outage made it, or None when it was recorded as soon as detected."""
        if self.held_since is None:
            return None
        return max(0.0, (self.occurred_at - self.held_since).total_seconds())

    def fields(self) -> dict[str, Any]:
        """The data record as a mapping, for the templates and the stored payload: every required
        field, and the optional ones detection set (a field still at its default says nothing);
        nested records as mappings too."""
        values = {}
        for f in fields(self.data):
            value = getattr(self.data, f.name)
            if f.default is MISSING or value != f.default:
                values[f.name] = _plain(value)
        return values


def _plain(value: Any) -> Any:
    """Nested records (a price move's linked plays) as mappings, like the fields around them."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, tuple) and any(is_dataclass(item) for item in value):
        return tuple(_plain(item) for item in value)
    return value


def system_event(
    level: str, component: str, message: str, now: datetime, key_suffix: str, subject: str | None = None
) -> Event:
    """A message about the pipeline itself; critical ones are high priority.

    The cooldown family is the component's, per level (a warning never holds back a critical
    alert) and per `subject` when there is one (one failing game never silences another's)."""
    priority = Priority.HIGH if level == "critical" else Priority.MEDIUM
    family = f"system:{component}:{level}" + (f":{subject}" if subject else "")
    return Event(
        AlertType.SYSTEM,
        f"system:{component}:{key_suffix}",
        priority,
        now,
        SystemData(level, component, message),
        family=family,
    )
