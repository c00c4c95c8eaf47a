"""Pure detection on a game's play-by-play: what happened between two scoreboard polls.

The scoreboard lane alerts a score the moment it sees it, and a turnover or long gain when it is
the scoreboard's last play. The summary that follows shows every play: this module finds what
the scoreboard could not show (a score and a turnover between two polls, a turnover on downs only
known once the drive ended) and never alerts twice what the scoreboard already did, since both
lanes key an alert by the same play or score. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from nfl_sync.domain.detection import (
    ALERT_TAGS,
    ScoreMemory,
    known_scores,
    score_from_play,
    significant_play_event,
)
from nfl_sync.domain.events import Event
from nfl_sync.domain.models import Game, Play

CONVERSION_POINTS = (1, 2)


@dataclass(frozen=True)
class PlayMemory:
    """What the play-by-play lane remembers about one game (restored from the database)."""

    known_play_ids: frozenset[str] = frozenset()
    # Known plays that already had a significance: ESPN can reveal one late (a turnover on downs
    # is only known once the drive's result is), and that late news must still alert.
    significant_ids: frozenset[str] = frozenset()
    scored_total: int = 0  # points total after the newest scoring play already seen in the plays
    revision: int = 0  # the score revision `scored_total` belongs to


@dataclass(frozen=True)
class PlayUpdate:
    events: tuple[Event, ...]
    memory: PlayMemory
    new_plays: tuple[Play, ...] = ()
    significant: tuple[Play, ...] = ()  # plays significant for the first time: measure their market reaction


def detect_plays(
    prev: PlayMemory | None,
    score: ScoreMemory,
    game: Game,
    plays: Sequence[Play],
    now: datetime,
    asked_at_revision: int | None = None,
) -> PlayUpdate:
    """Compare a game's plays (classified, any order) with what the lane knew.

    The first summary of a game (`prev` None) takes the plays that happened before the daemon
    first saw the game (`score.first_seen`) as history. A new scoring play whose total is above
    the newest one already seen yields its `score` event, except a touchdown whose conversion
    follows (the score after the conversion tells it); a play significant for the first time
    yields its `significant_play` event. Plays that arrive late or out of order are new as long
    as their id is new.

    `asked_at_revision` is the score revision when the summary was asked for: if the scoreboard
    has corrected the score since, the summary may still show the score taken back, so nothing
    in it above the corrected total is news.
    """
    ordered = sorted(plays, key=lambda p: p.sequence_number)
    if prev is None:
        history = [p for p in ordered if p.wallclock is None or p.wallclock <= score.first_seen]
        prev = PlayMemory(
            known_play_ids=frozenset(p.play_id for p in history),
            significant_ids=frozenset(p.play_id for p in history if p.significance),
            scored_total=score.baseline_total,
            revision=score.revision,
        )
    floor = prev.scored_total if prev.revision == score.revision else min(prev.scored_total, score.alerted_total)
    new_plays = [p for p in ordered if p.play_id not in prev.known_play_ids]
    new_ids = {p.play_id for p in new_plays}
    events: list[Event] = []
    significant: list[Play] = []
    before = (0, 0)
    scoring = _scoring_plays(ordered)
    if asked_at_revision is not None and asked_at_revision != score.revision:
        scoring = [(p, after) for p, after in scoring if sum(after) <= score.alerted_total]
    # The scoreboard lane alerted the score it shows when it saw it; the plays add the ones between.
    shown = known_scores(score.away_score, score.home_score)
    for index, (play, after) in enumerate(scoring):
        fresh = play.play_id in new_ids and sum(after) > floor and after != shown
        if fresh and not _converted(scoring, index):
            events.append(score_from_play(game, play, before, after, score.revision, now))
        floor = max(floor, sum(after)) if play.play_id in new_ids else floor
        before = after
    for play in ordered:
        if play.significance and play.play_id not in prev.significant_ids:
            significant.append(play)
            if ALERT_TAGS.intersection(play.significance):
                events.append(significant_play_event(game, play, now))
    last_total = max((sum(after) for _, after in scoring), default=0)
    memory = PlayMemory(
        known_play_ids=prev.known_play_ids | new_ids,
        significant_ids=prev.significant_ids | {p.play_id for p in significant},
        scored_total=max(floor, last_total),
        revision=score.revision,
    )
    return PlayUpdate(tuple(events), memory, tuple(new_plays), tuple(significant))


def _scoring_plays(ordered: Sequence[Play]) -> list[tuple[Play, tuple[int, int]]]:
    """The plays after which the (away, home) score changed, with that score."""
    found = []
    before = (0, 0)
    for play in ordered:
        after = known_scores(play.away_score, play.home_score)
        if after is not None and after != before:
            found.append((play, after))
            before = after
    return found


def _converted(scoring: Sequence[tuple[Play, tuple[int, int]]], index: int) -> bool:
    """Whether the scoring play at `index` is a touchdown whose try (1 or 2 points, same team)
    is the next score: the score after the try is the one worth telling."""
    if index + 1 >= len(scoring):
        return False
    (_, after), (_, following) = scoring[index], scoring[index + 1]
    before = scoring[index - 1][1] if index else (0, 0)
    gained = (after[0] - before[0], after[1] - before[1])
    then = (following[0] - after[0], following[1] - after[1])
    scored_by = 0 if gained[0] > 0 else 1
    return sum(gained) == 6 and then[scored_by] in CONVERSION_POINTS and then[1 - scored_by] == 0
