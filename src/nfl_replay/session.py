"""A recorded live session (`--record DIR`) as a timeline of responses, and the server that
serves it back (`--replay DIR`).

For each request the server answers with the response recorded for the same source, method,
path and query (its parameters in any order) that arrived last at or before the clock's now:
the daemon sees what it saw live, ESPN's lags, corrections and error pages included. Before the
first such response ESPN's scoreboard is empty and anything else is a 404, as the real hosts
answer for what does not exist yet.

Finished summaries can be replayed beside a recording: their games join the recorded scoreboard
of their date, and their summaries are served from their `GameTimeline`. (Kalshi serves only the
recording: those games have no markets.)
"""

from __future__ import annotations

import bisect
import logging
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from nfl_replay.espn_server import _parse_dates
from nfl_replay.http import FakeHTTPServer, Request, Response, json_response
from nfl_replay.timeline import GameTimeline
from nfl_sync.clock import Clock
from nfl_sync.sources.recorder import Exchange, read_folder, recording_files

log = logging.getLogger(__name__)

# The sources a recording holds, as the daemon names its HttpSources.
ESPN, ESPN_CORE, KALSHI = "espn", "espn-core", "kalshi"
COMPRESS_ABOVE = 4096  # bytes; bodies kept compressed in memory (a Sunday's summaries: gigabytes)
EMPTY_SCOREBOARD = b'{"leagues":[],"events":[]}'

Key = tuple[str, str, str, tuple[tuple[str, str], ...]]


def is_recording(path: Path) -> bool:
    """Whether `path` is a folder holding a recording's day files."""
    return bool(recording_files(path))


def _key(source: str, method: str, path: str, query: Iterable[tuple[str, str]]) -> Key:
    return source, method.upper(), path.strip("/"), tuple(sorted(query))


@dataclass(frozen=True)
class _Stored:
    """A recorded response as kept in memory (a large body compressed)."""

    status: int
    content_type: str
    body: bytes
    compressed: bool

    def response(self) -> Response:
        body = zlib.decompress(self.body) if self.compressed else self.body
        return Response(self.status, body, self.content_type)


class RecordedSession:
    """Every recorded response, by request, in order of arrival."""

    def __init__(self, exchanges: Iterable[Exchange]):
        self._times: dict[Key, list[float]] = {}
        self._responses: dict[Key, list[_Stored]] = {}
        self.game_ids: set[str] = set()
        # Bodies are compressed as they are read and only the light entries sorted, so a Sunday's
        # recording is never held uncompressed.
        entries: list[tuple[datetime, Key, _Stored]] = []
        for exchange in exchanges:
            key = _key(exchange.source, exchange.method, exchange.path, exchange.query)
            compressed = len(exchange.body) > COMPRESS_ABOVE
            body = zlib.compress(exchange.body, 1) if compressed else exchange.body
            entries.append((exchange.at, key, _Stored(exchange.status, exchange.content_type, body, compressed)))
            if exchange.source == ESPN and exchange.path == "scoreboard":
                self.game_ids |= _games_under_way(exchange.body)
        if not entries:
            raise ValueError("the recording holds no response")
        entries.sort(key=lambda entry: entry[0])
        for at, key, stored in entries:
            self._times.setdefault(key, []).append(at.timestamp())
            self._responses.setdefault(key, []).append(stored)
        self._arrivals = [at for at, _, _ in entries]
        self.first, self.last = self._arrivals[0], self._arrivals[-1]
        self.responses = len(entries)

    def next_arrival(self, now: datetime) -> datetime | None:
        """The first response recorded after `now` (what is served changes only then); None after the last."""
        index = bisect.bisect_right(self._arrivals, now)
        return self._arrivals[index] if index < len(self._arrivals) else None

    @classmethod
    def load(cls, folders: Sequence[Path]) -> RecordedSession:
        """The recordings in `folders`, merged (`ValueError` when they hold nothing)."""
        return cls(exchange for folder in folders for exchange in read_folder(folder))

    def at(
        self, source: str, method: str, path: str, query: Iterable[tuple[str, str]], now: datetime
    ) -> Response | None:
        """The response to this request that arrived last at or before `now`; None before the first."""
        key = _key(source, method, path, query)
        times = self._times.get(key)
        if times is None:
            return None
        index = bisect.bisect_right(times, now.timestamp()) - 1
        return self._responses[key][index].response() if index >= 0 else None


def _games_under_way(body: bytes) -> set[str]:
    """The games of a scoreboard body that had started (in progress or over): the ones a replay
    waits to see final. Bodies that are no scoreboard (error pages) hold none."""
    try:
        events = orjson.loads(body).get("events") or []
        return {
            str(event["id"])
            for event in events
            if event.get("status", {}).get("type", {}).get("state") in ("in", "post")
        }
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
        return set()


class SessionServer(FakeHTTPServer):
    """Serves a `RecordedSession` at `clock.now()`: each source under a path of its own
    (`base_url_of`), and the `timelines`' games mixed into ESPN's answers."""

    def __init__(self, session: RecordedSession, clock: Clock, timelines: Sequence[GameTimeline] = ()):
        super().__init__("recording")
        self.session = session
        self.clock = clock
        self.timelines = {timeline.game_id: timeline for timeline in timelines}

    def base_url_of(self, source: str) -> str:
        return f"{self.base_url}/{source}"

    def not_found(self, request: Request) -> Response:
        """Every request: no route is registered, the recording answers them all."""
        source, _, path = request.path.strip("/").partition("/")
        query = [(name, value) for name, values in request.query.items() for value in values]
        now = self.clock.now()
        if source == ESPN and path == "summary" and request.arg("event") in self.timelines:
            return Response(200, self.timelines[str(request.arg("event"))].summary_json(now), "application/json")
        recorded = self.session.at(source, request.method, path, query, now)
        if source == ESPN and path == "scoreboard":
            return self._scoreboard(recorded, request.arg("dates"), now)
        if recorded is not None:
            return recorded
        if source == KALSHI:
            return json_response({"error": {"code": "not_found", "message": "not found"}}, 404)
        return json_response({"code": 404, "message": "Not Found"}, 404)

    def _scoreboard(self, recorded: Response | None, dates: str | None, now: datetime) -> Response:
        """The recorded scoreboard (empty before the first), with the timelines' games of `dates`."""
        games = self._timelines_on(dates)
        if recorded is None:
            recorded = Response(200, EMPTY_SCOREBOARD, "application/json; charset=utf-8")
        if not games or recorded.status != 200:
            return recorded
        try:
            document: dict[str, Any] = orjson.loads(recorded.body)
        except orjson.JSONDecodeError:
            return recorded  # a cut-off body stays what it was
        document["events"] = [
            *(document.get("events") or []),
            *(orjson.loads(g.scoreboard_event_json(now)) for g in games),
        ]
        return Response(200, orjson.dumps(document), recorded.content_type)

    def _timelines_on(self, dates: str | None) -> list[GameTimeline]:
        if not self.timelines or not dates:
            return list(self.timelines.values())
        try:
            first, last = _parse_dates(dates)
        except ValueError:
            return []
        return [game for game in self.timelines.values() if first <= game.eastern_date <= last]


def recorded_sources(server: SessionServer) -> Mapping[str, str]:
    """The base URL of each recorded source on `server`, by the setting that points at it."""
    return {
        "espn_base_url": server.base_url_of(ESPN),
        "espn_core_base_url": server.base_url_of(ESPN_CORE),
        "kalshi_base_url": server.base_url_of(KALSHI),
    }
