"""Pure detection on a game's play-by-play: what happened between two scoreboard polls.

The scoreboard lane alerts a score the moment it sees it, and a turnover or long gain when it is
the scoreboard's last play. The summary that follows shows every play: this module finds what
the scoreboard could not show (a score and a turnover between two polls, a turnover on downs only
known once the drive ended) and never alerts twice what the scoreboard already did, since both
lanes key an alert by the same play or score. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from nfl_sync.domain.detection import (
    ALERT_TAGS,
    TURNOVER_TAGS,
    ScoreMemory,
    known_scores,
    reversed_play_event,
    score_from_play,
    significant_play_event,
)
from nfl_sync.domain.events import Event
from nfl_sync.domain.models import Game, Play, PlayIdentity

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
    # Each known play's identity, so a play ESPN renumbers is known under its new id.
    identities: Mapping[str, PlayIdentity] = field(default_factory=dict)
    turnovers: Mapping[str, Play] = field(default_factory=dict)  # alerted turnovers: a reversal is news
    missing_ids: frozenset[str] = frozenset()  # known plays the last summary left out (unconfirmed)
    deleted_ids: frozenset[str] = frozenset()  # known plays ESPN dropped (left out twice, or renumbered)


@dataclass(frozen=True)
class PlayUpdate:
    events: tuple[Event, ...]
    memory: PlayMemory
    new_plays: tuple[Play, ...] = ()
    significant: tuple[Play, ...] = ()  # plays significant for the first time: measure their market reaction
    deleted: tuple[str, ...] = ()  # play ids ESPN dropped as of this summary: mark them deleted


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

    A play ESPN renumbers (a new id with the identity of a known play no longer listed) is the
    known play: stored under its new id, the old one deleted, nothing alerted again. A known play
    left out of two summaries in a row is deleted; an alerted turnover that is deleted, or no
    longer a turnover, yields a correction.
    """
    ordered = sorted(plays, key=lambda p: p.sequence_number)
    if prev is None:
        history = [p for p in ordered if p.wallclock is None or p.wallclock <= score.first_seen]
        prev = PlayMemory(
            known_play_ids=frozenset(p.play_id for p in history),
            significant_ids=frozenset(p.play_id for p in history if p.significance),
            scored_total=score.baseline_total,
            revision=score.revision,
            identities={p.play_id: p.identity for p in history},
        )
    present = {p.play_id: p for p in ordered}
    renumbered = _renumbered(prev, ordered, present)
    prev = _carry_over(prev, renumbered)
    floor = prev.scored_total if prev.revision == score.revision else min(prev.scored_total, score.alerted_total)
    new_plays = [p for p in ordered if p.play_id not in prev.known_play_ids]
    new_ids = {p.play_id for p in new_plays}
    events: list[Event] = []
    significant: list[Play] = []
    before = (0, 0)
    scoring = _scoring_plays(ordered)
    if asked_at_revision is not None and asked_at_revision != score.revision:
        scoring = [entry for entry in scoring if sum(entry.after) <= score.alerted_total]
    # The scoreboard lane alerted the score it shows when it saw it; the plays add the ones between.
    shown = known_scores(score.away_score, score.home_score)
    for index, entry in enumerate(scoring):
        is_new = not new_ids.isdisjoint(entry.rows)
        fresh = is_new and sum(entry.after) > floor and entry.after != shown
        if fresh and not _converted(scoring, index):
            events.append(score_from_play(game, entry.play, before, entry.after, score.revision, now))
        floor = max(floor, sum(entry.after)) if is_new else floor
        before = entry.after
    for play in ordered:
        if play.significance and play.play_id not in prev.significant_ids:
            significant.append(play)
            if ALERT_TAGS.intersection(play.significance):
                events.append(significant_play_event(game, play, now))
    last_total = max((sum(entry.after) for entry in scoring), default=0)
    missing = frozenset(play_id for play_id in prev.known_play_ids if play_id not in present) - prev.deleted_ids
    deleted = (missing & prev.missing_ids) | frozenset(renumbered.values()) if ordered else frozenset()
    turnovers = {**prev.turnovers, **{p.play_id: p for p in significant if TURNOVER_TAGS.intersection(p.significance)}}
    for play_id, alerted in sorted(turnovers.items()):
        listed = present.get(play_id)
        if play_id in deleted or (listed is not None and not TURNOVER_TAGS.intersection(listed.significance)):
            events.append(reversed_play_event(game, alerted, now))
            del turnovers[play_id]
    memory = PlayMemory(
        known_play_ids=prev.known_play_ids | new_ids,
        significant_ids=prev.significant_ids | {p.play_id for p in significant},
        scored_total=max(floor, last_total),
        revision=score.revision,
        identities={**prev.identities, **{p.play_id: p.identity for p in ordered}},
        turnovers=turnovers,
        missing_ids=missing - deleted if ordered else prev.missing_ids,
        deleted_ids=(prev.deleted_ids | deleted) - frozenset(present),
    )
    return PlayUpdate(tuple(events), memory, tuple(new_plays), tuple(significant), tuple(sorted(deleted)))


def _renumbered(prev: PlayMemory, ordered: Sequence[Play], present: Mapping[str, Play]) -> dict[str, str]:
    """new id -> old id of the plays ESPN gave a new id: a new id with the identity of a known
    play that this summary no longer lists."""
    gone = {identity: play_id for play_id, identity in prev.identities.items() if play_id not in present}
    found = {}
    for play in ordered:
        if play.play_id not in prev.known_play_ids:
            old = gone.pop(play.identity, None)
            if old is not None:
                found[play.play_id] = old
    return found


def _carry_over(prev: PlayMemory, renumbered: Mapping[str, str]) -> PlayMemory:
    """`prev` with what it knew of each renumbered play's old id known under the new id."""
    if not renumbered:
        return prev
    turnovers = {play_id: play for play_id, play in prev.turnovers.items() if play_id not in renumbered.values()}
    for new, old in renumbered.items():
        if old in prev.turnovers:
            turnovers[new] = replace(prev.turnovers[old], play_id=new)
    return replace(
        prev,
        known_play_ids=prev.known_play_ids | frozenset(renumbered),
        significant_ids=prev.significant_ids | {new for new, old in renumbered.items() if old in prev.significant_ids},
        turnovers=turnovers,
    )


@dataclass(frozen=True)
class _Scored:
    """A scoring play, the (away, home) scores before and after it, and the rows that showed its
    points."""

    play: Play
    before: tuple[int, int]
    after: tuple[int, int]
    rows: tuple[str, ...]

    @property
    def owed(self) -> int:
        """Points the play scored (by the parser) that its rows do not show yet."""
        return self.play.score_value - (sum(self.after) - sum(self.before))


def _scoring_plays(ordered: Sequence[Play]) -> list[_Scored]:
    """The plays after which the (away, home) score rose or fell, with that score. A row that
    shows points it did not score (ESPN folds a try into the kickoff's row, and the parser gave
    them to the play that scored) adds them to the scoring play still owed them."""
    found: list[_Scored] = []
    before = (0, 0)
    for play in ordered:
        after = known_scores(play.away_score, play.home_score)
        if after is None or after == before:
            continue
        gained = (after[0] - before[0]) + (after[1] - before[1])
        if found and not play.scoring_play and 0 < gained <= found[-1].owed:
            last = found[-1]
            found[-1] = _Scored(last.play, last.before, after, (*last.rows, play.play_id))
        else:
            found.append(_Scored(play, before, after, (play.play_id,)))
        before = after
    return found


def _converted(scoring: Sequence[_Scored], index: int) -> bool:
    """Whether the scoring play at `index` is a touchdown whose try (1 or 2 points, same team)
    is the next score: the score after the try is the one worth telling."""
    if index + 1 >= len(scoring):
        return False
    after, following = scoring[index].after, scoring[index + 1].after
    before = scoring[index - 1].after if index else (0, 0)
    gained = (after[0] - before[0], after[1] - before[1])
    then = (following[0] - after[0], following[1] - after[1])
    scored_by = 0 if gained[0] > 0 else 1
    return sum(gained) == 6 and then[scored_by] in CONVERSION_POINTS and then[1 - scored_by] == 0
