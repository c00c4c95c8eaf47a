"""ESPN injury reports as `Injury` records: the league `/injuries` list, the `injuries` block of a
summary, and the core API's per-athlete records (whose athlete and team are `$ref` links).
Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nfl_sync.domain import teams
from nfl_sync.domain.errors import ParseError
from nfl_sync.domain.models import Injury
from nfl_sync.sources.espn.common import team_of
from nfl_sync.sources.parsing import OnBadPart, as_dict, as_list, require_dict, skip_or_raise, to_datetime, to_str


def parse_injuries(data: Any) -> list[Injury]:
    """Injuries from any ESPN shape: league `/injuries`, a summary's `injuries` list, or core records.

    League shape: `{"injuries": [{team fields or "team": {...}, "injuries": [entry...]}]}`.
    Core records (`/seasons/{y}/athletes/{a}/injuries/{id}`) are accepted alone or in a list.
    """
    if isinstance(data, dict) and "injuries" in data:
        return injury_blocks(data.get("injuries"), None, "injuries")
    if isinstance(data, dict) and _is_core_injury(data):
        return [parse_core_injury(data)]
    if isinstance(data, list):
        if all(isinstance(item, dict) and _is_core_injury(item) for item in data):
            return [parse_core_injury(item) for item in data]
        return injury_blocks(data, None, "injuries")
    raise ParseError(f"injuries: expected an injuries object or list, got {type(data).__name__}")


def injury_blocks(blocks: Any, game_id: str | None, where: str, on_bad_part: OnBadPart = None) -> list[Injury]:
    """The injuries of team blocks (`{team fields or "team": {...}, "injuries": [...]}`), the shape of
    the league list and of a summary's `injuries`; entries whose team is not an NFL team are skipped.
    A block or entry that does not parse is handed to `on_bad_part` and skipped; without one it
    fails the whole list."""
    found = []
    for index, item in enumerate(as_list(blocks)):
        try:
            block = require_dict(item, f"{where}[{index}]")
        except ParseError as error:
            skip_or_raise(error, on_bad_part)
            continue
        team = team_of(as_dict(block.get("team"))) or team_of(block)
        for position, entry in enumerate(as_list(block.get("injuries"))):
            path = f"{where}[{index}].injuries[{position}]"
            try:
                injury = _injury(require_dict(entry, path), team, game_id, path)
            except ParseError as error:
                skip_or_raise(error, on_bad_part)
                continue
            if injury is not None:
                found.append(injury)
    return found


def _injury(entry: Mapping[str, Any], team: teams.Team | None, game_id: str | None, where: str) -> Injury | None:
    athlete = as_dict(entry.get("athlete"))
    team = team or team_of(as_dict(athlete.get("team")))
    if team is None:
        return None
    player_id = to_str(athlete.get("id"))
    player = to_str(athlete.get("displayName")) or to_str(athlete.get("fullName"))
    if player is None:
        raise ParseError(f"{where}: injury without an athlete name")
    details = as_dict(entry.get("details"))
    return Injury(
        player_id=player_id,
        player=player,
        team=team.abbr,
        position=to_str(as_dict(athlete.get("position")).get("abbreviation")),
        status=_injury_status(entry, where),
        injury=to_str(details.get("type")) or to_str(entry.get("shortComment")),
        reported_at=to_datetime(entry.get("date")),
        game_id=game_id,
        return_date=to_str(details.get("returnDate")),
    )


def _is_core_injury(record: Mapping[str, Any]) -> bool:
    return "$ref" in as_dict(record.get("athlete")) or "$ref" in as_dict(record.get("team"))


def parse_core_injury(record: Any, team: str | None = None, player: str | None = None) -> Injury:
    """One core-API injury record. Athlete and team are `$ref` links there, so their ids come from
    the URLs; `team` (the list the record came from) is the fallback when the record's own team
    link is missing, and `player` (a name the caller already knows) replaces the "#<athlete id>"
    placeholder.
    """
    record = require_dict(record, "core injury")
    athlete_ref = to_str(as_dict(record.get("athlete")).get("$ref")) or ""
    team_ref = to_str(as_dict(record.get("team")).get("$ref")) or ""
    player_id = ref_id(athlete_ref, "athletes")
    found = teams.by_espn_id(ref_id(team_ref, "teams")) or (teams.resolve(team) if team else None)
    if found is None:
        raise ParseError("core injury: team is not an NFL team")
    details = as_dict(record.get("details"))
    return Injury(
        player_id=player_id,
        player=player or (f"#{player_id}" if player_id else "unknown"),
        team=found.abbr,
        position=None,
        status=_injury_status(record, "core injury"),
        injury=to_str(details.get("type")) or to_str(record.get("shortComment")),
        reported_at=to_datetime(record.get("date")),
        return_date=to_str(details.get("returnDate")),
    )


def _injury_status(entry: Mapping[str, Any], where: str) -> str:
    status = to_str(entry.get("status"))
    if status is None:
        status = to_str(as_dict(entry.get("type")).get("description"))
        status = status.title() if status else None
    if status is None:
        raise ParseError(f"{where}: injury without a status")
    return status


def ref_id(ref: str, collection: str) -> str | None:
    """The numeric id after `/{collection}/` in a core-API `$ref` link, or None."""
    match = re.search(rf"/{collection}/(\d+)", ref)
    return match.group(1) if match else None
