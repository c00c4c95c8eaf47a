"""The injury lane: ESPN's league injury list every INJURY_INTERVAL, and new "Out"s alerted.

When the league list fails, the core API's per-team lists stand in. That round takes one team per
step, spread over the injury cadence (32 teams in 5 minutes), so it never bursts into ESPN's
budget; three teams failing in a row abandon it until the next cadence (the host is down). An
empty league list is an answer, a quiet week, not a reason to ask 32 teams.
"""

from __future__ import annotations

import logging
from datetime import datetime

from nfl_sync.domain import teams
from nfl_sync.domain.detection import injury_events
from nfl_sync.domain.errors import SourceError
from nfl_sync.domain.models import Injury
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
        """Store the reports; alert the new "Out"s of teams on the slate once a whole list was
        ever stored (the first one is the baseline: those reports are not news)."""
        now = self.shell.clock.now()
        teams_in_play = self.board.teams_in_play()
        baseline = self.baseline

        def write(tx: Tx) -> int:
            new = tx.games.upsert_injuries(injuries, now)
            events = injury_events(new, teams_in_play, now) if baseline else []
            self.shell.alerts.record(tx, events, now)
            report.events.extend(events)
            return len(new)

        new_count = self.shell.db.run(write)
        if report.events:
            self.shell.alerts.wake()
        self.baseline = self.baseline or whole_list_found
        return new_count
