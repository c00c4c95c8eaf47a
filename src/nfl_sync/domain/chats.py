"""A chat's subscription as the bot keeps it (minimal stand-in for issue 18 part H's record, with
its interface: the merger keeps part H's version)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time


@dataclass(frozen=True)
class ChatSettings:
    """What one chat follows and when it wants to hear: `teams` empty follows every team,
    `alert_types` None takes every type, `quiet_hours` (start, end) in TIMEZONE."""

    chat_id: str
    is_admin: bool
    teams: frozenset[str] = frozenset()
    alert_types: frozenset[str] | None = None
    quiet_hours: tuple[time, time] | None = None
    muted_until: datetime | None = None
    muted_games: frozenset[str] = frozenset()
