"""The one face of the non-Kalshi sources the engine uses: ESPN (site and core), the forecast APIs
(OpenWeatherMap, Open-Meteo) and The Odds API, each through its own `HttpSource` (retries,
timeouts, clear `SourceError`s) and its own client module.

Politeness and budgets live in the clients, not in the callers:
* ESPN: one budget shared by both ESPN hosts and every thread (default 1/s and 60/min), served by
  priority: the scoreboard never waits, summaries wait for a slot, and the rest (teams, injury
  lists) also stay within a quarter of the minute's budget. Each priority has its own session,
  so a hung summary never holds the scoreboard's connection.
* Weather: one forecast call per location per 10 minutes at most; domes are never asked about.
* Odds: the client stops before the quota is spent and after a 401 until the next UTC day.
Parsing problems surface as `SourceError` too, so callers handle one exception type. API keys
travel only in query strings, which `SourceError` and the HTTP layer's logs never show.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from nfl_sync.clock import Clock, SystemClock
from nfl_sync.config import Settings
from nfl_sync.domain.backoff import RetryPolicy
from nfl_sync.domain.models import DepthChart, Game, GameSummary, Injury, OddsLine, Weather
from nfl_sync.domain.teams import Team
from nfl_sync.sources.espn.core import EspnCoreClient
from nfl_sync.sources.espn.site import DateRange, EspnSiteClient
from nfl_sync.sources.http import HttpSource, RequestObserver
from nfl_sync.sources.limits import Limiter, PriorityBudget, RateLimiter, per_second
from nfl_sync.sources.odds import OddsClient, OddsQuota
from nfl_sync.sources.recorder import ResponseRecorder
from nfl_sync.sources.weather import WeatherClient, WeatherTarget

log = logging.getLogger(__name__)

# ESPN's priorities: the scoreboard, then summaries of the games that changed, then the rest.
SCOREBOARD, SUMMARIES, BACKGROUND = 0, 1, 2
SCOREBOARD_MIN_DEADLINE = 3.0  # seconds; a scoreboard answer takes well under one


class NFLDataFetcher:
    """Fetches and parses every non-Kalshi source; safe to share between worker threads."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        observer: RequestObserver | None = None,
        *,
        core_injuries_per_team: int = 3,
        rng: Callable[[], float] | None = None,
        recorder: ResponseRecorder | None = None,
    ):
        self.settings = settings
        self.clock = clock or SystemClock()
        espn_budget = PriorityBudget(
            per_second(settings.espn_rate_per_second) + ((settings.espn_rate_per_minute, 60.0),), self.clock
        )

        def source(
            name: str,
            base_url: str,
            limiter: Limiter,
            deadline: float = settings.http_deadline,
            recorder: ResponseRecorder | None = None,
        ) -> HttpSource:
            return HttpSource(
                name,
                base_url,
                clock=self.clock,
                timeout=settings.http_timeout,
                retry=RetryPolicy(max_tries=settings.http_max_tries, deadline=deadline),
                limiter=limiter,
                observer=observer,
                rng=rng or random.random,
                recorder=recorder,
            )

        # The scoreboard is polled every SYNC_INTERVAL: a try that outlives the next poll is pointless.
        scoreboard_deadline = max(SCOREBOARD_MIN_DEADLINE, settings.sync_interval)
        # `recorder` (--record) keeps ESPN's answers; weather and odds are no part of a replay.
        self.espn = source(
            "espn", settings.espn_base_url, espn_budget.limiter(SCOREBOARD), scoreboard_deadline, recorder
        )
        self.espn_summaries = source("espn", settings.espn_base_url, espn_budget.limiter(SUMMARIES), recorder=recorder)
        self.espn_background = source(
            "espn", settings.espn_base_url, espn_budget.limiter(BACKGROUND), recorder=recorder
        )
        self.espn_core = source(
            "espn-core", settings.espn_core_base_url, espn_budget.limiter(BACKGROUND), recorder=recorder
        )
        self.openweather = source(
            "openweathermap", settings.openweather_base_url, RateLimiter(((60, 60.0),), self.clock)
        )
        self.open_meteo = source("open-meteo", settings.open_meteo_base_url, RateLimiter(((600, 60.0),), self.clock))
        self.odds = source("the-odds-api", settings.odds_api_base_url, RateLimiter(((30, 1.0),), self.clock))
        self._site = EspnSiteClient(
            self.espn, self.espn_summaries, self.espn_background, self.clock, settings.cache_ttl
        )
        self._core = EspnCoreClient(
            self.espn_core, self.clock, settings.espn_core_base_url, per_team=core_injuries_per_team
        )
        self._weather = WeatherClient(self.openweather, self.open_meteo, settings.openweather_api_key, self.clock)
        self._odds = OddsClient(self.odds, settings.odds_api_key, self.clock)

    # -- ESPN ------------------------------------------------------------------------------------

    def fetch_scoreboard(self, when: DateRange = None, season_type: int | None = None) -> dict[str, Any]:
        return self._site.fetch_scoreboard(when, season_type)

    def get_scoreboard(self, when: DateRange = None, season_type: int | None = None) -> list[Game]:
        return self._site.get_scoreboard(when, season_type)

    def get_schedule(self, when: DateRange) -> list[Game]:
        return self._site.get_schedule(when)

    def get_play_by_play(self, game_id: str, player_stats: bool = True) -> GameSummary:
        return self._site.get_play_by_play(game_id, player_stats)

    def get_teams(self) -> list[Team]:
        return self._site.get_teams()

    def get_injuries(self) -> list[Injury]:
        """The league-wide `/injuries` list; an empty list is an answer (a quiet week), not a failure."""
        return self._site.get_injuries()

    def get_team_injuries(self, team: Team) -> list[Injury]:
        """One team's newest injury records from the core API, for when the league list fails."""
        return self._core.get_team_injuries(team)

    def get_depth_chart(self, team: Team, season: int) -> DepthChart:
        """Who starts for `team` (the core API's depth chart), at background priority."""
        return self._core.get_depth_chart(team, season)

    # -- Weather and odds ------------------------------------------------------------------------

    def get_weather_for_game(self, target: WeatherTarget, kickoff: datetime | None = None) -> Weather | None:
        return self._weather.get_weather_for_game(target, kickoff)

    @property
    def odds_quota(self) -> OddsQuota:
        return self._odds.quota

    def get_odds(self, games: Iterable[Game] = ()) -> list[OddsLine]:
        return self._odds.get_odds(games)

    def close(self) -> None:
        sources = (self.espn, self.espn_summaries, self.espn_background, self.espn_core)
        for source in (*sources, self.openweather, self.open_meteo, self.odds):
            source.close()
