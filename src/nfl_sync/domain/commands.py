"""The bot's commands as text: what a message asks for, its arguments, and the per-chat limit.

Pure: the shell (`alerts/commands.py`) reads the database and Telegram; everything here takes
text (and the time) and returns values, so each rule is tested without a bot.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from nfl_sync.domain.events import AlertType

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Subscribe this chat"),
    ("help", "What the bot can do"),
    ("follow", "Follow teams: /follow DAL PHI"),
    ("unfollow", "Stop following teams (all without names)"),
    ("following", "The teams this chat follows"),
    ("alerts", "Alert types: /alerts off kalshi_price"),
    ("quiet", "Quiet hours: /quiet 23:00-07:00 or /quiet off"),
    ("mute", "Mute: /mute 2h, /mute 30m, /mute game [team]"),
    ("unmute", "End a mute"),
    ("games", "Live and today's games"),
    ("status", "Is the bot healthy"),
    ("chart", "A game's chart: /chart [team]"),
)
COMMAND_NAMES = frozenset(name for name, _ in COMMANDS)

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.S)


@dataclass(frozen=True)
class Command:
    name: str  # lower case, without the slash and the bot's @name
    args: str  # the rest of the message, stripped


def parse_command(text: str, bot_username: str | None = None) -> Command | None:
    """The command a message holds ("/follow@MyBot DAL" -> follow, "DAL"), or None when it is
    no command or is addressed to another bot (in a group, "/status@OtherBot")."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name, addressee, args = match.groups()
    if addressee and bot_username and addressee.casefold() != bot_username.casefold():
        return None
    return Command(name.casefold(), (args or "").strip())


# Longest unit names first: "90 min" must not stop at its "m".
_DURATION_PART = re.compile(r"(\d+)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m)")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
MAX_MUTE = timedelta(days=7)


def parse_duration(text: str) -> timedelta | None:
    """ "2h", "30m", "1h30m", "90 min", "1 day" as a duration of at most MAX_MUTE; None when the
    text is no duration (or zero, or longer)."""
    compact = text.strip().casefold()
    position, total = 0, timedelta()
    for match in _DURATION_PART.finditer(compact):
        if compact[position : match.start()].strip():
            return None
        total += int(match.group(1)) * _UNITS[match.group(2)[0]]
        position = match.end()
    if position == 0 or compact[position:].strip() or not timedelta() < total <= MAX_MUTE:
        return None
    return total


_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")


def _clock(text: str) -> time | None:
    match = _CLOCK.match(text.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """ "23:00-07:00" (or "23-7", "22:30 - 6:45") as (start, end); None when malformed or empty."""
    start, dash, end = text.partition("-")
    if not dash:
        return None
    first, last = _clock(start), _clock(end)
    if first is None or last is None or first == last:
        return None
    return first, last


# What users call the alert types, beside their own names.
ALERT_TYPE_NAMES: dict[str, AlertType] = {
    **{alert_type.value: alert_type for alert_type in AlertType},
    "scores": AlertType.SCORE,
    "plays": AlertType.SIGNIFICANT_PLAY,
    "play": AlertType.SIGNIFICANT_PLAY,
    "injuries": AlertType.INJURY,
    "price": AlertType.KALSHI_PRICE,
    "prices": AlertType.KALSHI_PRICE,
    "kalshi": AlertType.KALSHI_PRICE,
    "reactions": AlertType.MARKET_REACTION,
    "reaction": AlertType.MARKET_REACTION,
    "edges": AlertType.EDGE,
}
# System alerts go to admin chats whatever they choose; the others are the chat's to pick.
CHOOSABLE_TYPES: tuple[AlertType, ...] = tuple(t for t in AlertType if t is not AlertType.SYSTEM)


@dataclass(frozen=True)
class AlertsChange:
    """`/alerts on|off TYPES|all`: the types the chat takes afterwards (None: every type)."""

    types: frozenset[str] | None
    unknown: tuple[str, ...] = ()


def change_alert_types(current: frozenset[str] | None, args: str) -> AlertsChange | None:
    """The chat's alert types after `/alerts on ...` or `/alerts off ...`, from `current` (None
    is every type); None when `args` is no change (the caller lists the types)."""
    words = args.replace(",", " ").casefold().split()
    if not words or words[0] not in ("on", "off"):
        return None
    switch_on, names = words[0] == "on", words[1:]
    if not names:
        return None
    chosen = frozenset(t.value for t in CHOOSABLE_TYPES)
    if names == ["all"]:
        return AlertsChange(None if switch_on else frozenset())
    unknown = tuple(name for name in names if name not in ALERT_TYPE_NAMES)
    named = frozenset(ALERT_TYPE_NAMES[name].value for name in names if name in ALERT_TYPE_NAMES)
    now_on = chosen if current is None else current & chosen
    after = now_on | named if switch_on else now_on - named
    return AlertsChange(None if after >= chosen else after, unknown)


class Verdict(StrEnum):
    ANSWER = "answer"
    SLOW_DOWN = "slow_down"  # over the limit: one "slow down" reply for the burst
    IGNORE = "ignore"  # still over the limit, already told


@dataclass
class CommandLimiter:
    """At most `limit` commands per chat within `window` seconds (a sliding window on the
    caller's monotonic clock). The first command over the limit is answered "slow down", the
    rest of the burst is ignored, so a flood never makes the bot flood back."""

    limit: int = 10
    window: float = 60.0
    _seen: dict[str, deque[float]] = field(default_factory=dict)
    _told: set[str] = field(default_factory=set)

    def check(self, chat_id: str, now: float) -> Verdict:
        seen = self._seen.setdefault(chat_id, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) < self.limit:
            seen.append(now)
            self._told.discard(chat_id)
            return Verdict.ANSWER
        if chat_id in self._told:
            return Verdict.IGNORE
        self._told.add(chat_id)
        return Verdict.SLOW_DOWN

    def forget_idle(self, now: float) -> None:
        """Drop the chats with no command within the window, so the table stays small."""
        for chat_id in [c for c, seen in self._seen.items() if not seen or seen[-1] <= now - self.window]:
            del self._seen[chat_id]
            self._told.discard(chat_id)


@dataclass(frozen=True)
class GameLine:
    """One game of `/games`: the scoreboard's row, ESPN's home win probability, and the last
    price (mid of bid and ask, else the last trade) of each team's game-winner market."""

    game_id: str
    away_team: str
    home_team: str
    away_score: int | None
    home_score: int | None
    state: str  # pre / in / post
    status: str
    period: int | None
    clock: str | None
    start_time: datetime | None
    home_win_pct: Decimal | None = None
    prices: Mapping[str, Decimal] = field(default_factory=dict)  # team -> price of its "wins" market


def current_game(lines: Sequence[GameLine], teams: Iterable[str]) -> GameLine | None:
    """The game a chat means by "the game" of `teams` (any game when none is named): the one
    live, else the next to start, else the last to end; None when it is not clear which (two
    live games of the teams, or of the league when no team is named)."""
    wanted = frozenset(teams)
    mine = [g for g in lines if not wanted or wanted & {g.away_team, g.home_team}]
    for state in ("in", "pre"):
        games = [g for g in mine if g.state == state]
        if games:
            return games[0] if len(games) == 1 or (state == "pre" and wanted) else None
    return mine[-1] if len(mine) == 1 or (mine and wanted) else None
