"""Which plays matter: tags a play with what happened on it (pure, no I/O).

Scores are detected from the change in the score, not only from the play's wording, because
ESPN's type texts vary ("Passing Touchdown", "Fumble Return Touchdown", a PAT folded into the
touchdown play...) while the scoreboard never lies. The tags are the alert vocabulary:

    touchdown, field_goal, safety, two_point, extra_point, interception, fumble_lost,
    turnover_on_downs, big_play

`extra_point` is informational: alone it does not make a play significant (see `SIGNIFICANT`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from nfl_sync.domain.models import Play

TOUCHDOWN = "touchdown"
FIELD_GOAL = "field_goal"
SAFETY = "safety"
TWO_POINT = "two_point"
EXTRA_POINT = "extra_point"
INTERCEPTION = "interception"
FUMBLE_LOST = "fumble_lost"
TURNOVER_ON_DOWNS = "turnover_on_downs"
BIG_PLAY = "big_play"

TAGS = (TOUCHDOWN, FIELD_GOAL, SAFETY, TWO_POINT, EXTRA_POINT, INTERCEPTION, FUMBLE_LOST, TURNOVER_ON_DOWNS, BIG_PLAY)
SIGNIFICANT = frozenset(
    (TOUCHDOWN, FIELD_GOAL, SAFETY, TWO_POINT, INTERCEPTION, FUMBLE_LOST, TURNOVER_ON_DOWNS, BIG_PLAY)
)

# Scores before a play: the previous play, or an (away, home) pair, or None for the game's first play.
Before = Play | tuple[int | None, int | None] | None

# Plays whose statYardage is a kick or punt distance, a penalty or the defence's return of an
# interception, not a gain by the offence.
_NOT_A_GAIN = re.compile(
    r"kickoff|punt|field goal|extra point|penalty|interception|timeout|two-minute|end (?:period|of)", re.IGNORECASE
)
_NARRATED_GAIN = re.compile(r"for (?:(-?\d+) yards?|no gain)")
_PENALTY_YARDS = re.compile(r"penalty on [^,]+, [^,]+, (\d+) yards?")
_TWO_POINT_SUCCESS = re.compile(
    r"two-point conversion(?: attempt)?.{0,120}?(?:succeeds|is good)|"
    r"two point (?:pass|rush) (?:conversion )?good|2pt conversion good",
    re.IGNORECASE | re.DOTALL,
)


def classify(play: Play, before: Before = None, big_play_yards: int = 20) -> tuple[str, ...]:
    """The tags of `play`, in the order of `TAGS`.

    `before` gives the score going into the play; without it the play's own `score_value`
    (which the ESPN parser computed from the same delta) is used.
    """
    points = _points(play, before)
    words = f"{play.type or ''} {play.text or ''}".lower()
    tags: list[str] = []
    scoring = play.scoring_type
    if points >= 6 or scoring == "TD":
        tags.append(TOUCHDOWN)
        # 8 points = touchdown + two-point conversion; wording counts only when it says the try succeeded.
        if points == 8 or _TWO_POINT_SUCCESS.search(words):
            tags.append(TWO_POINT)
        elif points == 7:
            tags.append(EXTRA_POINT)
    elif points == 3 or scoring == "FG":
        tags.append(FIELD_GOAL)
    elif points == 2 or scoring in ("SF", "2PT"):
        tags.append(SAFETY if scoring == "SF" or "safety" in words else TWO_POINT)
    elif points == 1 or scoring == "XP":
        tags.append(EXTRA_POINT)
    tags.extend(_turnover_tags(play))
    if _is_big_gain(play, words, big_play_yards):
        tags.append(BIG_PLAY)
    return tuple(sorted(set(tags), key=TAGS.index))


def significant_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """The tags that make a play worth an alert (drops `extra_point` alone)."""
    tags = tuple(tags)
    return tags if any(tag in SIGNIFICANT for tag in tags) else ()


def with_significance(plays: Iterable[Play], before: Before = None, big_play_yards: int = 20) -> list[Play]:
    """`plays` (in sequence order) with `significance` filled, each scored against the one before it.

    `before` is the score going into the first play (e.g. the last play already stored).
    """
    result = []
    previous = before
    for play in plays:
        result.append(replace(play, significance=significant_tags(classify(play, previous, big_play_yards))))
        previous = play
    return result


def _points(play: Play, before: Before) -> int:
    """Points scored on the play, from the score change (corrections that lower a score count 0)."""
    if before is None or play.away_score is None or play.home_score is None:
        return play.score_value
    away_before, home_before = (before.away_score, before.home_score) if isinstance(before, Play) else before
    return max(0, play.away_score - (away_before or 0)) + max(0, play.home_score - (home_before or 0))


def _turnover_tags(play: Play) -> list[str]:
    """From the type text, or from the drive result on the play that ended the drive (a sack-fumble
    is typed "Sack"); free text is not used because nullified plays still mention "INTERCEPTED".
    """
    kind = (play.type or "").lower()
    result = (play.drive_result or "").upper() if play.is_turnover else ""
    tags = []
    if "interception" in kind or result.startswith("INT"):
        tags.append(INTERCEPTION)
    if "fumble recovery (opponent)" in kind or "fumble return" in kind or "FUMBLE" in result:
        tags.append(FUMBLE_LOST)
    if "DOWNS" in result and not tags:
        tags.append(TURNOVER_ON_DOWNS)
    return tags


def _is_big_gain(play: Play, words: str, threshold: int) -> bool:
    if play.yards is None or "no play" in words or "nullified" in words or _NOT_A_GAIN.search(play.type or ""):
        return False
    return _gain(play, words) >= threshold


def _gain(play: Play, words: str) -> int:
    """Yards the ball carrier gained himself (what the NFL credits him). On a penalty play ESPN's
    statYardage is the net of the run and the penalty: a defensive foul adds its yards (a 5-yard
    run + 15 for roughness = 20), an offensive foul takes them off the spot it is enforced at (a
    12-yard run with holding at the 1-yard mark: 1 - 10 = -9), and the narration tells the run as
    if no flag flew. So the gain is the narrated "for N yards", but no more than the net plus the
    penalties' yards (which only loosens the bound when a penalty was declined or offset).
    """
    if "penalty" in words:
        match = _NARRATED_GAIN.search(words)
        if match:
            narrated = 0 if match.group(1) is None else int(match.group(1))
            return min(narrated, (play.yards or 0) + sum(map(int, _PENALTY_YARDS.findall(words))))
    return play.yards or 0
