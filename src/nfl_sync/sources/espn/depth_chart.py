"""ESPN's core-API depth chart (`/seasons/{y}/teams/{id}/depthcharts`) as a `DepthChart`: who is
first at each position. Pure: no I/O, no clock.

Shape: `{"items": [{"id", "name": "3WR 1TE" / "Base 4-3 D" / "Special Teams", "positions":
{"qb": {"position": {"abbreviation": "QB", ...}, "athletes": [{"slot", "rank", "athlete":
{"$ref": ".../athletes/{id}?..."}}]}, ...}}]}`: one item per formation, athletes as `$ref` links
only, so a starter is known by his athlete id (which the injury reports carry too).
"""

from __future__ import annotations

from typing import Any

from nfl_sync.domain.errors import ParseError
from nfl_sync.domain.models import DepthChart
from nfl_sync.sources.espn.injuries import ref_id
from nfl_sync.sources.parsing import as_dict, dicts, require_dict, to_int, to_str

# Special-teams roles a backup often fills (returners, the holder): first there is no starter.
_ROLES = frozenset({"PR", "KR", "H"})


def parse_depth_chart(data: Any, team: str) -> DepthChart:
    """The athletes ranked first at any position of any formation, with that position's
    abbreviation (the first formation listing him wins); return and holding roles do not count.
    A chart without a single starter is a ParseError: an answer that says nobody starts is no
    answer."""
    document = require_dict(data, "depthcharts")
    starters: dict[str, str] = {}
    for formation in dicts(document.get("items")):
        for key, slot in as_dict(formation.get("positions")).items():
            slot = as_dict(slot)
            ranked = [
                (rank, athlete)
                for entry in dicts(slot.get("athletes"))
                if (rank := to_int(entry.get("rank"))) is not None
                and (athlete := ref_id(to_str(as_dict(entry.get("athlete")).get("$ref")) or "", "athletes"))
            ]
            if not ranked:
                continue
            position = to_str(as_dict(slot.get("position")).get("abbreviation")) or str(key).upper()
            if position not in _ROLES:
                starters.setdefault(min(ranked)[1], position)
    if not starters:
        raise ParseError(f"depthcharts of {team}: no athlete ranked at any position")
    return DepthChart(team=team, starters=starters)
