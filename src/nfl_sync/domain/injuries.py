"""Pure injury news: which new reports are alerted, and how urgently.

"Out", "Doubtful" and a change to "Questionable" are news for a team on the slate. For a starter
(first on ESPN's depth chart at his position) they are high priority: the alert policy sends them
in quiet hours and past the daily limit, since a starting quarterback ruled out moves the lines.
Anyone else, or anyone on a team whose depth chart could not be read, is medium priority. The
engine loads what this needs (the games, the depth charts, the statuses stored before) and passes
`now`; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from nfl_sync.domain.events import AlertType, Event, InjuryData, Priority
from nfl_sync.domain.models import DepthChart, Game, Injury

ALWAYS_NEWS = frozenset({"out", "doubtful"})
QUESTIONABLE = "questionable"  # news when it is a change: not a repeat of the player's last status


@dataclass(frozen=True)
class InjuryContext:
    """What decides an injury report's news beyond the report itself."""

    games: Mapping[str, Game]  # team -> its game on the slate (not over yet)
    previous: Mapping[str, str] = field(default_factory=dict)  # player key -> status stored before
    depth_charts: Mapping[str, DepthChart] = field(default_factory=dict)  # team -> its depth chart

    def starts_at(self, injury: Injury) -> str | None:
        """The position the player starts at, or None when he is not a known starter."""
        chart = self.depth_charts.get(injury.team)
        if chart is None or injury.player_id is None:
            return None
        return chart.starters.get(injury.player_id)


def is_news(injury: Injury, previous_status: str | None) -> bool:
    """Whether the report is alerted at all: Out, Doubtful, or a change to Questionable."""
    status = injury.status.lower()
    if status in ALWAYS_NEWS:
        return True
    return status == QUESTIONABLE and (previous_status or "").lower() != QUESTIONABLE


def injury_news(injuries: Iterable[Injury], context: InjuryContext) -> list[Injury]:
    """The reports alerted, whoever they concern: those the depth charts are needed for."""
    return [i for i in injuries if i.team in context.games and is_news(i, context.previous.get(i.player_key))]


def injury_events(new_injuries: Iterable[Injury], context: InjuryContext, now: datetime) -> list[Event]:
    """An `injury` event per new report that is news, naming the team's game, its kickoff and
    the player's position; high priority for a starter."""
    events = []
    for injury in injury_news(new_injuries, context):
        game = context.games[injury.team]
        home = injury.team == game.home_team
        position = context.starts_at(injury)
        previous = context.previous.get(injury.player_key)
        data = InjuryData(
            player=injury.player,
            status=injury.status,
            position=injury.position or position,
            team=injury.team,
            injury=injury.injury,
            return_date=injury.return_date,
            reported_at=injury.reported_at,
            previous_status=previous if previous and previous.lower() != injury.status.lower() else None,
            starter=position is not None,
            opponent=game.away_team if home else game.home_team,
            home=home,
            kickoff=game.start_time,
        )
        day = (injury.reported_at or now).date().isoformat()
        events.append(
            Event(
                AlertType.INJURY,
                f"injury:{injury.player_key}:{injury.status.lower()}:{day}",
                Priority.HIGH if position is not None else Priority.MEDIUM,
                now,
                data,
                game.game_id,
                family=f"injury:{injury.player_key}",
            )
        )
    return events
