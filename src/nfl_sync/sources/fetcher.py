"""The HTTP shell around the pure parsers: ESPN (site and core), OpenWeatherMap, Open-Meteo and
The Odds API, each through its own `HttpSource` (retries, timeouts, clear `SourceError`s).

Politeness and budgets live here, not in the callers:
* ESPN: one `RateLimiter` shared by both ESPN hosts and every thread (default 1/s and 60/min).
* Weather: one forecast call per location per 10 minutes at most (cached per location); domes
  are never asked about.
* Odds: the quota headers are recorded after every call; the fetcher stops before the quota is
  spent, and a 401 (no credits, bad key) switches odds off until the next UTC day of the
  injected clock, logged once.
Parsing problems surface as `SourceError` too, so callers handle one exception type. API keys
travel only in query strings, which `SourceError` and the HTTP layer's logs never show.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from nfl_sync.clock import Clock, SystemClock
from nfl_sync.config import DEFAULT_ESPN_CORE_BASE_URL, Settings
from nfl_sync.domain import teams
from nfl_sync.domain.backoff import RetryPolicy
from nfl_sync.domain.errors import ParseError, SourceError
from nfl_sync.domain.models import Game, GameSummary, Injury, OddsLine, Weather
from nfl_sync.sources import odds_parser, weather_parser
from nfl_sync.sources.espn.injuries import parse_core_injury, parse_injuries
from nfl_sync.sources.espn.scoreboard import parse_scoreboard
from nfl_sync.sources.espn.summary import parse_summary
from nfl_sync.sources.espn.teams import parse_teams
from nfl_sync.sources.http import HttpSource, RequestObserver
from nfl_sync.sources.limits import RateLimiter, TTLCache, per_second

log = logging.getLogger(__name__)

WEATHER_CACHE_SECONDS = 600.0  # OpenWeatherMap asks for no more than one call per location per 10 minutes
ODDS_SPORT_PATH = "sports/americanfootball_nfl/odds"
ODDS_MARKETS = "h2h,spreads,totals"
ODDS_REGIONS = "us"
ODDS_CALL_COST = len(ODDS_MARKETS.split(",")) * len(ODDS_REGIONS.split(","))  # markets x regions credits
OPEN_METEO_HOURLY = (
    "temperature_2m,precipitation,precipitation_probability,snowfall,wind_speed_10m,wind_gusts_10m,weather_code"
)

WeatherTarget = Game | teams.Team | teams.Venue | str
# A day, a (first, last) pair, ESPN's own "YYYYMMDD[-YYYYMMDD]" text, or None for today.
DateRange = date | datetime | tuple[date | datetime, date | datetime] | str | None


@dataclass(frozen=True)
class OddsQuota:
    """What The Odds API's headers said after the last call (None until the first one)."""

    remaining: int | None = None
    used: int | None = None
    last: int | None = None
    disabled_until: date | None = None  # UTC date on which odds calls may resume
    reason: str | None = None


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
        self.max_core_injury_calls = max_core_injury_calls
        self.core_injuries_per_team = core_injuries_per_team
        self._core_lock = threading.Lock()
        self._core_next = 0  # index of the team the next core fallback run starts with
        retry = RetryPolicy(max_tries=settings.http_max_tries)
        espn_limiter = RateLimiter(
            per_second(settings.espn_rate_per_second) + ((settings.espn_rate_per_minute, 60.0),), self.clock
        )

        def source(name: str, base_url: str, limiter: Any = None) -> HttpSource:
            extra = {"rng": rng} if rng is not None else {}
            return HttpSource(
                name,
                base_url,
                clock=self.clock,
                timeout=settings.http_timeout,
                retry=retry,
                limiter=limiter,
                observer=observer,
                **extra,
            )

        self.espn = source("espn", settings.espn_base_url, espn_limiter)
        self.espn_core = source("espn-core", settings.espn_core_base_url, espn_limiter)
        self.openweather = source(
            "openweathermap", settings.openweather_base_url, RateLimiter(((60, 60.0),), self.clock)
        )
        self.open_meteo = source("open-meteo", settings.open_meteo_base_url, RateLimiter(((600, 60.0),), self.clock))
        self.odds = source("the-odds-api", settings.odds_api_base_url, RateLimiter(((30, 1.0),), self.clock))
        self._teams_cache = TTLCache(settings.cache_ttl, self.clock, max_entries=4)
        self._weather_cache = TTLCache(WEATHER_CACHE_SECONDS, self.clock)
        self._odds_lock = threading.Lock()
        self._odds_quota = OddsQuota()

    # -- ESPN ------------------------------------------------------------------------------------

    def fetch_scoreboard(self, when: DateRange = None, season_type: int | None = None) -> dict:
        """The raw `/scoreboard` JSON for a date, a (first, last) range or ESPN's "YYYYMMDD-YYYYMMDD"
        text; today (settings timezone) by default.

        `dates=` is always sent: without it ESPN answers with "the current week" as it sees it,
        which differs around midnight and in the off-season.
        """
        params: dict[str, Any] = {"dates": self._dates_param(when)}
        if season_type is not None:
            params["seasontype"] = season_type
        return self.espn.get_json("scoreboard", params)

    def get_scoreboard(self, when: DateRange = None, season_type: int | None = None) -> list[Game]:
        return self._parse(self.espn, "scoreboard", parse_scoreboard, self.fetch_scoreboard(when, season_type))

    def get_play_by_play(self, game_id: str, player_stats: bool = True) -> GameSummary:
        """The game's `/summary`: header, plays (ordered, de-duplicated), scoring, win probability,
        and the box score's player stats unless `player_stats` is False."""
        data = self.espn.get_json("summary", {"event": str(game_id)})
        return self._parse(self.espn, "summary", lambda d: parse_summary(d, player_stats), data)

    def get_teams(self) -> list[teams.Team]:
        """ESPN's `/teams`, cached for settings.cache_ttl seconds."""

        def load() -> list[teams.Team]:
            return self._parse(self.espn, "teams", parse_teams, self.espn.get_json("teams"))

        return self._teams_cache.get_or_load("teams", load)

    def get_injuries(self) -> list[Injury]:
        """League-wide `/injuries`; when it fails or is empty, the core API's per-team lists.

        The fallback makes at most `max_core_injury_calls` requests per run (the newest
        `core_injuries_per_team` records of each team it reaches) and never follows `.pvt`
        (private host) links.
        """
        try:
            injuries = self._parse(self.espn, "injuries", parse_injuries, self.espn.get_json("injuries"))
        except SourceError as error:
            log.warning("%s; falling back to the core API team injury lists", error)
        else:
            if injuries:
                return injuries
            log.info("espn /injuries returned no injuries; falling back to the core API team injury lists")
        return self._core_injuries()

    def _core_injuries(self) -> list[Injury]:
        """Per-team core lists within a budget of `max_core_injury_calls` requests per run.

        Every call (list or record) counts, because they share ESPN's 60/min limiter with live
        play-by-play. Each run resumes at the team after the last one it reached, so successive
        runs cover the league in turn.
        """
        season = self._season_year()
        all_teams = teams.all_teams()
        budget = self.max_core_injury_calls
        found: list[Injury] = []
        failures = attempted = 0
        while budget > 0 and attempted < len(all_teams):
            with self._core_lock:
                team = all_teams[self._core_next % len(all_teams)]
                self._core_next += 1
            attempted += 1
            budget -= 1
            path = f"seasons/{season}/teams/{team.espn_id}/injuries"
            try:
                listing = self.espn_core.get_json(path, {"limit": 100})
            except SourceError as error:
                failures += 1
                log.warning("%s", error)
                continue
            urls = [url for url in map(self._core_url, _refs(listing)) if url is not None]
            for url in urls[: min(self.core_injuries_per_team, budget)]:
                budget -= 1
                try:
                    found.append(parse_core_injury(self.espn_core.get_json(url), team=team.abbr))
                except SourceError as error:
                    log.warning("%s", error)
                except ParseError as error:
                    log.warning("espn-core %s: unusable injury record (%s)", urlsplit(url).path, error)
        if attempted and failures == attempted:
            raise SourceError("espn-core", f"/seasons/{season}/teams/*/injuries", "every team injury list failed")
        return found

    def _core_url(self, ref: str) -> str | None:
        """A core `$ref` pointed at the configured core base, or None for links we must not follow."""
        parts = urlsplit(ref)
        if parts.hostname is None or parts.hostname.endswith(".pvt"):
            return None
        default = urlsplit(DEFAULT_ESPN_CORE_BASE_URL)
        if parts.hostname != default.hostname or not parts.path.startswith(default.path):
            return None
        # The scheme in refs is http://; the configured base (https, or a test server) wins.
        return self.settings.espn_core_base_url + parts.path[len(default.path) :]

    # -- Weather ---------------------------------------------------------------------------------

    def get_weather_for_game(self, target: WeatherTarget, kickoff: datetime | None = None) -> Weather | None:
        """The forecast slot nearest kickoff at the game's stadium, or None for domes, unknown
        venues and kickoffs beyond the forecast horizon. Retractable roofs are fetched and flagged.

        `target` is a Game (its venue, else its home team's stadium unless at a neutral site), a
        Team (its stadium), a Venue, or a string naming a venue id or a team.
        """
        venue, game_id, kickoff = self._weather_location(target, kickoff)
        if venue is None or venue.roof == "dome":
            return None
        key = self.settings.openweather_api_key
        location = (round(venue.latitude, 3), round(venue.longitude, 3))
        if key:
            body = self._weather_cache.get_or_load(
                ("openweathermap",) + location,
                lambda: self.openweather.get_json(
                    "forecast", {"lat": location[0], "lon": location[1], "appid": key, "units": "imperial"}
                ),
            )
            parser, source = weather_parser.parse_openweather_forecast, self.openweather
        else:
            body = self._weather_cache.get_or_load(
                ("open-meteo",) + location,
                lambda: self.open_meteo.get_json(
                    "forecast",
                    {
                        "latitude": location[0],
                        "longitude": location[1],
                        "hourly": OPEN_METEO_HOURLY,
                        "temperature_unit": "fahrenheit",
                        "wind_speed_unit": "mph",
                        "precipitation_unit": "inch",
                        "timezone": "UTC",
                        "forecast_days": 7,
                    },
                ),
            )
            parser, source = weather_parser.parse_open_meteo_forecast, self.open_meteo
        return self._parse(
            source, "forecast", lambda data: parser(data, kickoff, roof=venue.roof, game_id=game_id), body
        )

    def _weather_location(self, target: WeatherTarget, kickoff: datetime | None):
        game_id = None
        venue: teams.Venue | None = None
        if isinstance(target, Game):
            game_id = target.game_id
            kickoff = kickoff or target.start_time
            venue = teams.venue(target.venue_id)
            if venue is None and not target.neutral_site:
                home = teams.resolve(target.home_team)
                venue = teams.home_venue(home) if home else None
        elif isinstance(target, teams.Team):
            venue = teams.home_venue(target)
        elif isinstance(target, teams.Venue):
            venue = target
        elif isinstance(target, str):
            team = teams.resolve(target)
            venue = teams.venue(target) or (teams.home_venue(team) if team else None)
        return venue, game_id, kickoff or self.clock.now()

    # -- Odds ------------------------------------------------------------------------------------

    @property
    def odds_quota(self) -> OddsQuota:
        with self._odds_lock:
            return self._odds_quota

    def get_odds(self, games: Iterable[Game] = ()) -> list[OddsLine]:
        """Every US bookmaker's moneyline, spread and total for upcoming NFL games (American odds),
        with `game_id` set from `games` (same teams, kickoff within 12 hours) where one matches.

        Returns [] without calling when no ODDS_API_KEY is set, while odds are switched off, or
        when the remaining credits would not cover another call.
        """
        key = self.settings.odds_api_key
        if not key or not self._odds_allowed():
            return []
        params = {"apiKey": key, "regions": ODDS_REGIONS, "markets": ODDS_MARKETS, "oddsFormat": "american"}
        try:
            reply = self.odds.request("GET", ODDS_SPORT_PATH, params=params)
        except SourceError as error:
            if error.status == 401:
                code = error.body.get("error_code") if isinstance(error.body, dict) else None
                self._disable_odds(code or "unauthorized", error)
                return []
            raise
        self._record_quota(reply.headers)
        data = self.odds.decode(reply, ODDS_SPORT_PATH, list)
        lines = self._parse(self.odds, ODDS_SPORT_PATH, odds_parser.parse_odds, data)
        return odds_parser.attach_game_ids(lines, games)

    def _odds_allowed(self) -> bool:
        today = self.clock.now().date()
        with self._odds_lock:
            quota = self._odds_quota
            if quota.disabled_until is not None:
                if today < quota.disabled_until:
                    return False
                self._odds_quota = quota = replace(quota, disabled_until=None, reason=None, remaining=None)
            if quota.remaining is not None and quota.remaining < ODDS_CALL_COST:
                self._odds_quota = replace(quota, disabled_until=today + timedelta(days=1), reason="quota low")
                log.warning(
                    "the-odds-api: %d credits left, below the %d a call costs; odds paused until %s UTC",
                    quota.remaining,
                    ODDS_CALL_COST,
                    today + timedelta(days=1),
                )
                return False
        return True

    def _disable_odds(self, reason: str, error: SourceError) -> None:
        resume = self.clock.now().date() + timedelta(days=1)
        with self._odds_lock:
            self._odds_quota = replace(self._odds_quota, disabled_until=resume, reason=reason)
        log.error("%s; odds disabled until %s UTC (%s)", error, resume, reason)

    def _record_quota(self, headers: Any) -> None:
        def number(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(float(value)) if value is not None else None
            except ValueError:
                return None

        with self._odds_lock:
            self._odds_quota = replace(
                self._odds_quota,
                remaining=number("x-requests-remaining"),
                used=number("x-requests-used"),
                last=number("x-requests-last"),
            )

    # -- Shared ----------------------------------------------------------------------------------

    def _parse(self, source: HttpSource, path: str, parser: Callable[[Any], Any], data: Any) -> Any:
        try:
            return parser(data)
        except ParseError as error:
            raise SourceError(
                source.name, urlsplit(source.url(path)).path, f"returned an unusable payload ({error})"
            ) from None

    def _dates_param(self, when: DateRange) -> str:
        if isinstance(when, str):
            if not re.fullmatch(r"\d{8}(-\d{8})?", when):
                raise ValueError(f"scoreboard dates must be YYYYMMDD or YYYYMMDD-YYYYMMDD, got {when!r}")
            return when
        if when is None:
            return self.clock.now().astimezone(self.settings.timezone).strftime("%Y%m%d")
        if isinstance(when, tuple):
            start, end = (self._local_date(value) for value in when)
            if end < start:
                raise ValueError(f"scoreboard range ends before it starts: {start} - {end}")
            return f"{start:%Y%m%d}-{end:%Y%m%d}"
        return f"{self._local_date(when):%Y%m%d}"

    def _local_date(self, value: date | datetime) -> date:
        if isinstance(value, datetime):
            return value.astimezone(self.settings.timezone).date() if value.tzinfo else value.date()
        return value

    def _season_year(self) -> int:
        # January and February games belong to the season that started the previous September.
        today = self.clock.now().astimezone(self.settings.timezone).date()
        return today.year if today.month >= 3 else today.year - 1

    def close(self) -> None:
        for source in (self.espn, self.espn_core, self.openweather, self.open_meteo, self.odds):
            source.close()


def _refs(listing: Any) -> list[str]:
    """The `$ref` links of a core-API list page, in the order given (newest first)."""
    if not isinstance(listing, dict):
        return []
    return [
        item["$ref"]
        for item in listing.get("items", [])
        if isinstance(item, dict) and isinstance(item.get("$ref"), str)
    ]
