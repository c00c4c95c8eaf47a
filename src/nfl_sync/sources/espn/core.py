"""ESPN's core API over HTTP: one team's injury list and its newest records, read when the site
API's league list fails, and a team's depth chart (who starts), read for its injury news. The
calls share ESPN's budget at background priority; the engine spreads a round over the league (one
team per step), so they never come in a burst.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from nfl_sync.clock import Clock
from nfl_sync.config import DEFAULT_ESPN_CORE_BASE_URL
from nfl_sync.domain.calendar import season_year
from nfl_sync.domain.errors import ParseError, SourceError
from nfl_sync.domain.models import DepthChart, Injury
from nfl_sync.domain.teams import Team
from nfl_sync.sources.espn.depth_chart import parse_depth_chart
from nfl_sync.sources.espn.injuries import parse_core_injury
from nfl_sync.sources.http import HttpSource

log = logging.getLogger(__name__)


class EspnCoreClient:
    """The core API's team injury lists; safe to share between threads.

    `base_url` is the configured core base, which links in the API's answers are pointed at.
    """

    def __init__(self, http: HttpSource, clock: Clock, base_url: str, *, per_team: int):
        self.http = http
        self.clock = clock
        self.base_url = base_url
        self.per_team = per_team

    def get_team_injuries(self, team: Team) -> list[Injury]:
        """The newest `per_team` injury records of `team`, never following `.pvt` (private host)
        links. A record that fails or cannot be read is logged and left out; the list failing is
        a SourceError."""
        season = season_year(self.clock.now())
        listing = self.http.get_json(f"seasons/{season}/teams/{team.espn_id}/injuries", {"limit": 100})
        urls = [url for url in map(self._url, _refs(listing)) if url is not None]
        found: list[Injury] = []
        for url in urls[: self.per_team]:
            try:
                found.append(parse_core_injury(self.http.get_json(url), team=team.abbr))
            except SourceError as error:
                log.warning("%s", error)
            except ParseError as error:
                log.warning("espn-core %s: unusable injury record (%s)", urlsplit(url).path, error)
        return found

    def get_depth_chart(self, team: Team, season: int) -> DepthChart:
        """Who starts for `team` in `season` (a SourceError when ESPN fails or the answer is
        unusable: the caller goes without)."""
        path = f"seasons/{season}/teams/{team.espn_id}/depthcharts"
        data = self.http.get_json(path)
        try:
            return parse_depth_chart(data, team.abbr)
        except ParseError as error:
            raise SourceError("espn-core", path, f"unusable depth chart ({error})") from error

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
