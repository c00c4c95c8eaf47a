"""A recorded game as ESPN served it at any moment: `GameTimeline`, and `load_game` to read one.

A `GameTimeline` is a `RecordedGame` that also answers with ESPN's documents at an instant: its
scoreboard entry (`espn_scoreboard`) and its `/summary` (`espn_summary`), as documents or as the
encoded bodies the fake ESPN sends. The servers poll the same moments again and again, so the
encodings are kept: the scoreboard entry of the last moment asked for, and the summary's recorded
parts. The only I/O is `load_game()`, which reads a recording.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from nfl_replay import espn_scoreboard, espn_summary
from nfl_replay.json_fragments import encode
from nfl_replay.recording import Moment, RecordedGame


class GameTimeline(RecordedGame):
    """A finished game's recording, replayable at any instant.

    Methods that take a time `t` answer for that instant. Returned documents share the
    recording's unchanged parts, so callers must treat them as read-only (the servers only
    serialize them).
    """

    def __init__(self, summary: Mapping[str, Any]):
        super().__init__(summary)
        # The scoreboard asks for the same moment again and again (every poll until the next
        # play): its last answer is kept, keyed by the moment.
        self._scoreboard_cache: tuple[Moment, str] | None = None
        self._fragments: espn_summary.SummaryFragments | None = None

    def scoreboard_event(self, t: datetime) -> dict[str, Any]:
        """This game as an entry of ESPN's scoreboard `events[]` at `t`."""
        return espn_scoreboard.scoreboard_event(self, self.moment(t))

    def scoreboard_event_json(self, t: datetime) -> str:
        """`scoreboard_event(t)` as compact JSON, built once per moment of the game."""
        moment = self.moment(t)
        cached = self._scoreboard_cache
        if cached is not None and cached[0] == moment:
            return cached[1]
        encoded = encode(espn_scoreboard.scoreboard_event(self, moment))
        self._scoreboard_cache = (moment, encoded)
        return encoded

    def summary(self, t: datetime) -> dict[str, Any]:
        """The `/summary` document ESPN would have served at `t`."""
        return espn_summary.summary(self, self.moment(t))

    def summary_json(self, t: datetime) -> bytes:
        """`summary(t)` as the compact JSON body `json_response` would send, byte for byte.

        The recorded parts (boxscore, news, every finished drive, each scoring play and win
        probability entry) are encoded on the first call, so a poll costs a join of encoded
        fragments rather than encoding a 0.3-1 MB document.
        """
        # Unlocked: concurrent first calls only encode the fragments twice.
        if self._fragments is None:
            self._fragments = espn_summary.encode_fragments(self)
        return espn_summary.summary_json(self, self.moment(t), self._fragments)


def load_game(path: str | Path) -> GameTimeline:
    """Read a recorded game: a `/summary` file or a cdn game page (summary under `gamepackageJSON`)."""
    with Path(path).open(encoding="utf-8") as handle:
        document = json.load(handle)
    return GameTimeline(document.get("gamepackageJSON", document))
