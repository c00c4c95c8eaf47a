"""Per-chat subscriptions: what each chat asked for, and which chats an alert goes to (pure).

A chat follows teams (none: every team), chooses alert types (None: every type), may set quiet
hours (local times in the configured zone) and may mute itself until a moment or mute single
games. The outbox asks `recipients` once per alert it records, at the alert's recording time, and
writes one delivery per recipient in the same transaction; a chat that changes its settings later
changes what it gets from then on, not alerts already recorded.

Rules for one chat, in order; the first that applies keeps the alert from it:

1. admins_only: system alerts (the pipeline itself) reach admin chats only.
2. muted: until `muted_until`, nothing at all reaches the chat (a mute is what the user asked
   for; the critical alerts of the direct path still reach the configured chats).
3. game_muted: alerts of a muted game.
4. type_off: alert types the chat switched off.
5. other_teams: a chat that follows teams gets the alerts concerning one of them. An alert
   concerns the teams its data names: home, away, the team of a play or an injury (and the team
   that player's team plays next), a scorer, an edge's side; a market alert that names only its
   game concerns that game's teams (the shell looks them up: `teams`). System alerts concern no
   team and are not filtered by it; other alerts that concern no team reach only chats following
   every team.
6. quiet_hours: inside the chat's quiet hours only high priority goes out, the rule the global
   QUIET_HOURS already follows (scores, finals, turnovers, a starter's injury, a large edge and
   critical system alerts are high priority, so they still arrive).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, tzinfo

from nfl_sync.domain.alert_policy import in_quiet_hours
from nfl_sync.domain.events import AlertType, Event, Priority
from nfl_sync.domain.teams import resolve

ADMINS_ONLY = "admins_only"
MUTED = "muted"
GAME_MUTED = "game_muted"
TYPE_OFF = "type_off"
OTHER_TEAMS = "other_teams"
QUIET = "quiet_hours"
NO_RECIPIENTS = "no_recipients"

# The fields of the alert records that name a team the alert concerns.
_TEAM_FIELDS = ("home_team", "away_team", "team", "scoring_team", "opponent")


@dataclass(frozen=True)
class ChatSettings:
    """One chat's subscription as stored in nfl_chats."""

    chat_id: str
    is_admin: bool = False
    teams: frozenset[str] = frozenset()  # ESPN abbreviations; empty: every team
    alert_types: frozenset[str] | None = None  # None: every type
    quiet_hours: tuple[time, time] | None = None  # local start, end in the configured zone
    muted_until: datetime | None = None
    muted_games: frozenset[str] = frozenset()


def canonical_team(name: str) -> str:
    """ESPN's abbreviation of the team `name` names in any source's spelling; else `name` as is
    (upper case), so an unknown name still matches itself."""
    team = resolve(name)
    return team.abbr if team is not None else name.strip().upper()


def event_teams(event: Event) -> frozenset[str]:
    """The teams `event`'s data names (canonical abbreviations)."""
    names = (getattr(event.data, name, None) for name in _TEAM_FIELDS)
    return frozenset(canonical_team(name) for name in names if isinstance(name, str) and name.strip())


def event_game(event: Event) -> str | None:
    """The game an alert is about: the event's, or the one its data names."""
    game = event.game_id or getattr(event.data, "game_id", None)
    return game if isinstance(game, str) else None


def exclusion(
    event: Event, chat: ChatSettings, now: datetime, tz: tzinfo, teams: Iterable[str] | None = None
) -> str | None:
    """Why `chat` does not get `event` recorded at `now` (one of the rule names above), or None
    when it does. `teams` are the teams the event concerns when its data names none (a market
    alert's game as stored); by default those its data names."""
    system = event.alert_type == AlertType.SYSTEM
    if system and not chat.is_admin:
        return ADMINS_ONLY
    # The pipeline's own health reaches the admins whatever they muted or switched off (a mute or
    # an /alerts choice must not hide that alerts stopped coming); only their quiet hours apply.
    excluded = None if system else _choice_exclusion(event, chat, now, teams)
    if excluded is not None:
        return excluded
    if event.priority != Priority.HIGH and in_quiet_hours(now, chat.quiet_hours, tz):
        return QUIET
    return None


def _choice_exclusion(event: Event, chat: ChatSettings, now: datetime, teams: Iterable[str] | None) -> str | None:
    """What the chat chose against `event`: a mute, the alert type off, other teams."""
    if chat.muted_until is not None and now < chat.muted_until:
        return MUTED
    game = event_game(event)
    if game is not None and game in chat.muted_games:
        return GAME_MUTED
    if chat.alert_types is not None and event.alert_type not in chat.alert_types:
        return TYPE_OFF
    if chat.teams:
        concerned = event_teams(event) or frozenset(canonical_team(team) for team in teams or ())
        if not concerned & {canonical_team(team) for team in chat.teams}:
            return OTHER_TEAMS
    return None


def recipients(
    event: Event, chats: Sequence[ChatSettings], now: datetime, tz: tzinfo, teams: Iterable[str] | None = None
) -> list[str]:
    """The ids of the chats that get `event` recorded at `now`, in the order of `chats`."""
    concerned = tuple(teams or ())
    return [chat.chat_id for chat in chats if exclusion(event, chat, now, tz, concerned) is None]


def no_recipients_reason(
    event: Event, chats: Sequence[ChatSettings], now: datetime, tz: tzinfo, teams: Iterable[str] | None = None
) -> str:
    """The suppression reason of an alert no chat gets: how many chats each rule kept it from."""
    concerned = tuple(teams or ())
    counts = Counter(exclusion(event, chat, now, tz, concerned) for chat in chats)
    detail = ", ".join(f"{rule} {count}" for rule, count in sorted(counts.items(), key=lambda item: str(item[0])))
    return f"{NO_RECIPIENTS}: " + (detail or "no chat is subscribed")
