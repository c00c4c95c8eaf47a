"""Pure parsers of forecast bodies (OpenWeatherMap 2.5 `/forecast`, Open-Meteo `/v1/forecast`).

Both return the one forecast slot nearest kickoff as a `Weather` in imperial units, or None when
no slot is within `max_gap` of kickoff (a game beyond the forecast horizon has no forecast yet,
and the nearest slot days away would be misleading). No I/O, no clock: kickoff is an argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from nfl_sync.domain.errors import ParseError
from nfl_sync.domain.models import Weather
from nfl_sync.sources.parsing import (
    as_dict,
    as_list,
    dicts,
    require_dict,
    require_list,
    to_datetime,
    to_decimal,
    to_int,
)

S = TypeVar("S")  # what a forecast slot holds besides its time

MM_PER_INCH = Decimal("25.4")

# WMO weather interpretation codes, as Open-Meteo documents them for `weather_code`.
_WMO = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "depositing rime fog",
    51: "light drizzle",
    53: "drizzle",
    55: "dense drizzle",
    56: "light freezing drizzle",
    57: "freezing drizzle",
    61: "light rain",
    63: "rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "freezing rain",
    71: "light snow",
    73: "snow",
    75: "heavy snow",
    77: "snow grains",
    80: "light rain showers",
    81: "rain showers",
    82: "violent rain showers",
    85: "snow showers",
    86: "heavy snow showers",
    95: "thunderstorm",
    96: "thunderstorm with hail",
    99: "thunderstorm with heavy hail",
}


def parse_openweather_forecast(
    data: Any,
    kickoff: datetime,
    *,
    roof: str | None = None,
    game_id: str | None = None,
    max_gap: timedelta = timedelta(hours=3),
) -> Weather | None:
    """The 3-hour slot of an OWM `/forecast` body (requested with units=imperial) nearest kickoff.

    `rain`/`snow` blocks appear only when non-zero and are millimetres in every unit system.
    """
    root = require_dict(data, "openweathermap forecast")
    slots = []
    for index, item in enumerate(require_list(root.get("list"), "openweathermap forecast.list")):
        item = require_dict(item, f"openweathermap forecast.list[{index}]")
        moment = to_datetime(item.get("dt")) or to_datetime(item.get("dt_txt"))
        if moment is not None:
            slots.append((moment, item))
    chosen = _nearest(slots, kickoff, max_gap)
    if chosen is None:
        return None
    moment, item = chosen
    main, wind = as_dict(item.get("main")), as_dict(item.get("wind"))
    millimetres = sum((to_decimal(as_dict(item.get(kind)).get("3h")) or Decimal(0)) for kind in ("rain", "snow"))
    pop = to_decimal(item.get("pop"))
    condition = next((entry.get("description") or entry.get("main") for entry in dicts(item.get("weather"))), None)
    return Weather(
        source="openweathermap",
        forecast_time=moment,
        temperature_f=to_decimal(main.get("temp")),
        wind_mph=to_decimal(wind.get("speed")),
        gust_mph=to_decimal(wind.get("gust")),
        precipitation_in=round(millimetres / MM_PER_INCH, 3),
        precipitation_probability=None if pop is None else round(pop * 100, 1),
        condition=condition if isinstance(condition, str) else None,
        roof=roof,
        game_id=game_id,
    )


def parse_open_meteo_forecast(
    data: Any,
    kickoff: datetime,
    *,
    roof: str | None = None,
    game_id: str | None = None,
    max_gap: timedelta = timedelta(hours=1),
) -> Weather | None:
    """The hourly row of an Open-Meteo body nearest kickoff (fahrenheit, mph, inch units).

    Accepts the current variable names (`wind_speed_10m`) and the legacy ones (`windspeed_10m`)
    because the response echoes whichever the request used; without `precipitation` the
    liquid amount is rain + showers. Local times without offset are shifted by `utc_offset_seconds`.
    """
    root = require_dict(data, "open-meteo forecast")
    hourly = require_dict(root.get("hourly"), "open-meteo forecast.hourly")
    times = require_list(hourly.get("time"), "open-meteo forecast.hourly.time")
    offset = timedelta(seconds=to_int(root.get("utc_offset_seconds")) or 0)
    slots = []
    for index, value in enumerate(times):
        moment = _open_meteo_time(value, offset)
        if moment is not None:
            slots.append((moment, index))
    chosen = _nearest(slots, kickoff, max_gap)
    if chosen is None:
        return None
    moment, index = chosen

    def column(*names: str) -> Decimal | None:
        for name in names:
            values = as_list(hourly.get(name))
            if index < len(values) and (value := to_decimal(values[index])) is not None:
                return value
        return None

    precipitation = column("precipitation")
    if precipitation is None:
        parts = [part for part in (column("rain"), column("showers")) if part is not None]
        precipitation = sum(parts, Decimal(0)) if parts else None
    code = column("weather_code", "weathercode")
    snowfall = column("snowfall")
    return Weather(
        source="open-meteo",
        forecast_time=moment,
        temperature_f=column("temperature_2m"),
        wind_mph=column("wind_speed_10m", "windspeed_10m"),
        gust_mph=column("wind_gusts_10m", "windgusts_10m"),
        precipitation_in=precipitation,
        precipitation_probability=column("precipitation_probability"),
        condition=_condition(code, snowfall, precipitation),
        roof=roof,
        game_id=game_id,
    )


def _open_meteo_time(value: Any, offset: timedelta) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return to_datetime(value)  # timeformat=unixtime
    if not isinstance(value, str):
        return None
    has_offset = value.endswith("Z") or "+" in value[10:] or "-" in value[10:]
    moment = to_datetime(value)
    if moment is None:
        return None
    return moment if has_offset else (moment - offset).astimezone(UTC)


def _condition(code: Decimal | None, snowfall: Decimal | None, precipitation: Decimal | None) -> str | None:
    if code is not None and code == code.to_integral_value():
        return _WMO.get(int(code))
    if snowfall:
        return "snow"
    if precipitation:
        return "rain"
    return None


def _nearest(slots: Sequence[tuple[datetime, S]], kickoff: datetime, max_gap: timedelta) -> tuple[datetime, S] | None:
    if kickoff.tzinfo is None:
        raise ParseError("kickoff must be timezone-aware")
    if not slots:
        return None
    best = min(slots, key=lambda slot: abs(slot[0] - kickoff))
    return best if abs(best[0] - kickoff) <= max_gap else None
