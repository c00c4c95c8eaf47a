"""ESPN's `/teams` as entries of the canonical team table. Pure: no I/O."""

from __future__ import annotations

from typing import Any

from nfl_sync.domain.errors import ParseError
from nfl_sync.domain.teams import Team
from nfl_sync.sources.espn.common import team_of
from nfl_sync.sources.parsing import as_dict, dicts, require_dict, require_list


def parse_teams(data: Any) -> list[Team]:
    """The teams a `/teams` response lists, as entries of the canonical table (unknown ids skipped)."""
    root = require_dict(data, "teams")
    found = []
    for sport in require_list(root.get("sports"), "teams.sports"):
        for league in require_list(require_dict(sport, "teams.sports[]").get("leagues"), "teams.sports[].leagues"):
            league = require_dict(league, "teams.sports[].leagues[]")
            for entry in dicts(league.get("teams")):
                team = team_of(as_dict(entry.get("team")))
                if team is not None and team not in found:
                    found.append(team)
    if not found:
        raise ParseError("teams: the response lists no NFL team")
    return found
