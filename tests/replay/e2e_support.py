"""What the end-to-end tests share: the unchanged daemon (`app.build_sync`) started against a
`ReplayEnvironment` and a fake Telegram Bot API on the embedded PostgreSQL, and checks of what it
stored and sent against `e2e_recording`:
plays stored once with their score, one score alert per score change in order and on time,
significant-play alerts and their market correlations, and at Telegram every alert exactly once
(or, after a crash, repeats labelled). Kalshi prices in replays are synthetic, and the sender's
real-time flood pacing is widened (`helpers.unpace_sender`) since a replay compresses hours into
seconds."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from e2e_recording import RECORDINGS, Recording
from helpers import E2E_CHAT, fast_commit_url, replay_daemon_settings, unpace_sender
from nfl_replay.runner import ReplayEnvironment
from nfl_replay.telegram_server import FakeTelegramServer
from nfl_replay.timeline import load_game
from nfl_sync.app import build_sync
from nfl_sync.domain.markup import RESEND_NOTICE, clean, to_plain
from nfl_sync.storage.manager import NFLDBManager

# A poll every 5 s, the fetch in the same cycle: an alert this long after its play is late.
MAX_ALERT_DELAY = timedelta(seconds=10)
POLL = timedelta(seconds=5)  # the daemon's SYNC_INTERVAL in these replays


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
    return daemon(settings, env.clock, database_url)


def daemon(settings, clock, database_url: str):
    """The daemon built on `settings` and `clock`, on the test database, its sender unpaced."""
    db = NFLDBManager(fast_commit_url(database_url), pool_min=2, pool_max=4)
    sync = build_sync(settings, clock=clock, db=db, restore=True)
    unpace_sender(sync)
    return sync


def drained(sync) -> bool:
    return sync.caught_up() and sync.alerts.pending_count() == 0


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
    """Every play visible by `until` stored exactly once with its recorded sequence and score,
    and flagged a scoring play exactly when ESPN lists it in `scoringPlays`."""
    expected = {p.id: (p.sequence, p.away, p.home) for p in recording.visible(until)}
    rows = query(
        db,
        "SELECT play_id, sequence_number, away_score, home_score, scoring_play FROM nfl_plays WHERE game_id = %s",
        recording.game_id,
    )
    scoring = {r["play_id"] for r in rows if r["scoring_play"]}
    assert scoring == recording.scoring_ids & set(expected), f"game {recording.game_id}: scoring plays {scoring}"
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


def assert_game_order(
    arrived: list[Arrival], recording: Recording, poll: timedelta = POLL, down: tuple[datetime, datetime] | None = None
) -> None:
    """At Telegram, the game's score and play alerts come in the order of their plays, the final
    score after them. Only news that appeared within one poll of each other may come the other way
    round: the scoreboard tells the newest at once, the play-by-play then what came before it.
    News of the time the daemon was `down` (start, end] reached it at the end of that time."""
    game = recording.game_id
    score_play = {f"score:{game}:0:{p.away}-{p.home}": p for p in recording.score_changes()}
    told = []  # (sequence of the play, when its news appeared) in arrival order
    for arrival in arrived:
        key = arrival.alert["alert_key"]
        if key == f"final:{game}":
            told.append((10**12, recording.end))
        elif key in score_play:
            told.append((score_play[key].sequence, score_play[key].visible_at))
        elif key.startswith(f"play:{game}:"):
            play = recording.by_id[key.split(":")[2]]
            told.append((play.sequence, recording.known_at(play)))
    if down is not None:
        told = [(sequence, down[1] if down[0] < at <= down[1] else at) for sequence, at in told]
    swapped = [
        (earlier, later)
        for index, earlier in enumerate(told)
        for later in told[index + 1 :]
        if later[0] < earlier[0] and earlier[1] - later[1] > poll
    ]
    assert swapped == [], f"game {game}: alerts out of order by more than a poll: {swapped[:3]}"


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


def assert_price_alerts_say_what_moved(db, alerts: list[dict]) -> None:
    """Every delivered price alert names its game with the score as stored, and at least one
    names a play of that game that the pipeline linked to the move, with its impact level."""
    sent = [r for r in alerts if r["alert_type"] == "kalshi_price" and r["status"] == "sent"]
    assert sent, "no price alert was delivered"
    named_plays = 0
    for row in sent:
        data, message = row["payload"]["data"], to_plain(row["message"], row["payload"]["parse_mode"])
        assert f"{data['away_team']} {data['away_score']} @ {data['home_team']} {data['home_score']}" in message
        for linked in data.get("linked_plays", ()):
            stored = query(
                db,
                "SELECT p.text, c.impact_level FROM nfl_plays p "
                "JOIN nfl_kalshi_correlations c USING (game_id, play_id) "
                "WHERE p.game_id = %s AND p.play_id = %s AND c.ticker = %s AND c.event_type = 'price_spike'",
                row["game_id"],
                linked["play_id"],
                data["ticker"],
            )
            assert stored, f"{row['alert_key']}: play {linked['play_id']} listed but not linked in the database"
            assert clean(stored[0]["text"])[:40] in message and linked["impact_level"] in message
            named_plays += 1
    assert named_plays, "no delivered price alert named a linked play"
