"""The one face of the non-Kalshi sources the engine uses: ESPN (site and core), the forecast APIs
(OpenWeatherMap, Open-Meteo) and The Odds API, each through its own `HttpSource` (retries,
timeouts, clear `SourceError`s) and its own client module.

Politeness and budgets live in the clients, not in the callers:
* ESPN: one `RateLimiter` shared by both ESPN hosts and every thread (default 1/s and 60/min).
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
from nfl_sync.domain.errors import SourceError
from nfl_sync.domain.models import Game, GameSummary, Injury, OddsLine, Weather
from nfl_sync.domain.teams import Team
from nfl_sync.sources.espn.core import EspnCoreClient
from nfl_sync.sources.espn.site import DateRange, EspnSiteClient
from nfl_sync.sources.http import HttpSource, RequestObserver
from nfl_sync.sources.limits import Limiter, RateLimiter, per_second
from nfl_sync.sources.odds import OddsClient, OddsQuota
from nfl_sync.sources.weather import WeatherClient, WeatherTarget

log = logging.getLogger(__name__)


class NFLDataFetcher:
    """Fetches and parses every non-Kalshi source; safe to share between worker threads."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        observer: RequestObserver | None = None,
        *,
        max_core_injury_calls: int = 40,
        core_injuries_per_team: int = 3,
        rng: Callable[[], float] | None = None,
    ):
        self.settings = settings
        self.clock = clock or SystemClock()
        retry = RetryPolicy(max_tries=settings.http_max_tries)
        espn_limiter = RateLimiter(
            per_second(settings.espn_rate_per_second) + ((settings.espn_rate_per_minute, 60.0),), self.clock
        )

        def source(name: str, base_url: str, limiter: Limiter) -> HttpSource:
            return HttpSource(
                name,
                base_url,
                clock=self.clock,
                timeout=settings.http_timeout,
                retry=retry,
                limiter=limiter,
                observer=observer,
                rng=rng or random.random,
            )

        self.espn = source("espn", settings.espn_base_url, espn_limiter)
        self.espn_core = source("espn-core", settings.espn_core_base_url, espn_limiter)
        self.openweather = source(
            "openweathermap", settings.openweather_base_url, RateLimiter(((60, 60.0),), self.clock)
        )
        self.open_meteo = source("open-meteo", settings.open_meteo_base_url, RateLimiter(((600, 60.0),), self.clock))
        self.odds = source("the-odds-api", settings.odds_api_base_url, RateLimiter(((30, 1.0),), self.clock))
        self._site = EspnSiteClient(self.espn, self.clock, settings.cache_ttl)
        self._core = EspnCoreClient(
            self.espn_core,
            self.clock,
            settings.espn_core_base_url,
            max_calls=max_core_injury_calls,
            per_team=core_injuries_per_team,
        )
        self._weather = WeatherClient(self.openweather, self.open_meteo, settings.openweather_api_key, self.clock)
        self._odds = OddsClient(self.odds, settings.odds_api_key, self.clock)

    # -- ESPN ------------------------------------------------------------------------------------

    def fetch_scoreboard(self, when: DateRange = None, season_type: int | None = None) -> dict[str, Any]:
        return self._site.fetch_scoreboard(when, season_type)

    def get_scoreboard(self, when: DateRange = None, season_type: int | None = None) -> list[Game]:
        return self._site.get_scoreboard(when, season_type)

    def get_play_by_play(self, game_id: str, player_stats: bool = True) -> GameSummary:
        return self._site.get_play_by_play(game_id, player_stats)

    def get_teams(self) -> list[Team]:
        return self._site.get_teams()

    def get_injuries(self) -> list[Injury]:
        """League-wide `/injuries`; when it fails or is empty, the core API's per-team lists
        (within a budget of `max_core_injury_calls` requests per run)."""
        try:
            injuries = self._site.get_injuries()
        except SourceError as error:
            log.warning("%s; falling back to the core API team injury lists", error)
        else:
            if injuries:
                return injuries
            log.info("espn /injuries returned no injuries; falling back to the core API team injury lists")
        return self._core.get_injuries()

    # -- Weather and odds ------------------------------------------------------------------------

    def get_weather_for_game(self, target: WeatherTarget, kickoff: datetime | None = None) -> Weather | None:
        return self._weather.get_weather_for_game(target, kickoff)

    @property
    def odds_quota(self) -> OddsQuota:
        return self._odds.quota

    def get_odds(self, games: Iterable[Game] = ()) -> list[OddsLine]:
        return self._odds.get_odds(games)

    def close(self) -> None:
        for source in (self.espn, self.espn_core, self.openweather, self.open_meteo, self.odds):
            source.close()
