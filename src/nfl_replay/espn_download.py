"""`download espn`: the summaries of a season's finished games, saved as `summary_<id>.json` into
a folder that `--replay` takes as it is.

Week by week, ESPN's scoreboard (`/scoreboard?dates=YYYY&seasontype=T&week=N`) lists the games;
each finished one's `/summary?event=ID` is saved. Keyless, within ESPN's limits (the settings'
ESPN_RATE_PER_SECOND and ESPN_RATE_PER_MINUTE), and resumable: a file is written whole or not at
all, and a summary already saved of a finished game is not asked for again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nfl_replay.files import read_json, write_json
from nfl_sync.domain.errors import SourceError
from nfl_sync.sources.http import HttpSource

log = logging.getLogger(__name__)

REGULAR_SEASON = 2


def _completed(competition_holder: Mapping[str, Any]) -> bool:
    """ESPN's `status.type.completed` of a scoreboard event or a summary's competition."""
    status = competition_holder.get("status") or {}
    return bool((status.get("type") or {}).get("completed"))


def saved_summary_complete(path: Path) -> bool:
    """A summary saved earlier, of a game that was over when it was saved."""
    if not path.exists():
        return False
    try:
        competitions = read_json(path)["header"]["competitions"]
    except (OSError, ValueError, KeyError, TypeError):
        return False  # unreadable: asked for again
    return bool(competitions) and _completed(competitions[0])


@dataclass
class SeasonTally:
    games: int = 0
    downloaded: int = 0
    already: int = 0
    not_final: int = 0
    failed: int = 0


class SeasonDownload:
    """Downloads the summaries of `season`'s weeks into `out` through `http` (ESPN's site API)."""

    def __init__(self, http: HttpSource, out: Path, echo: Callable[[str], None] = print):
        self.http = http
        self.out = out
        self.echo = echo

    def run(self, season: int, weeks: Sequence[int], season_type: int = REGULAR_SEASON) -> int:
        """Every week in turn, a line each and a summary; the exit status (1 when some failed)."""
        tally = SeasonTally()
        for week in weeks:
            try:
                events = self.scoreboard(season, week, season_type)
            except SourceError as error:
                self.echo(f"{season} week {week}: FAILED, the scoreboard did not answer: {error}")
                tally.failed += 1
                continue
            before = SeasonTally(**vars(tally))
            for event in events:
                self.event(event, tally)
            self.echo(
                f"{season} week {week}: {len(events)} game(s): {tally.downloaded - before.downloaded} downloaded, "
                f"{tally.already - before.already} already there, {tally.not_final - before.not_final} not final, "
                f"{tally.failed - before.failed} failed"
            )
        self.echo(
            f"ESPN {season} (season type {season_type}) weeks {_weeks(weeks)} in {self.out}: {tally.games} game(s), "
            f"{tally.downloaded} downloaded, {tally.already} already there, {tally.not_final} not final, "
            f"{tally.failed} failed" + (" (run the command again to retry them)" if tally.failed else "")
        )
        return 1 if tally.failed else 0

    def scoreboard(self, season: int, week: int, season_type: int) -> list[Mapping[str, Any]]:
        body = self.http.get_json("scoreboard", {"dates": season, "seasontype": season_type, "week": week})
        events = body.get("events")
        if not isinstance(events, list):
            raise SourceError("espn", "/scoreboard", "returned no events list")
        return [event for event in events if isinstance(event, Mapping) and event.get("id")]

    def event(self, event: Mapping[str, Any], tally: SeasonTally) -> None:
        """One game of the scoreboard: its summary saved when it is over and not saved yet."""
        tally.games += 1
        game_id = str(event["id"])
        target = self.out / f"summary_{game_id}.json"
        if saved_summary_complete(target):
            tally.already += 1
            return
        if not _completed(event):
            tally.not_final += 1
            return
        try:
            summary = self.http.get_json("summary", {"event": game_id})
            if not isinstance(summary.get("header"), Mapping):
                raise SourceError("espn", "/summary", "returned a summary without its header")
        except SourceError as error:
            self.echo(f"    game {game_id} ({event.get('shortName', '?')}): FAILED: {error}")
            tally.failed += 1
            return
        write_json(target, summary)
        tally.downloaded += 1


def _weeks(weeks: Sequence[int]) -> str:
    ordered = sorted(weeks)
    contiguous = ordered == list(range(ordered[0], ordered[-1] + 1)) if ordered else False
    return f"{ordered[0]}-{ordered[-1]}" if contiguous and len(ordered) > 1 else ",".join(map(str, ordered))
