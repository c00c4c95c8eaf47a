"""Forecasts at a game's stadium over HTTP: OpenWeatherMap when OPENWEATHER_API_KEY is set, else
Open-Meteo (keyless). One forecast call per location per 10 minutes at most (cached per location);
domes are never asked about. The key travels only in the query string, which errors never show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nfl_sync.clock import Clock
from nfl_sync.domain import teams
from nfl_sync.domain.models import Game, Weather
from nfl_sync.sources.http import HttpSource
from nfl_sync.sources.limits import TTLCache
from nfl_sync.sources.weather_parser import parse_open_meteo_forecast, parse_openweather_forecast

WEATHER_CACHE_SECONDS = 600.0  # OpenWeatherMap asks for no more than one call per location per 10 minutes
OPEN_METEO_HOURLY = (
    "temperature_2m,precipitation,precipitation_probability,snowfall,wind_speed_10m,wind_gusts_10m,weather_code"
)

WeatherTarget = Game | teams.Team | teams.Venue | str


class WeatherClient:
    """The forecast nearest kickoff from whichever forecast API is configured."""

    def __init__(self, openweather: HttpSource, open_meteo: HttpSource, api_key: str | None, clock: Clock):
        self.openweather = openweather
        self.open_meteo = open_meteo
        self.api_key = api_key
        self.clock = clock
        # Raw forecast bodies, keyed by API and rounded location.
        self._cache: TTLCache[Any] = TTLCache(WEATHER_CACHE_SECONDS, clock)

    def get_weather_for_game(self, target: WeatherTarget, kickoff: datetime | None = None) -> Weather | None:
        """The forecast slot nearest kickoff at the game's stadium, or None for domes, unknown
        venues and kickoffs beyond the forecast horizon. Retractable roofs are fetched and flagged.

        `target` is a Game (its venue, else its home team's stadium unless at a neutral site), a
        Team (its stadium), a Venue, or a string naming a venue id or a team.
        """
        venue, game_id, moment = self._location(target, kickoff)
        if venue is None or venue.roof == "dome":
            return None
        key = self.api_key
        location = (round(venue.latitude, 3), round(venue.longitude, 3))
        if key:
            body = self._cache.get_or_load(
                ("openweathermap",) + location,
                lambda: self.openweather.get_json(
                    "forecast", {"lat": location[0], "lon": location[1], "appid": key, "units": "imperial"}
                ),
            )
            parser, source = parse_openweather_forecast, self.openweather
        else:
            body = self._cache.get_or_load(
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
            parser, source = parse_open_meteo_forecast, self.open_meteo
        return source.parse("forecast", lambda data: parser(data, moment, roof=venue.roof, game_id=game_id), body)

    def _location(
        self, target: WeatherTarget, kickoff: datetime | None
    ) -> tuple[teams.Venue | None, str | None, datetime]:
        """(the stadium, the game id when `target` is a game, the kickoff: given, the game's, or now)."""
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
