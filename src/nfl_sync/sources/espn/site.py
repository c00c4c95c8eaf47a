"""ESPN's site API over HTTP: the scoreboard of a day or a date range, a game's summary, the teams
(cached) and the league injury list, parsed into domain records. Each kind of call has its own
`HttpSource` (its own session and its place in ESPN's budget, which the core API shares).
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any

from nfl_sync.clock import Clock
from nfl_sync.domain.calendar import eastern_date
from nfl_sync.domain.errors import ParseError
from nfl_sync.domain.models import Game, GameSummary, Injury
from nfl_sync.domain.teams import Team
from nfl_sync.sources.espn.injuries import parse_injuries
from nfl_sync.sources.espn.scoreboard import parse_scoreboard
from nfl_sync.sources.espn.summary import parse_summary
from nfl_sync.sources.espn.teams import parse_teams
from nfl_sync.sources.http import HttpSource
from nfl_sync.sources.limits import TTLCache

log = logging.getLogger(__name__)

# Parts of summaries said to be left out, remembered so each is said once rather than every poll;
# forgotten all at once past this many (a part still bad is said once more then).
_SAID_PARTS_LIMIT = 4096

# A day, a (first, last) pair, ESPN's own "YYYYMMDD[-YYYYMMDD]" text, or None for today.
DateRange = date | datetime | tuple[date | datetime, date | datetime] | str | None


class EspnSiteClient:
    """The site API's endpoints the pipeline reads; dates are US Eastern days, as ESPN's are."""

    def __init__(
        self, scoreboard: HttpSource, summaries: HttpSource, background: HttpSource, clock: Clock, teams_ttl: float
    ):
        self.http = scoreboard
        self.summaries = summaries
        self.background = background
        self.clock = clock
        self._teams_cache: TTLCache[list[Team]] = TTLCache(teams_ttl, clock, max_entries=4)
        self._said_parts: set[str] = set()

    def fetch_scoreboard(self, when: DateRange = None, season_type: int | None = None) -> dict[str, Any]:
        """The raw `/scoreboard` JSON for a date, a (first, last) range or ESPN's "YYYYMMDD-YYYYMMDD"
        text; today (US Eastern) by default.

        `dates=` is always sent: without it ESPN answers with "the current week" as it sees it,
        which differs around midnight and in the off-season.
        """
        return self._fetch_scoreboard(self.http, when, season_type)

    def get_scoreboard(self, when: DateRange = None, season_type: int | None = None) -> list[Game]:
        """The games of the scoreboard (the live poll: ESPN's budget never holds it back); an event
        that does not parse is logged and left out."""
        return self._games(self.http, when, season_type)

    def get_schedule(self, when: DateRange) -> list[Game]:
        """The games of a date range at background priority: the week ahead waits its turn behind
        the live scoreboard and the summaries."""
        return self._games(self.background, when, None)

    def _fetch_scoreboard(self, http: HttpSource, when: DateRange, season_type: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {"dates": self._dates_param(when)}
        if season_type is not None:
            params["seasontype"] = season_type
        data: dict[str, Any] = http.get_json("scoreboard", params)
        return data

    def _games(self, http: HttpSource, when: DateRange, season_type: int | None) -> list[Game]:
        def bad_event(error: ParseError) -> None:
            log.error("ESPN scoreboard: an event is left out, it does not parse: %s", error)

        data = self._fetch_scoreboard(http, when, season_type)
        return http.parse("scoreboard", lambda d: parse_scoreboard(d, bad_event), data)

    def get_play_by_play(self, game_id: str, player_stats: bool = True) -> GameSummary:
        """The game's `/summary`: header, plays (ordered, de-duplicated), scoring, win probability,
        and the box score's player stats unless `player_stats` is False."""
        data = self.summaries.get_json("summary", {"event": str(game_id)})
        return self.summaries.parse("summary", lambda d: parse_summary(d, player_stats, self._bad_part), data)

    def _bad_part(self, error: ParseError) -> None:
        """A part of a summary that does not parse, left out: said once per game, part and problem
        (the message names all three), not on every poll of the game."""
        message = str(error)
        if message in self._said_parts:
            return
        if len(self._said_parts) >= _SAID_PARTS_LIMIT:
            self._said_parts.clear()
        self._said_parts.add(message)
        log.warning("ESPN %s (left out, the rest of the summary is used)", message)

    def get_teams(self) -> list[Team]:
        """`/teams`, cached for `teams_ttl` seconds."""

        def load() -> list[Team]:
            return self.background.parse("teams", parse_teams, self.background.get_json("teams"))

        return self._teams_cache.get_or_load("teams", load)

    def get_injuries(self) -> list[Injury]:
        """The league-wide `/injuries` list."""
        return self.background.parse("injuries", parse_injuries, self.background.get_json("injuries"))

    def _dates_param(self, when: DateRange) -> str:
        if isinstance(when, str):
            if not re.fullmatch(r"\d{8}(-\d{8})?", when):
                raise ValueError(f"scoreboard dates must be YYYYMMDD or YYYYMMDD-YYYYMMDD, got {when!r}")
            return when
        if when is None:
            return f"{eastern_date(self.clock.now()):%Y%m%d}"
        if isinstance(when, tuple):
            start, end = (self._local_date(value) for value in when)
            if end < start:
                raise ValueError(f"scoreboard range ends before it starts: {start} - {end}")
            return f"{start:%Y%m%d}-{end:%Y%m%d}"
        return f"{self._local_date(when):%Y%m%d}"

    def _local_date(self, value: date | datetime) -> date:
        if isinstance(value, datetime):
            return eastern_date(value) if value.tzinfo else value.date()
        return value
