"""The injury lane: ESPN's league injury list every INJURY_INTERVAL, and its news alerted ("Out",
"Doubtful", a change to "Questionable"; high priority for a starter, by the team's depth chart,
fetched once per team and week when the team has news).

When the league list fails, the core API's per-team lists stand in. That round takes one team per
step, spread over the injury cadence (32 teams in 5 minutes), so it never bursts into ESPN's
budget; three teams failing in a row abandon it until the next cadence (the host is down). An
empty league list is an answer, a quiet week, not a reason to ask 32 teams.
"""

from __future__ import annotations

import logging
from datetime import datetime

from nfl_sync.domain import teams
from nfl_sync.domain.calendar import season_year
from nfl_sync.domain.errors import SourceError
from nfl_sync.domain.injuries import InjuryContext, injury_events, injury_news
from nfl_sync.domain.models import DepthChart, Game, Injury
from nfl_sync.domain.teams import Team
from nfl_sync.engine.board import GameBoard
from nfl_sync.engine.lanes import Lane
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.shell import Shell
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)

ABANDON_AFTER = 3  # teams failing in a row before a core round is given up


class InjuryLane(Lane):
    name = "injuries"

    def __init__(self, shell: Shell, board: GameBoard):
        super().__init__(shell)
        self.board = board
        self.baseline = False  # whether a whole list was ever stored: until then, reports are not news
        self._round: list[Team] = []  # teams still to ask in a core-API round
        self._round_failures = 0
        self._round_found = 0  # reports the round has read so far
        # team -> (season, season type, week) of the depth chart kept, and the chart
        self._depth_charts: dict[str, tuple[tuple[int | None, int | None, int | None], DepthChart]] = {}

    def interval(self, now: datetime) -> float | None:
        interval = self.shell.settings.injury_interval
        if not interval:
            return None
        return interval / len(teams.all_teams()) if self._round else interval

    def step(self, report: CycleReport) -> int:
        if self._round:
            return self._core_step(report)
        try:
            injuries = self.shell.fetcher.get_injuries()
        except SourceError as error:
            log.warning("%s; reading the core API's team injury lists instead, one team at a time", error)
            self._round = list(teams.all_teams())
            self._round_failures = self._round_found = 0
            return self._core_step(report)
        return self._store(injuries, report, whole_list_found=bool(injuries))

    def _core_step(self, report: CycleReport) -> int:
        team = self._round.pop(0)
        try:
            injuries = self.shell.fetcher.get_team_injuries(team)
        except SourceError:
            self._round_failures += 1
            if self._round_failures >= ABANDON_AFTER:
                log.warning(
                    "espn-core: %d teams failed in a row; injury lists wait for the next cadence", ABANDON_AFTER
                )
                self._round = []
            raise
        self._round_failures = 0
        self._round_found += len(injuries)
        return self._store(injuries, report, whole_list_found=not self._round and self._round_found > 0)

    def _store(self, injuries: list[Injury], report: CycleReport, whole_list_found: bool) -> int:
        """Store the reports; alert the news of teams on the slate (`domain.injuries`) once a
        whole list was ever stored (the first one is the baseline: those reports are not news)."""
        now = self.shell.clock.now()
        baseline = self.baseline
        context = self._context(injuries, now) if baseline else None

        def write(tx: Tx) -> int:
            new = tx.games.upsert_injuries(injuries, now)
            events = injury_events(new, context, now) if context is not None else []
            self.shell.alerts.record(tx, events, now)
            report.events.extend(events)
            return len(new)

        new_count = self.shell.db.run(write)
        if report.events:
            self.shell.alerts.wake()
        self.baseline = self.baseline or whole_list_found
        return new_count

    def _context(self, injuries: list[Injury], now: datetime) -> InjuryContext:
        """The slate, the statuses stored before, and the depth charts of the teams with news."""
        games = self.board.games_by_team()

        def read(tx: Tx) -> tuple[list[Injury], dict[str, str]]:
            new = tx.games.unseen_injuries(injuries, now)
            return new, tx.games.injury_statuses(i.player_key for i in new)

        new, previous = self.shell.db.run(read)
        context = InjuryContext(games, previous)
        teams_with_news = {i.team for i in injury_news(new, context)}
        charts = {team: chart for team in teams_with_news if (chart := self._depth_chart(team, games[team]))}
        return InjuryContext(games, previous, charts)

    def _depth_chart(self, team: str, game: Game) -> DepthChart | None:
        """The team's depth chart for its game's week: fetched once per team and week, off the
        fast lane; None when ESPN fails (its players are then not known starters, and the chart
        is asked for again at the next news)."""
        week = (game.season, game.season_type, game.week)
        cached = self._depth_charts.get(team)
        if cached is not None and cached[0] == week:
            return cached[1]
        found = teams.resolve(team)
        if found is None:
            return None
        season = game.season or season_year(self.shell.clock.now())
        try:
            chart = self.shell.fetcher.get_depth_chart(found, season)
        except SourceError as error:
            log.warning("%s; %s's injury news goes out without knowing its starters", error, team)
            return None
        self._depth_charts[team] = (week, chart)
        return chart
