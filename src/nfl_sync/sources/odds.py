"""The Odds API over HTTP, within its credit quota: the quota headers are recorded after every
call, calls stop before the remaining credits would not cover one, and a 401 (no credits, bad key)
switches odds off until the next UTC day of the injected clock, logged once. The key travels only
in the query string, which errors and logs never show.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from nfl_sync.clock import Clock
from nfl_sync.domain.errors import SourceError
from nfl_sync.domain.models import Game, OddsLine
from nfl_sync.sources.http import HttpSource
from nfl_sync.sources.odds_parser import attach_game_ids, parse_odds

log = logging.getLogger(__name__)

ODDS_SPORT_PATH = "sports/americanfootball_nfl/odds"
ODDS_MARKETS = "h2h,spreads,totals"
ODDS_REGIONS = "us"
ODDS_CALL_COST = len(ODDS_MARKETS.split(",")) * len(ODDS_REGIONS.split(","))  # markets x regions credits


@dataclass(frozen=True)
class OddsQuota:
    """What The Odds API's headers said after the last call (None until the first one)."""

    remaining: int | None = None
    used: int | None = None
    last: int | None = None
    disabled_until: date | None = None  # UTC date on which odds calls may resume
    reason: str | None = None


class OddsClient:
    """NFL odds from The Odds API; safe to share between threads."""

    def __init__(self, http: HttpSource, api_key: str | None, clock: Clock):
        self.http = http
        self.api_key = api_key
        self.clock = clock
        self._lock = threading.Lock()
        self._quota = OddsQuota()

    @property
    def quota(self) -> OddsQuota:
        with self._lock:
            return self._quota

    def get_odds(self, games: Iterable[Game] = ()) -> list[OddsLine]:
        """Every US bookmaker's moneyline, spread and total for upcoming NFL games (American odds),
        with `game_id` set from `games` (same teams, kickoff within 12 hours) where one matches.

        Returns [] without calling when no ODDS_API_KEY is set, while odds are switched off, or
        when the remaining credits would not cover another call.
        """
        key = self.api_key
        if not key or not self._allowed():
            return []
        params = {"apiKey": key, "regions": ODDS_REGIONS, "markets": ODDS_MARKETS, "oddsFormat": "american"}
        try:
            reply = self.http.request("GET", ODDS_SPORT_PATH, params=params)
        except SourceError as error:
            if error.status == 401:
                code = error.body.get("error_code") if isinstance(error.body, dict) else None
                self._disable(code or "unauthorized", error)
                return []
            raise
        self._record_quota(reply.headers)
        data = self.http.decode(reply, ODDS_SPORT_PATH, list)
        lines = self.http.parse(ODDS_SPORT_PATH, parse_odds, data)
        return attach_game_ids(lines, games)

    def _allowed(self) -> bool:
        today = self.clock.now().date()
        with self._lock:
            quota = self._quota
            if quota.disabled_until is not None:
                if today < quota.disabled_until:
                    return False
                self._quota = quota = replace(quota, disabled_until=None, reason=None, remaining=None)
            if quota.remaining is not None and quota.remaining < ODDS_CALL_COST:
                self._quota = replace(quota, disabled_until=today + timedelta(days=1), reason="quota low")
                log.warning(
                    "the-odds-api: %d credits left, below the %d a call costs; odds paused until %s UTC",
                    quota.remaining,
                    ODDS_CALL_COST,
                    today + timedelta(days=1),
                )
                return False
        return True

    def _disable(self, reason: str, error: SourceError) -> None:
        resume = self.clock.now().date() + timedelta(days=1)
        with self._lock:
            self._quota = replace(self._quota, disabled_until=resume, reason=reason)
        log.error("%s; odds disabled until %s UTC (%s)", error, resume, reason)

    def _record_quota(self, headers: Mapping[str, str]) -> None:
        def number(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(float(value)) if value is not None else None
            except ValueError:
                return None

        with self._lock:
            self._quota = replace(
                self._quota,
                remaining=number("x-requests-remaining"),
                used=number("x-requests-used"),
                last=number("x-requests-last"),
            )
