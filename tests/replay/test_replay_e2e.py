"""End to end: recorded games through the whole, unchanged daemon, on the embedded PostgreSQL.

The daemon (`app.build_sync`) polls the fake ESPN and Kalshi servers of a `ReplayEnvironment`
(recorded games re-served as they stood at each moment of a simulated clock) and delivers its
alerts to a fake Telegram Bot API. Every expectation is computed here from the raw recorded JSON
(`drives.previous[].plays[]`: ids, sequence numbers, homeScore/awayScore, statYardage, type.text,
the drive results), never from the pipeline's own output:

* every play stored exactly once, with its recorded score; the final score;
* one `score` alert per score change, none twice, in the order of the changes, within two polls;
* a `significant_play` alert per turnover and per offensive gain of 20+ yards, and play-to-price
  correlations stored for them and for the scoring plays;
* at Telegram, every alert exactly once, or (after a crash) at least once with every repeat
  labelled as such.

Scenarios: both recorded games in full (kicking off together, like a Sunday slate); a clean
stop and restart mid-game with the game going on while the daemon is down; SIGKILL of a daemon
process mid-game (tests/replay/replay_child.py) and a new process taking over; a whole game under
injected faults (ESPN 5xx, timeouts, HTML and truncated bodies, Kalshi 429 bursts, Telegram 429
and 5xx, a PostgreSQL restart at halftime); a play whose summary fetch and then whose write
failed; a turnover known only once its drive has ended; a score alert through a few seconds of
Telegram 5xx; a restart between a big play and the measurement of its market reaction.

Kalshi prices in replays are synthetic; the alert sender's real-time flood pacing is widened
(`helpers.unpace_sender`) since a replay compresses hours into seconds.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpers import (
    E2E_CHAT,
    FIXTURES,
    TELEGRAM_TOKEN,
    fast_commit_url,
    replay_daemon_settings,
    restart_postgres,
    unpace_sender,
)
from nfl_replay.faults import FaultPlan
from nfl_replay.runner import ReplayEnvironment
from nfl_replay.telegram_server import FakeTelegramServer, telegram_error
from nfl_replay.timeline import load_game
from nfl_sync.app import build_sync, close_sync
from nfl_sync.domain.alert_templates import RESEND_NOTICE
from nfl_sync.storage.manager import NFLDBManager

GB_ATL = "401547417"  # GB 24 @ ATL 25, 186 plays
BAL_JAX = "401547602"  # BAL 23 @ JAX 7, 186 plays
RECORDINGS = {
    GB_ATL: FIXTURES / "espn" / "summary_401547417.json",
    BAL_JAX: FIXTURES / "espn" / "cdn_game_401547602.json",
}
CHILD = Path(__file__).resolve().parent / "replay_child.py"

# A poll every 5 s, the fetch in the same cycle: an alert this long after its play is late.
MAX_ALERT_DELAY = timedelta(seconds=10)


# --- what the recording says ------------------------------------------------------------------

# Plays that only mark time or stop the clock: never the play that decided a drive.
ADMINISTRATIVE = frozenset(
    {
        "timeout",
        "official timeout",
        "end period",
        "end of half",
        "end of game",
        "end of regulation",
        "two-minute warning",
        "coin toss",
    }
)
# Offensive plays whose statYardage is a gain by the ball carrier (kicks, punts, returns and
# penalties are not: their yardage is a kick distance, a return by the other side, or yards
# walked off).
OFFENSIVE = frozenset({"rush", "pass reception", "passing touchdown", "rushing touchdown", "pass", "pass completion"})
_NARRATED = re.compile(r"for (?:(-?\d+) yards?|no gain)", re.IGNORECASE)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class RecordedPlay:
    id: str
    sequence: int
    type: str
    text: str
    yards: int
    away: int
    home: int
    visible_at: datetime  # when ESPN would first have shown it
    drive_result: str | None  # set on the play that decided its drive
    drive: int  # index of its drive

    @property
    def turnover_by_type(self) -> bool:
        kind = self.type.lower()
        return "interception" in kind or "fumble recovery (opponent)" in kind or "fumble return" in kind

    @property
    def turnover_by_drive(self) -> bool:
        result = (self.drive_result or "").upper()
        return result.startswith("INT") or "FUMBLE" in result or result.endswith("DOWNS")

    @property
    def turnover(self) -> bool:
        return self.turnover_by_type or self.turnover_by_drive

    @property
    def gain(self) -> int:
        """Yards the offence gained: statYardage of a rush or pass that counted, except that on a
        play with an accepted penalty (statYardage then includes the yards walked off) the
        narrated "for N yards" of the run or catch is the gain."""
        if self.type.lower() not in OFFENSIVE or "no play" in self.text.lower():
            return 0
        if "penalty" in self.text.lower():
            match = _NARRATED.search(self.text)
            return int(match.group(1)) if match and match.group(1) else 0
        return self.yards

    @property
    def big_gain(self) -> bool:
        return self.gain >= 20


class Recording:
    """A recorded game read straight from its JSON, optionally played `shift` later."""

    def __init__(self, game_id: str, shift: timedelta = timedelta(0)):
        document = json.loads(RECORDINGS[game_id].read_text(encoding="utf-8"))
        document = document.get("gamepackageJSON", document)
        competition = document["header"]["competitions"][0]
        self.game_id = game_id
        self.kickoff = _time(competition["date"]) + shift
        sides = {c["homeAway"]: c for c in competition["competitors"]}
        self.final = (int(sides["away"]["score"]), int(sides["home"]["score"]))
        self.teams = (sides["away"]["team"]["abbreviation"], sides["home"]["team"]["abbreviation"])
        raw = []
        for drive_index, drive in enumerate(document["drives"]["previous"]):
            plays = drive.get("plays", [])
            decider = None
            if drive.get("result"):
                real = [p for p in plays if p["type"]["text"].lower() not in ADMINISTRATIVE]
                decider = real[-1]["id"] if real else None
            for play in plays:
                raw.append(
                    (int(play["sequenceNumber"]), play, drive["result"] if play["id"] == decider else None, drive_index)
                )
        raw.sort(key=lambda item: item[0])
        visible = self.kickoff
        self.plays: list[RecordedPlay] = []
        for sequence, play, result, drive_index in raw:
            # Plays are revealed in sequence order: one stamped earlier than its predecessor
            # shows with it.
            if play.get("wallclock"):
                visible = max(visible, _time(play["wallclock"]) + shift)
            self.plays.append(
                RecordedPlay(
                    str(play["id"]),
                    sequence,
                    play["type"]["text"],
                    play.get("text", ""),
                    int(play.get("statYardage", 0)),
                    int(play["awayScore"]),
                    int(play["homeScore"]),
                    visible,
                    result,
                    drive_index,
                )
            )
        self.by_id = {p.id: p for p in self.plays}

    @property
    def end(self) -> datetime:
        return self.plays[-1].visible_at

    def visible(self, until: datetime | None = None) -> list[RecordedPlay]:
        return [p for p in self.plays if until is None or p.visible_at <= until]

    def score_changes(self, after: datetime | None = None, until: datetime | None = None) -> list[RecordedPlay]:
        """The plays that changed the score, visible in (after, until]."""
        changes, last = [], (0, 0)
        for play in self.plays:
            if (
                (play.away, play.home) != last
                and (after is None or play.visible_at > after)
                and (until is None or play.visible_at <= until)
            ):
                changes.append(play)
            last = (play.away, play.home)
        return changes

    def score_keys(self, after: datetime | None = None, until: datetime | None = None) -> list[str]:
        return [f"score:{self.game_id}:0:{p.away}-{p.home}" for p in self.score_changes(after, until)]

    def known_at(self, play: RecordedPlay) -> datetime:
        """When the play's significance can be known: its own appearance, or for a turnover told
        only by its drive's result, the first play of a later drive (the drive is over)."""
        if play.big_gain or play.turnover_by_type or not play.turnover_by_drive:
            return play.visible_at
        later = [p.visible_at for p in self.plays if p.drive > play.drive]
        return min(later) if later else self.end

    def measurable(self, play_ids: set[str]) -> set[str]:
        """The plays whose market reaction can be measured: known before the final whistle
        closes the markets."""
        return {i for i in play_ids if self.known_at(self.by_id[i]) < self.end}

    def significant(self, after: datetime | None = None, until: datetime | None = None) -> list[RecordedPlay]:
        """Turnovers and big gains visible in (after, until]."""
        return [
            p
            for p in self.plays
            if (p.turnover or p.big_gain)
            and (after is None or p.visible_at > after)
            and (until is None or p.visible_at <= until)
        ]

    def points(self) -> dict[str, int]:
        """Points scored on each play (from the score change)."""
        result, last = {}, (0, 0)
        for play in self.plays:
            result[play.id] = max(0, play.away - last[0]) + max(0, play.home - last[1])
            last = (play.away, play.home)
        return result


def test_the_recordings_hold_what_the_tests_rely_on():
    """The expectations' own sanity: ids unique, scores never decrease, the last play's score is
    the header's final score, and the turnovers and big gains are the ones a reader finds."""
    for game_id, expected_final, turnovers, big in (
        (
            GB_ATL,
            (24, 25),
            {"401547417283", "4015474171427", "4015474174212"},
            {"4015474171012", "4015474171311", "4015474172395", "4015474173163", "4015474173506", "4015474173781"},
        ),
        (
            BAL_JAX,
            (23, 7),
            {"4015476021103", "4015476021376", "4015476023485", "4015476023972"},
            {
                "401547602590",
                "4015476021978",
                "4015476022419",
                "4015476022826",
                "4015476022892",
                "4015476023298",
                "4015476024088",
            },
        ),
    ):
        recording = Recording(game_id)
        assert len(recording.plays) == len(recording.by_id) == 186
        scores = [(p.away, p.home) for p in recording.plays]
        assert all(a <= c and b <= d for (a, b), (c, d) in zip(scores, scores[1:], strict=False))
        assert scores[-1] == recording.final == expected_final
        assert {p.id for p in recording.plays if p.turnover} == turnovers
        assert {p.id for p in recording.plays if p.big_gain} == big
        # 4015476024002: "for 5 yards" plus 15 for roughness = statYardage 20, not a 20-yard gain.
        assert recording.by_id.get("4015476024002") is None or not recording.by_id["4015476024002"].big_gain


# --- the daemon in this process ------------------------------------------------------------------


def replayed(game_ids: list[str]) -> tuple[list, dict[str, Recording]]:
    """Timelines of the games, all kicking off with the first one (a Sunday slate), and the
    recordings shifted the same way."""
    first = load_game(RECORDINGS[game_ids[0]])
    timelines, recordings = [], {}
    for game_id in game_ids:
        timeline = load_game(RECORDINGS[game_id])
        shift = first.kickoff - timeline.kickoff
        timelines.append(timeline if not shift else timeline.with_id(game_id, shift))
        recordings[game_id] = Recording(game_id, shift)
    return timelines, recordings


def start_daemon(env: ReplayEnvironment, telegram: FakeTelegramServer, database_url: str, log_dir: Path, **overrides):
    settings = replay_daemon_settings(
        env.espn.base_url, env.kalshi.base_url, telegram.api_base_url, log_dir, **overrides
    )
    db = NFLDBManager(fast_commit_url(database_url), pool_min=2, pool_max=4)
    sync = build_sync(settings, clock=env.clock, db=db, restore=True)
    unpace_sender(sync)
    return sync


class HoldFirstScoreAlert:
    """A fault hook for the fake Bot API: Telegram accepts the first score alert, then holds its
    answer (so the sender cannot know it went out) until the server stops."""

    def __init__(self):
        self.held = threading.Event()
        self.visible_text: str | None = None

    def apply(self, produce):
        response = produce()
        if not self.held.is_set() and response.status == 200:
            text = (json.loads(response.body).get("result") or {}).get("text")
            if isinstance(text, str) and "SCORE UPDATE" in text:
                self.visible_text = text
                self.held.set()
                return replace(response, hold_seconds=60.0)
        return response


def drained(sync) -> bool:
    return not sync.pending_correlations and sync.alerts.pending_count() == 0


@pytest.fixture
def telegram():
    server = FakeTelegramServer(TELEGRAM_TOKEN).start()
    yield server
    server.stop()


# --- reading what happened -------------------------------------------------------------------------


def query(db, sql: str, *params) -> list[dict]:
    return db.run(lambda tx: (tx.cur.execute(sql, params), tx.cur.fetchall())[1])


def alert_rows(db) -> list[dict]:
    return query(db, "SELECT * FROM nfl_alert_history ORDER BY id")


@dataclass(frozen=True)
class Arrival:
    """One message Telegram accepted, matched to the alert it carries."""

    alert: dict
    labelled: bool  # headed by the resend notice


def arrivals(telegram: FakeTelegramServer, alerts: list[dict]) -> list[Arrival]:
    """Telegram's accepted messages in arrival order, each matched to its alert by its text."""
    by_text = defaultdict(list)
    for row in alerts:
        by_text[row["message"]].append(row)
    ambiguous = {text: [r["alert_key"] for r in rows] for text, rows in by_text.items() if len(rows) > 1}
    assert not ambiguous, f"alerts with identical messages cannot be told apart: {ambiguous}"
    result = []
    for message in telegram.messages_to(E2E_CHAT):
        text, labelled = message.text, RESEND_NOTICE in message.visible_text
        if labelled:
            notice, _, text = text.partition("\n")
            assert RESEND_NOTICE in notice, f"the resend notice must head the message: {message.text[:200]!r}"
        rows = by_text.get(text)
        assert rows, f"Telegram got a message that is no recorded alert: {message.text[:300]!r}"
        result.append(Arrival(rows[0], labelled))
    return result


def assert_plays_stored(db, recording: Recording, until: datetime | None = None) -> None:
    """Every play visible by `until` stored exactly once with its recorded sequence and score."""
    expected = {p.id: (p.sequence, p.away, p.home) for p in recording.visible(until)}
    rows = query(
        db,
        "SELECT play_id, sequence_number, away_score, home_score FROM nfl_plays WHERE game_id = %s",
        recording.game_id,
    )
    stored = Counter(r["play_id"] for r in rows)
    assert [p for p, n in stored.items() if n > 1] == []
    assert set(stored) == set(expected), (
        f"game {recording.game_id}: missing {sorted(set(expected) - set(stored))}, "
        f"unexpected {sorted(set(stored) - set(expected))}"
    )
    wrong = {
        r["play_id"]: ((r["sequence_number"], r["away_score"], r["home_score"]), expected[r["play_id"]])
        for r in rows
        if (r["sequence_number"], r["away_score"], r["home_score"]) != expected[r["play_id"]]
    }
    assert wrong == {}, f"game {recording.game_id}: stored (sequence, away, home) vs recorded: {wrong}"


def assert_score_alerts(
    alerts: list[dict],
    recording: Recording,
    after: datetime | None = None,
    until: datetime | None = None,
    final: bool = True,
) -> None:
    """Exactly one score alert per score change in (after, until], in the order of the changes,
    all delivered; no correction; the final-score alert once when the game ended."""
    game = recording.game_id
    scores = [r for r in alerts if r["alert_type"] == "score" and r["alert_key"].split(":")[1] == game]
    keys = [r["alert_key"] for r in scores]
    expected = recording.score_keys(after, until) + ([f"final:{game}"] if final else [])
    assert keys == expected
    assert {r["status"] for r in scores} <= {"sent"}, [(r["alert_key"], r["status"], r["error"]) for r in scores]


def expected_play_alerts(recording: Recording, after=None, until=None) -> tuple[set[str], set[str]]:
    """(play ids that must be alerted, play ids that may be): turnovers and big gains, including
    turnovers known only from their drive's result."""
    significant = recording.significant(after, until)
    return {p.id for p in significant if p.big_gain or p.turnover}, {p.id for p in significant}


def assert_play_alerts(alerts: list[dict], recording: Recording, after=None, until=None) -> set[str]:
    game = recording.game_id
    alerted = [
        r["alert_key"].split(":")[2]
        for r in alerts
        if r["alert_type"] == "significant_play" and r["alert_key"].split(":")[1] == game
    ]
    assert len(alerted) == len(set(alerted))
    must, may = expected_play_alerts(recording, after, until)
    assert must - set(alerted) == set(), f"game {game}: turnovers / big gains not alerted"
    assert set(alerted) - may == set(), f"game {game}: alerts for plays that are neither turnovers nor big gains"
    assert {r["status"] for r in alerts if r["alert_type"] == "significant_play"} <= {"sent"}
    return set(alerted)


def assert_classifier_agrees(db, recording: Recording) -> None:
    """The stored significance tags against the recording: turnover tags exactly on turnovers,
    big_play exactly on 20+ yard gains, touchdown / field_goal exactly on 6+ / 3 point plays."""
    points = recording.points()
    disagreements = []
    for row in query(db, "SELECT play_id, significance FROM nfl_plays WHERE game_id = %s", recording.game_id):
        play, tags = recording.by_id[row["play_id"]], set(row["significance"])
        checks = {
            "turnover": (play.turnover, bool(tags & {"interception", "fumble_lost", "turnover_on_downs"})),
            "big_play": (play.big_gain, "big_play" in tags),
            "touchdown": (points[play.id] >= 6, "touchdown" in tags),
            "field_goal": (points[play.id] == 3, "field_goal" in tags),
        }
        disagreements += [
            (play.id, name, play.type, play.yards, sorted(tags))
            for name, (ours, theirs) in checks.items()
            if ours != theirs
        ]
    assert disagreements == []


def assert_correlations(db, recording: Recording, play_ids: set[str]) -> None:
    """Play-to-price correlations (not spike links) stored for each play, one per market of the game."""
    rows = query(
        db,
        "SELECT c.play_id, c.ticker, c.event_type, p.significance FROM nfl_kalshi_correlations c "
        "JOIN nfl_plays p USING (game_id, play_id) WHERE c.game_id = %s AND c.event_type <> 'price_spike'",
        recording.game_id,
    )
    tickers = defaultdict(set)
    for row in rows:
        assert row["event_type"] == row["significance"][0]
        tickers[row["play_id"]].add(row["ticker"])
    missing = sorted(p for p in play_ids if len(tickers.get(p, ())) != 2)
    assert missing == [], f"game {recording.game_id}: plays without a correlation for both markets: {missing}"


def assert_game_order(arrived: list[Arrival], recording: Recording) -> None:
    """At Telegram, the game's score and play alerts come in the order of their plays, the
    final score last."""
    game = recording.game_id
    score_play = {f"score:{game}:0:{p.away}-{p.home}": p for p in recording.score_changes()}
    sequence = []
    for arrival in arrived:
        key = arrival.alert["alert_key"]
        if key == f"final:{game}":
            sequence.append(10**12)
        elif key in score_play:
            sequence.append(score_play[key].sequence)
        elif key.startswith(f"play:{game}:"):
            sequence.append(recording.by_id[key.split(":")[2]].sequence)
    assert sequence == sorted(sequence)
    got = [a.alert["alert_key"] for a in arrived if a.alert["alert_key"] in score_play]
    assert got == [k for k in score_play if k in got]


def assert_on_time(alerts: list[dict], recording: Recording) -> None:
    """Each score and play alert was recorded within two polls of its news appearing (for a
    turnover told by its drive's result, of that result appearing)."""
    game = recording.game_id
    score_play = {f"score:{game}:0:{p.away}-{p.home}": p for p in recording.score_changes()}
    late = []
    for row in alerts:
        key = row["alert_key"]
        play = score_play.get(key) or (
            recording.by_id.get(key.split(":")[2]) if key.startswith(f"play:{game}:") else None
        )
        known = (
            recording.known_at(play)
            if play is not None and key.startswith("play:")
            else getattr(play, "visible_at", None)
        )
        if play is not None and not known <= row["created_at"] <= known + MAX_ALERT_DELAY:
            late.append((key, known.isoformat(), row["created_at"].isoformat()))
    assert late == []


def assert_telegram_exactly_once(arrived: list[Arrival], alerts: list[dict]) -> None:
    """Every alert that went out reached the chat exactly once, unlabelled; nothing else did."""
    copies = Counter(a.alert["alert_key"] for a in arrived)
    assert [k for k, n in copies.items() if n > 1] == []
    assert [a.alert["alert_key"] for a in arrived if a.labelled] == []
    sent = {r["alert_key"] for r in alerts if r["status"] == "sent"}
    assert set(copies) == sent
    assert {r["status"] for r in alerts} <= {"sent", "suppressed"}


# --- the scenarios -----------------------------------------------------------------------------------


@pytest.mark.e2e
def test_two_whole_games_every_play_score_and_alert_exactly_once(db, database_url, telegram, tmp_path):
    """GB @ ATL and BAL @ JAX in full, kicking off together, at max speed: the main invariants."""
    timelines, recordings = replayed([GB_ATL, BAL_JAX])
    with ReplayEnvironment(timelines) as env:
        sync = start_daemon(env, telegram, database_url, tmp_path)
        try:
            sync.run_forever(until=lambda: env.finished(sync))
        finally:
            close_sync(sync)

    alerts = alert_rows(db)
    arrived = arrivals(telegram, alerts)
    assert_telegram_exactly_once(arrived, alerts)
    for recording in recordings.values():
        game = query(db, "SELECT * FROM nfl_games WHERE game_id = %s", recording.game_id)[0]
        assert (game["state"], game["away_score"], game["home_score"]) == ("post", *recording.final)
        assert_plays_stored(db, recording)
        assert_score_alerts(alerts, recording)
        alerted = assert_play_alerts(alerts, recording)
        assert_classifier_agrees(db, recording)
        assert_correlations(db, recording, recording.measurable(alerted | {p.id for p in recording.score_changes()}))
        assert_game_order([a for a in arrived if a.alert["game_id"] == recording.game_id], recording)
        assert_on_time(alerts, recording)
    assert not [r for r in alerts if r["alert_key"].startswith("correction:")]


@pytest.mark.e2e
def test_clean_restart_mid_game_loses_and_repeats_nothing(db, database_url, telegram, tmp_path):
    """GB @ ATL from kickoff to halftime; the daemon is stopped after the first score and is down
    for 15 minutes of game time, in which GB scores a touchdown."""
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    changes = recording.score_changes()
    stop_at = changes[0].visible_at + timedelta(minutes=5)
    back_at = stop_at + timedelta(minutes=15)
    window_end = next(p.visible_at for p in recording.plays if p.type == "End of Half") + timedelta(minutes=1)
    down = recording.score_changes(stop_at, back_at)
    assert len(down) == 1 and changes[0].visible_at < stop_at  # the scenario, as recorded
    with ReplayEnvironment(timelines) as env:
        first = start_daemon(env, telegram, database_url, tmp_path)
        try:
            first.run_forever(until=lambda: env.clock.now() >= stop_at and drained(first))
        finally:
            close_sync(first)
        delivered_before = len(telegram.messages)
        env.clock.advance((back_at - env.clock.now()).total_seconds())
        second = start_daemon(env, telegram, database_url, tmp_path)
        try:
            second.run_forever(until=lambda: env.clock.now() >= window_end and drained(second))
        finally:
            close_sync(second)

    assert delivered_before > 0
    alerts = alert_rows(db)
    arrived = arrivals(telegram, alerts)
    assert_telegram_exactly_once(arrived, alerts)
    assert_plays_stored(db, recording, until=window_end)
    assert_score_alerts(alerts, recording, until=window_end, final=False)
    alerted = assert_play_alerts(alerts, recording, until=window_end)
    assert_correlations(db, recording, alerted | {p.id for p in recording.score_changes(until=window_end)})
    assert_game_order(arrived, recording)
    # The touchdown scored while the daemon was down is alerted when it is back, not before.
    touchdown = [r for r in alerts if r["alert_key"] == recording.score_keys(stop_at, back_at)[0]][0]
    assert back_at <= touchdown["created_at"] <= back_at + MAX_ALERT_DELAY


@pytest.mark.e2e
def test_sigkill_mid_game_then_a_new_process_takes_over(db, database_url, telegram, tmp_path):
    """The daemon runs in a child process against servers hosted here, on a clock at 300x.
    Telegram accepts the first score alert but holds its answer, and the child is killed with
    SIGKILL in that moment: the alert went out but is not marked sent, the sync loop is
    mid-cycle. A new child restores the state and finishes the window (GB @ ATL, from 35
    minutes in to halftime)."""
    speed = 300.0
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    window_start = recording.kickoff + timedelta(minutes=35)
    window_end = next(p.visible_at for p in recording.plays if p.type == "End of Half") + timedelta(minutes=1)
    dsn = fast_commit_url(database_url)
    hook = telegram.faults = HoldFirstScoreAlert()

    def spawn(env: ReplayEnvironment, name: str) -> subprocess.Popen:
        spec = {
            "dsn": dsn,
            "espn_url": env.espn.base_url,
            "kalshi_url": env.kalshi.base_url,
            "telegram_url": telegram.api_base_url,
            "log_dir": str(tmp_path),
            "start": env.clock.now().isoformat(),
            "anchor": time.monotonic(),
            "speed": speed,
            "until": window_end.isoformat(),
        }
        with open(tmp_path / f"{name}.log", "w") as log:
            return subprocess.Popen(
                [sys.executable, str(CHILD), json.dumps(spec)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
            )

    def child_logs() -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(tmp_path.glob("*.log")))

    children = []
    try:
        with ReplayEnvironment(timelines, speed=speed) as env:
            env.clock.set(window_start)
            first = spawn(env, "first")
            children.append(first)
            deadline = time.monotonic() + 30
            while not hook.held.is_set():
                assert first.poll() is None, f"the daemon exited before its first score alert:\n{child_logs()}"
                assert time.monotonic() < deadline, f"no score alert reached Telegram:\n{child_logs()}"
                time.sleep(0.005)
            delivered_before = len(telegram.messages)
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
            killed_at = env.clock.now()
            second = spawn(env, "second")
            children.append(second)
            assert second.wait(60) == 0, child_logs()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()

    # The first poll is the baseline (what happened before it is history, not news); on a slow
    # machine it comes later in the game, and the expectations follow it.
    baseline = query(db, "SELECT min(started_at) AS at FROM nfl_data_sync_log WHERE sync_type = 'scoreboard'")[0]["at"]
    expected_scores = recording.score_keys(baseline, window_end)
    assert window_start <= baseline and len(expected_scores) >= 2, "the child started too late in the window"
    assert killed_at < window_end and delivered_before >= 1
    alerts = alert_rows(db)
    arrived = arrivals(telegram, alerts)
    copies = defaultdict(list)
    for arrival in arrived:
        copies[arrival.alert["alert_key"]].append(arrival.labelled)
    # At least once: every alert that was to go out reached the chat; nothing is left pending.
    assert {r["status"] for r in alerts} <= {"sent", "suppressed"}
    assert {r["alert_key"] for r in alerts if r["status"] == "sent"} == set(copies)
    # Any repeat is labelled: no unlabelled duplicate. (A first copy may be labelled too, when the
    # process died after counting the attempt but before the request went out.)
    assert {k: labels for k, labels in copies.items() if not all(labels[1:])} == {}
    # The score alert in doubt when the process died came again, labelled; nothing else twice.
    held = [m.text for m in telegram.messages if m.visible_text == hook.visible_text][0]
    in_doubt = [r["alert_key"] for r in alerts if r["message"] == held]
    assert in_doubt == expected_scores[:1]
    assert {k: labels for k, labels in copies.items() if len(labels) > 1} == {in_doubt[0]: [False, True]}
    # No score alert lost, none twice in the database, no play lost or stored twice.
    assert_score_alerts(alerts, recording, after=baseline, until=window_end, final=False)
    assert_plays_stored(db, recording, until=window_end)
    assert_play_alerts(alerts, recording, after=baseline, until=window_end)


@pytest.mark.e2e
def test_whole_game_under_faults_loses_nothing_and_repeats_nothing(db, pg_server, database_url, telegram, tmp_path):
    """BAL @ JAX in full while ESPN answers 5xx, times out, sends HTML and truncated JSON, Kalshi
    answers bursts of 429, Telegram answers 429 (retry_after) and 5xx, and PostgreSQL restarts at
    halftime."""
    timelines, recordings = replayed([BAL_JAX])
    recording = recordings[BAL_JAX]
    halftime = next(p.visible_at for p in recording.plays if p.type == "End of Half")
    espn_faults = FaultPlan(
        {"server_error": 0.03, "timeout": 0.004, "html": 0.02, "truncated": 0.02}, seed=7, timeout_seconds=0.45
    )
    kalshi_faults = FaultPlan({"rate_limit": 0.03, "server_error": 0.01}, seed=11, burst_length=3)
    # Telegram faults, each scripted as the chat's message count reaches a threshold.
    telegram_faults = {
        3: [telegram_error(429, "Too Many Requests: retry after 1", retry_after=1)],
        8: [telegram_error(502, "Bad Gateway")],
        14: [telegram_error(500, "Internal Server Error"), telegram_error(503, "Service Unavailable")],
        20: [
            telegram_error(429, "Too Many Requests: retry after 1", retry_after=1),
            telegram_error(429, "Too Many Requests: retry after 1", retry_after=1),
        ],
        26: [telegram_error(504, "Gateway Timeout")],
    }
    restarted_at = None
    with ReplayEnvironment(timelines, espn_faults=espn_faults, kalshi_faults=kalshi_faults) as env:
        sync = start_daemon(env, telegram, database_url, tmp_path, http_timeout=0.3)
        sync.start()
        try:
            deadline = time.monotonic() + 150
            while True:
                assert time.monotonic() < deadline, "the game did not finish under faults"
                assert not sync.join(0), "the sync loop died"
                for threshold in [t for t in telegram_faults if len(telegram.messages) >= t]:
                    telegram.script("sendMessage", *telegram_faults.pop(threshold))
                if restarted_at is None and env.clock.now() >= halftime:
                    restarted_at = env.clock.now()
                    restart_postgres(pg_server, database_url)
                try:
                    if env.finished(sync):
                        break
                except Exception:  # the database restarting under the check itself
                    pass
                time.sleep(0.02)
            # Still alive: cycles go on completing, and succeed once the faults stop.
            espn_faults.rates.clear()
            kalshi_faults.rates.clear()
            cycles = sync.cycles
            alive_by = time.monotonic() + 20
            while sync.cycles < cycles + 5:
                assert time.monotonic() < alive_by and not sync.join(0), "no cycle completes any more"
                time.sleep(0.01)
        finally:
            sync.stop()
            sync.join(10)
            after = sync.run_cycle()
            close_sync(sync)
    assert after.ok, after.failures

    assert restarted_at is not None and not telegram_faults
    assert espn_faults.injected["server_error"] and espn_faults.injected["timeout"]
    assert espn_faults.injected["html"] and espn_faults.injected["truncated"]
    assert kalshi_faults.injected["rate_limit"] >= 3
    assert telegram.status_count(429) >= 3 and sum(telegram.status_count(s) for s in (500, 502, 503, 504)) >= 4
    failed_steps = query(db, "SELECT count(*) AS n FROM nfl_data_sync_log WHERE sync_status = 'failed'")[0]["n"]
    assert failed_steps > 0  # the faults reached the daemon (the log outlived the restart)

    alerts = alert_rows(db)
    arrived = arrivals(telegram, alerts)
    copies = defaultdict(list)
    for arrival in arrived:
        copies[arrival.alert["alert_key"]].append(arrival.labelled)
    # A 5xx means Telegram did not take the message: exactly one accepted copy per alert, even
    # when it went out as a (labelled) resend. Only the restart of PostgreSQL may leave one
    # delivery in doubt (accepted, then not marked), whose repeat must then be labelled.
    repeats = {k: labels for k, labels in copies.items() if len(labels) > 1}
    assert len(repeats) <= 1 and all(labels[1:] == [True] * (len(labels) - 1) for labels in repeats.values()), repeats
    # Every game alert that was to go out reached the chat (system alerts about the faults may
    # be given up on: they are not the users' bets).
    game_alerts = [r for r in alerts if r["alert_type"] != "system"]
    assert [
        (r["alert_key"], r["status"], r["error"]) for r in game_alerts if r["status"] not in ("sent", "suppressed")
    ] == []
    assert {r["alert_key"] for r in game_alerts if r["status"] == "sent"} <= set(copies)
    game = query(db, "SELECT * FROM nfl_games WHERE game_id = %s", recording.game_id)[0]
    assert (game["state"], game["away_score"], game["home_score"]) == ("post", *recording.final)
    assert_plays_stored(db, recording)
    assert_score_alerts(alerts, recording)
    assert_play_alerts(alerts, recording)


@pytest.mark.e2e
def test_turnover_known_only_from_its_drive_result_is_alerted(db, database_url, telegram, tmp_path):
    """GB @ ATL around ATL's turnover on downs in the 2nd quarter (4th-and-1 incomplete at 8:51)."""
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    downs = recording.by_id["4015474171427"]
    assert downs.turnover_by_drive and not downs.turnover_by_type
    window_end = downs.visible_at + timedelta(minutes=3)
    with ReplayEnvironment(timelines) as env:
        env.clock.set(downs.visible_at - timedelta(minutes=3))
        sync = start_daemon(env, telegram, database_url, tmp_path)
        try:
            sync.run_forever(until=lambda: env.clock.now() >= window_end and drained(sync))
        finally:
            close_sync(sync)
    stored = query(db, "SELECT significance FROM nfl_plays WHERE play_id = %s", downs.id)
    assert stored[0]["significance"] == ["turnover_on_downs"]  # the play is tagged once its drive is over
    keys = {r["alert_key"] for r in alert_rows(db)}
    assert f"play:{GB_ATL}:{downs.id}" in keys  # and alerted then


@pytest.mark.e2e
def test_a_play_whose_fetch_then_whose_write_failed_is_fetched_again(db, database_url, telegram, tmp_path):
    """GB @ ATL around its first interception (the next play comes 68 s later). ESPN's summary
    fails on the poll that first shows the interception on the scoreboard, and the database
    write fails on the next poll, which fetched it: the poll after must fetch it again."""
    from nfl_sync.domain.errors import DatabaseError, SourceError

    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    interception = recording.by_id["401547417283"]
    assert interception.turnover_by_type
    window_end = interception.visible_at + timedelta(seconds=40)
    injected = []
    with ReplayEnvironment(timelines) as env:
        env.clock.set(interception.visible_at - timedelta(minutes=1))
        sync = start_daemon(env, telegram, database_url, tmp_path)
        fetch, run = sync.fetcher.get_play_by_play, sync.db.run

        def flaky_fetch(game_id, *args):
            if not injected and env.clock.now() >= interception.visible_at:
                injected.append(("summary", env.clock.now()))
                raise SourceError("espn", "/summary", "server error", status=503, retryable=True)
            return fetch(game_id, *args)

        def flaky_run(fn):
            if (
                len(injected) == 1
                and fn.__qualname__.endswith("_process_game.<locals>.write")
                and env.clock.now() > injected[0][1]
            ):
                injected.append(("write", env.clock.now()))
                raise DatabaseError("database unavailable: injected")
            return run(fn)

        sync.fetcher.get_play_by_play = flaky_fetch
        sync.db.run = flaky_run
        try:
            sync.run_forever(until=lambda: env.clock.now() >= window_end and drained(sync))
        finally:
            close_sync(sync)
    assert [kind for kind, _ in injected] == ["summary", "write"]
    alerts = {r["alert_key"]: r for r in alert_rows(db)}
    alert = alerts.get(f"play:{GB_ATL}:{interception.id}")
    assert alert is not None, "the interception was not alerted within 40 s"
    assert alert["created_at"] <= injected[1][1] + timedelta(seconds=5)


@pytest.mark.e2e
@pytest.mark.e2e
def test_a_score_alert_survives_a_few_seconds_of_telegram_5xx(db, database_url, telegram, tmp_path, monkeypatch):
    """GB @ ATL around its first field goal; price alerts off, so the score alert is the first
    message, and Telegram answers it 503 three times (then works again). The sender rests its
    channel after a failed round; that real-time pause is shortened here."""
    from nfl_sync.alerts import notifier as telegram_notifier

    monkeypatch.setattr(telegram_notifier, "OUTAGE_PAUSE_SECONDS", 0.5)
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    field_goal = recording.score_changes()[0]
    key = recording.score_keys()[0]
    window_end = field_goal.visible_at + timedelta(seconds=30)
    query(
        db,
        "UPDATE nfl_alert_triggers SET enabled = false WHERE alert_type IN ('kalshi_price', 'market_reaction') "
        "RETURNING alert_type",
    )
    telegram.script("sendMessage", *[telegram_error(503, "Service Unavailable")] * 3)

    def settled() -> bool:
        rows = query(db, "SELECT status FROM nfl_alert_history WHERE alert_key = %s", key)
        return bool(rows) and rows[0]["status"] != "pending"

    with ReplayEnvironment(timelines) as env:
        env.clock.set(field_goal.visible_at - timedelta(minutes=1))
        sync = start_daemon(env, telegram, database_url, tmp_path)
        try:
            sync.run_forever(until=lambda: env.clock.now() >= window_end and settled())
        finally:
            close_sync(sync, flush_seconds=0)
    assert telegram.status_count(503) == 3
    assert key in [a.alert["alert_key"] for a in arrivals(telegram, alert_rows(db))]


@pytest.mark.e2e
def test_a_restart_right_after_a_big_play_keeps_its_correlation(db, database_url, telegram, tmp_path):
    """GB @ ATL around D.London's 22-yard catch (2nd quarter); the daemon is stopped the moment
    the play is alerted, before its market reaction is measured, and restarted."""
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    catch = recording.by_id["4015474171311"]
    assert catch.big_gain
    window_end = catch.visible_at + timedelta(seconds=60)
    with ReplayEnvironment(timelines) as env:
        env.clock.set(catch.visible_at - timedelta(minutes=1))
        first = start_daemon(env, telegram, database_url, tmp_path)
        try:
            first.run_forever(until=lambda: bool(first.pending_correlations))
            assert [job.play.play_id for job in first.pending_correlations] == [catch.id]
        finally:
            close_sync(first)
        second = start_daemon(env, telegram, database_url, tmp_path)
        try:
            second.run_forever(until=lambda: env.clock.now() >= window_end and drained(second))
        finally:
            close_sync(second)
    assert_correlations(db, recording, {catch.id})
