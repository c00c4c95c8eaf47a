"""ESPN's core API over HTTP: the per-team injury lists, read when the site API's league list fails
or is empty. Each run keeps to a budget of requests (they share ESPN's limiter with live
play-by-play) and resumes at the team after the last one the previous run reached.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

from nfl_sync.clock import Clock
from nfl_sync.config import DEFAULT_ESPN_CORE_BASE_URL
from nfl_sync.domain import teams
from nfl_sync.domain.calendar import season_year
from nfl_sync.domain.errors import ParseError, SourceError
from nfl_sync.domain.models import Injury
from nfl_sync.sources.espn.injuries import parse_core_injury
from nfl_sync.sources.http import HttpSource

log = logging.getLogger(__name__)


class EspnCoreClient:
    """The core API's team injury lists; safe to share between threads.

    `base_url` is the configured core base, which links in the API's answers are pointed at.
    """

    def __init__(
        self,
        http: HttpSource,
        clock: Clock,
        base_url: str,
        *,
        max_calls: int,
        per_team: int,
    ):
        self.http = http
        self.clock = clock
        self.base_url = base_url
        self.max_calls = max_calls
        self.per_team = per_team
        self._lock = threading.Lock()
        self._next = 0  # index of the team the next run starts with

    def get_injuries(self) -> list[Injury]:
        """Per-team core lists within a budget of `max_calls` requests per run: the newest
        `per_team` records of each team it reaches, never following `.pvt` (private host) links.

        Every call (list or record) counts, because they share ESPN's 60/min limiter with live
        play-by-play. Each run resumes at the team after the last one it reached, so successive
        runs cover the league in turn.
        """
        season = season_year(self.clock.now())
        all_teams = teams.all_teams()
        budget = self.max_calls
        found: list[Injury] = []
        failures = attempted = 0
        while budget > 0 and attempted < len(all_teams):
            with self._lock:
                team = all_teams[self._next % len(all_teams)]
                self._next += 1
            attempted += 1
            budget -= 1
            path = f"seasons/{season}/teams/{team.espn_id}/injuries"
            try:
                listing = self.http.get_json(path, {"limit": 100})
            except SourceError as error:
                failures += 1
                log.warning("%s", error)
                continue
            urls = [url for url in map(self._url, _refs(listing)) if url is not None]
            for url in urls[: min(self.per_team, budget)]:
                budget -= 1
                try:
                    found.append(parse_core_injury(self.http.get_json(url), team=team.abbr))
                except SourceError as error:
                    log.warning("%s", error)
                except ParseError as error:
                    log.warning("espn-core %s: unusable injury record (%s)", urlsplit(url).path, error)
        if attempted and failures == attempted:
            raise SourceError("espn-core", f"/seasons/{season}/teams/*/injuries", "every team injury list failed")
        return found

    def _url(self, ref: str) -> str | None:
        """A core `$ref` pointed at the configured core base, or None for links we must not follow."""
        parts = urlsplit(ref)
        if parts.hostname is None or parts.hostname.endswith(".pvt"):
            return None
        default = urlsplit(DEFAULT_ESPN_CORE_BASE_URL)
        if parts.hostname != default.hostname or not parts.path.startswith(default.path):
            return None
        # The scheme in refs is http://; the configured base (https, or a test server) wins.
        return self.base_url + parts.path[len(default.path) :]


def _refs(listing: Any) -> list[str]:
    """The `$ref` links of a core-API list page, in the order given (newest first)."""
    if not isinstance(listing, dict):
        return []
    return [
        item["$ref"]
        for item in listing.get("items", [])
        if isinstance(item, dict) and isinstance(item.get("$ref"), str)
    ]
