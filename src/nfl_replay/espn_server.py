"""A fake ESPN site API that serves recorded games as they stood at the clock's current time.

Point the daemon's ESPN base URL at `FakeESPNServer.base_url`; the paths under it are ESPN's
(`/scoreboard`, `/summary`, `/injuries`, `/teams`), and so are the document shapes, built by
`timeline.GameTimeline` from real recordings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from nfl_replay.faults import FaultPlan
from nfl_replay.http import FakeHTTPServer, Request, Response, encoded_json_response, json_response
from nfl_replay.json_fragments import dumps
from nfl_replay.timeline import GameTimeline
from nfl_sync.clock import Clock

ESPN_PREFIX = "/apis/site/v2/sports/football/nfl"

_SEASON_TYPES = {
    1: ("Preseason", "pre"),
    2: ("Regular Season", "reg"),
    3: ("Postseason", "post"),
    4: ("Off Season", "off"),
}


def _parse_dates(text: str) -> tuple[date, date]:
    """ESPN's `dates` parameter: "YYYYMMDD" or "YYYYMMDD-YYYYMMDD" (Eastern dates, inclusive)."""
    first, _, last = text.partition("-")
    start = datetime.strptime(first, "%Y%m%d").date()
    end = datetime.strptime(last, "%Y%m%d").date() if last else start
    if end < start:
        raise ValueError(f"date range ends before it starts: {text}")
    return start, end


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _league_identity(league: Mapping[str, Any]) -> dict[str, Any]:
    return {key: league[key] for key in ("id", "uid", "name", "abbreviation", "slug") if key in league}


def _error(status: int, message: str) -> Response:
    # ESPN's site API answers errors with a small JSON object of this shape.
    return json_response({"code": status, "message": message}, status)


def league_injuries(timelines: Iterable[GameTimeline]) -> list[dict[str, Any]]:
    """League-wide `/injuries` entries, grouped by team, from the injury lists recorded in the summaries."""
    by_team: dict[str, dict[str, Any]] = {}
    for timeline in timelines:
        for entry in timeline.injuries:
            team = entry["team"]
            by_team.setdefault(
                str(team["id"]),
                {
                    "id": str(team["id"]),
                    "displayName": team.get("displayName"),
                    "injuries": list(entry.get("injuries", [])),
                },
            )
    return sorted(by_team.values(), key=lambda team: str(team["displayName"]))


class FakeESPNServer(FakeHTTPServer):
    """ESPN's site API for the given games, at `clock.now()`."""

    def __init__(self, timelines: Iterable[GameTimeline], clock: Clock, faults: FaultPlan | None = None):
        super().__init__("espn", ESPN_PREFIX, faults)
        self.clock = clock
        self.timelines: dict[str, GameTimeline] = {}
        for timeline in timelines:
            if timeline.game_id in self.timelines:
                raise ValueError(f"game {timeline.game_id} is replayed twice; rename copies with with_id()")
            self.timelines[timeline.game_id] = timeline
        if not self.timelines:
            raise ValueError("FakeESPNServer needs at least one game")
        self._by_kickoff = sorted(self.timelines.values(), key=lambda game: (game.kickoff, game.game_id))
        # A date's scoreboard lists the games of that New York date only, so games of any dates
        # and seasons replay in one run; a season's worth of games is looked up, not scanned.
        self._by_date: dict[date, list[GameTimeline]] = {}
        for game in self._by_kickoff:
            self._by_date.setdefault(game.eastern_date, []).append(game)
        self.route("GET", "/scoreboard", self._scoreboard)
        self.route("GET", "/summary", self.summary)
        self.route("GET", "/injuries", self.injuries)
        self.route("GET", "/teams", self._teams)
        # The core API's per-team lists, which clients fall back to when /injuries is empty: the
        # recordings hold no more than their per-game lists, so these are empty pages.
        self.route("GET", "/seasons/{season}/teams/{team}/injuries", self._core_injuries)

    def not_found(self, request: Request) -> Response:
        return _error(404, "Not Found")

    def _league(self, timeline: GameTimeline) -> dict[str, Any]:
        name, abbreviation = _SEASON_TYPES.get(timeline.season_type, ("", ""))
        return {
            **_league_identity(timeline.league),
            "season": {
                "year": timeline.season_year,
                "type": {
                    "id": str(timeline.season_type),
                    "type": timeline.season_type,
                    "name": name,
                    "abbreviation": abbreviation,
                },
            },
        }

    def _scoreboard(self, request: Request) -> Response:
        games = self._by_kickoff
        dates = request.arg("dates")
        if dates:
            try:
                first, last = _parse_dates(dates)
            except ValueError:
                return _error(400, f"invalid dates parameter: {dates}")
            games = [game for day in _days(first, last) for game in self._by_date.get(day, ())]
        now = self.clock.now()
        reference = games[0] if games else next(iter(self.timelines.values()))
        document: dict[str, Any] = {"leagues": [self._league(reference)]}
        # Seen without season/week on date queries with no games; a parser must cope either way.
        if games:
            document["season"] = {"type": reference.season_type, "year": reference.season_year}
            document["week"] = {"number": reference.week}
        # Each event is encoded once per moment of its game (see GameTimeline.scoreboard_event_json);
        # `events` is the last member, so the document's encoding is completed with them.
        head = dumps(document)
        events = ",".join(game.scoreboard_event_json(now) for game in games)
        return encoded_json_response(head[:-1] + f',"events":[{events}]}}'.encode())

    def summary(self, request: Request) -> Response:
        event = request.arg("event")
        if not event:
            return _error(400, "event is required")
        timeline = self.timelines.get(event)
        if timeline is None:
            return _error(404, f"event {event} not found")
        return encoded_json_response(timeline.summary_json(self.clock.now()))

    def injuries(self, request: Request) -> Response:
        return json_response({"injuries": league_injuries(self.timelines.values())})

    def _core_injuries(self, request: Request) -> Response:
        return json_response({"count": 0, "pageIndex": 1, "pageSize": 100, "pageCount": 0, "items": []})

    def _teams(self, request: Request) -> Response:
        """The teams of the replayed games, in `/teams`' shape."""
        by_id: dict[str, dict[str, Any]] = {}
        for timeline in self.timelines.values():
            for team in (timeline.away_team, timeline.home_team):
                by_id.setdefault(
                    str(team["id"]),
                    {
                        **team,
                        "slug": str(team.get("displayName", "")).lower().replace(" ", "-"),
                        "shortDisplayName": team.get("shortDisplayName", team.get("name")),
                        "isActive": True,
                        "isAllStar": False,
                    },
                )
        league = next(iter(self.timelines.values())).league
        return json_response(
            {
                "sports": [
                    {
                        "id": "20",
                        "uid": "s:20",
                        "name": "Football",
                        "slug": "football",
                        "leagues": [
                            {
                                **_league_identity(league),
                                "shortName": league.get("abbreviation", "NFL"),
                                "teams": [
                                    {"team": team}
                                    for team in sorted(by_id.values(), key=lambda t: str(t["displayName"]))
                                ],
                            }
                        ],
                    }
                ]
            }
        )
