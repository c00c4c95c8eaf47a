"""The ESPN injury and team parsers against recorded responses: the league, summary and core
shapes of injuries, and `/teams`."""

from __future__ import annotations

from datetime import UTC, datetime

from espn_support import raw
from nfl_sync.sources.espn.injuries import parse_core_injury, parse_injuries
from nfl_sync.sources.espn.teams import parse_teams


def test_league_injuries_shape_and_summary_block_shape():
    blocks = raw("summary_401547417.json")["injuries"]
    league = {
        "injuries": [
            {"id": b["team"]["id"], "displayName": b["team"]["displayName"], "injuries": b["injuries"]} for b in blocks
        ]
    }
    from_league = parse_injuries(league)
    from_blocks = parse_injuries(blocks)
    assert from_league == from_blocks and len(from_league) == 10
    trice = next(i for i in from_league if i.player == "Bralen Trice")
    assert (trice.team, trice.position, trice.status, trice.injury, trice.return_date) == (
        "ATL",
        "LB",
        "Questionable",
        "Knee - ACL",
        "2025-08-01",
    )
    assert trice.reported_at == datetime(2025, 2, 11, 3, 6, tzinfo=UTC)


def test_core_injury_record_takes_ids_from_refs():
    record = raw("core_injury_detail_4426502_598153.json")
    (injury,) = parse_injuries(record)
    assert (injury.player_id, injury.team, injury.status, injury.player) == ("4426502", "ATL", "Active", "#4426502")
    named = parse_core_injury(record, player="Drake London")
    assert named.player == "Drake London"


def test_teams_endpoint_lists_the_32_teams():
    found = parse_teams(raw("teams_2025.json"))
    assert len(found) == 32 and found[0].abbr == "ARI"
