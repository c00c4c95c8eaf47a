"""Recorded games played live, for the daemon on the real clock: one score change at a time.

A replay moves the daemon's clock; a stage cannot, because the daemon it serves runs on the real
clock (its rate limits, retries and timeouts wait in real seconds, which is what a live benchmark
measures). So the games move instead: each recording is shifted to kick off at the current
minute, so that the daemon asks for today's dates and sees every play as news, and the fake
ESPN and Kalshi servers read a stage clock that stands still until `reveal` moves it on to the
next score change. Between reveals the servers answer the same documents, as ESPN does between
plays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Self

from nfl_replay.clock import SimulatedClock
from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.faults import FaultPlan
from nfl_replay.http import Request, Response, json_response
from nfl_replay.kalshi_server import FakeKalshiServer
from nfl_replay.timeline import GameTimeline
from nfl_sync.domain.calendar import eastern_date

HANG_SECONDS = 3600.0  # "never", for a test: the hold ends when the server stops


@dataclass(frozen=True)
class ScoreChange:
    """One score change of a staged game: when it shows, and the score it shows, as ESPN's
    scoreboard tells it (away first)."""

    game_id: str
    visible_at: datetime  # stage time
    away: int
    home: int
    label: str  # "GB 7 @ ATL 3"


def kickoff_for(now: datetime) -> datetime:
    """The whole minute (ESPN's precision) a staged game kicks off at: the next one, so that
    every play is later than the moment the daemon first sees the game, unless that minute is
    already tomorrow in New York (the daemon would not ask for that date yet)."""
    minute = now.replace(second=0, microsecond=0)
    later = minute + timedelta(minutes=1)
    return later if eastern_date(later) == eastern_date(now) else minute


class LiveStage:
    """`games` kicking off together now, served by fake ESPN and Kalshi servers on a stage clock.

    The games must have distinct ids and teams (a Kalshi ticker is date + teams). Use as a
    context manager, or `start` / `stop`.
    """

    def __init__(
        self,
        games: Sequence[GameTimeline],
        now: datetime,
        *,
        espn_faults: FaultPlan | None = None,
        kalshi_faults: FaultPlan | None = None,
    ):
        kickoff = kickoff_for(now)
        self.games = [game.with_id(game.game_id, kickoff - game.kickoff) for game in games]
        self.clock = SimulatedClock(kickoff)  # no speed: it moves only when told
        self.espn = FakeESPNServer(self.games, self.clock, espn_faults)
        self.kalshi = FakeKalshiServer(self.games, self.clock, faults=kalshi_faults)
        self.changes = sorted((c for game in self.games for c in score_changes(game)), key=lambda c: c.visible_at)
        self._failing_summaries: set[str] = set()
        self._hanging_summaries: set[str] = set()
        self.espn.route("GET", "/summary", self._summary_or_failure, first=True)
        self.espn.route("GET", "/injuries", self._injuries_or_failure, first=True)
        self.league_injuries_fail = False

    def start(self) -> Self:
        self.espn.start()
        self.kalshi.start()
        return self

    def stop(self) -> None:
        self.espn.stop()
        self.kalshi.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reveal(self, change: ScoreChange) -> None:
        """Move the stage on to the moment `change` shows (and every play before it)."""
        if change.visible_at > self.clock.now():
            self.clock.set(change.visible_at)

    def fail_summaries_of(self, game_id: str) -> None:
        """From now on the game's `/summary` answers 503, as ESPN does when one event's document
        cannot be built."""
        self._failing_summaries.add(game_id)

    def hang_summaries_of(self, game_id: str) -> None:
        """From now on the game's `/summary` never answers (until the stage stops)."""
        self._hanging_summaries.add(game_id)

    def scoreboard_polls(self) -> list[float]:
        """When each scoreboard request arrived (time.monotonic()), in order."""
        return [r.received_at for r in self.espn.requests if r.path.endswith("/scoreboard")]

    def _summary_or_failure(self, request: Request) -> Response:
        event = request.arg("event")
        if event in self._failing_summaries:
            return json_response({"code": 503, "message": "Service Unavailable"}, 503)
        if event in self._hanging_summaries:
            return replace(self.espn.summary(request), hold_seconds=HANG_SECONDS)
        return self.espn.summary(request)

    def _injuries_or_failure(self, request: Request) -> Response:
        if self.league_injuries_fail:
            return json_response({"code": 503, "message": "Service Unavailable"}, 503)
        return self.espn.injuries(request)


def score_changes(game: GameTimeline) -> list[ScoreChange]:
    """The game's score changes, in order."""
    away_team, home_team = game.away_team["abbreviation"], game.home_team["abbreviation"]
    changes, score = [], (0, 0)
    for play in game.plays:
        now = (play.away_score, play.home_score)
        if now != score:
            label = f"{away_team} {now[0]} @ {home_team} {now[1]}"
            changes.append(ScoreChange(game.game_id, play.visible_at, now[0], now[1], label))
            score = now
    return changes
