"""The NFL's calendar: its days are US Eastern days, whatever zone the user reads alerts in.

ESPN's scoreboard `dates` and Kalshi's ticker dates are Eastern calendar dates; a Sunday night
game kicks off on Sunday in New York while it is already Monday in Tokyo or Sydney. `TIMEZONE`
(config) is only for showing times to people and for the daily alert limit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
# A late game of yesterday's Eastern date may still be on until this hour (Eastern).
LATE_GAMES_UNTIL_HOUR = 6


def eastern_date(moment: datetime) -> date:
    """The US-Eastern calendar date of an aware datetime."""
    return moment.astimezone(EASTERN).date()


def scoreboard_dates(now: datetime) -> str:
    """ESPN's `dates` for the live scoreboard: today (Eastern), and before 6 a.m. yesterday too."""
    local = now.astimezone(EASTERN)
    day = local.strftime("%Y%m%d")
    if local.hour < LATE_GAMES_UNTIL_HOUR:
        return f"{(local - timedelta(days=1)).strftime('%Y%m%d')}-{day}"
    return day


def schedule_dates(now: datetime, days: int = 7) -> str:
    """ESPN's `dates` for the `days` ahead, from today (Eastern)."""
    local = now.astimezone(EASTERN)
    return f"{local.strftime('%Y%m%d')}-{(local + timedelta(days=days)).strftime('%Y%m%d')}"


def season_year(moment: datetime) -> int:
    """The season a moment belongs to: January and February games belong to the season that
    started the previous September."""
    today = eastern_date(moment)
    return today.year if today.month >= 3 else today.year - 1
