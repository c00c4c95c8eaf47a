"""The NFL's own account of a recorded game (tests/fixtures/nfl): which plays were significant by
its GSIS stats, and which ESPN play each of them is.

Independent of the daemon on purpose: significance here comes only from the NFL's stats and drive
results, never from ESPN's types, texts or yardage, so that a test comparing the two can catch the
daemon reading ESPN wrongly. ESPN's plays are used only to find the same snap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

from helpers import fixture_json
from nfl_sync.domain.models import Play

# GSIS stat ids (as nflfastR's helper_tidy_play_stats.R decodes them).
INTERCEPTION_THROWN = 19
FUMBLE_LOST = 106
# Rushing yards, rushing yards on a touchdown, completion yards, completion yards on a touchdown:
# the yards the ball carrier gained himself, without penalty yards (unlike `yardsGained`).
OWN_GAIN = frozenset({10, 11, 15, 16})

# The NFL's playStartTime and ESPN's wallclock stamp the same snap a second or two apart.
SAME_SNAP = timedelta(seconds=20)
_SNAP_CLOCK = re.compile(r"^\(\s*\d*:\d\d\)\s*")  # "(14:09) " in front of the NFL's descriptions


@dataclass(frozen=True)
class OfficialPlay:
    """A play the NFL's data says is significant, and why (in the alert vocabulary)."""

    play_id: int
    quarter: int
    start: datetime
    description: str
    tag: str  # interception / fumble_lost / turnover_on_downs / safety / big_play


def load(name: str) -> Mapping[str, Any]:
    """One game's NFL game details from tests/fixtures/nfl."""
    document: Mapping[str, Any] = fixture_json("nfl", name)
    return document


def significant_plays(document: Mapping[str, Any], big_play_yards: int = 20) -> list[OfficialPlay]:
    """One entry per (play, reason): a play can be significant twice over (a long catch, then a
    fumble lost). Plays the NFL deleted do not count."""
    drives_on_downs = {
        drive["endedPlayId"] for drive in document["driveChart"]["drives"] if drive["endedDescription"] == "Downs"
    }
    found = []
    for play in document["driveChart"]["plays"]:
        if play["playDeleted"]:
            continue
        stats = play["stats"]
        ids = {stat["statType"] for stat in stats}
        reasons = []
        if INTERCEPTION_THROWN in ids:
            reasons.append("interception")
        if FUMBLE_LOST in ids:
            reasons.append("fumble_lost")
        if play["playId"] in drives_on_downs:
            reasons.append("turnover_on_downs")
        if play["scoringPlayType"] == "SAFETY":
            reasons.append("safety")
        if any(stat["statType"] in OWN_GAIN and (stat["yards"] or 0) >= big_play_yards for stat in stats):
            reasons.append("big_play")
        found.extend(
            OfficialPlay(
                play["playId"],
                play["quarter"],
                datetime.fromisoformat(play["playStartTime"]),
                play["playDescription"],
                reason,
            )
            for reason in reasons
        )
    return found


def espn_play(official: OfficialPlay, plays: Sequence[Play]) -> Play:
    """The ESPN play of the same snap: same quarter, started within `SAME_SNAP`, and of those
    the one whose text reads most like the NFL's description (a timeout can be seconds away)."""
    candidates = [
        play
        for play in plays
        if play.period == official.quarter
        and play.wallclock is not None
        and abs(play.wallclock - official.start) <= SAME_SNAP
    ]
    assert candidates, f"no ESPN play in Q{official.quarter} near {official.start}: {official.description}"
    wanted = _words(_SNAP_CLOCK.sub("", official.description))
    return max(candidates, key=lambda play: SequenceMatcher(None, wanted, _words(play.text or "")).ratio())


def _words(text: str) -> str:
    return " ".join(text.lower().split())
