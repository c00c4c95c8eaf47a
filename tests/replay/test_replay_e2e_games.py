"""End to end, whole recorded games through the daemon: both games in full, kicking off together
like a Sunday slate, with every play, score and alert exactly once and on time; a turnover known
only once its drive has ended; and first, the recordings' own sanity, on which every expectation
rests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from e2e_recording import BAL_JAX, GB_ATL, Recording
from nfl_replay.runner import ReplayEnvironment
from nfl_sync.app import close_sync

# pytest rewrites the asserts of a helper module (for its failure reports) only when told so
# before the module is first imported; e2e_support's checks are asserts.
pytest.register_assert_rewrite("e2e_support")

from e2e_support import (  # noqa: E402
    alert_rows,
    arrivals,
    assert_classifier_agrees,
    assert_correlations,
    assert_game_order,
    assert_on_time,
    assert_play_alerts,
    assert_plays_stored,
    assert_price_alerts_say_what_moved,
    assert_score_alerts,
    assert_telegram_exactly_once,
    drained,
    query,
    replayed,
    start_daemon,
)

pytest_plugins = ["replay_support"]


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
    assert_price_alerts_say_what_moved(db, alerts)


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
def test_player_stats_are_refreshed_while_the_game_is_live(db, database_url, telegram, tmp_path):
    """GB @ ATL's first 25 minutes: the box score is stored again every PLAYER_STATS_INTERVAL
    (180 s) of the game's clock, not only at first sight (and at the final whistle)."""
    timelines, recordings = replayed([GB_ATL])
    recording = recordings[GB_ATL]
    window_end = recording.kickoff + timedelta(minutes=25)
    stored_at: set = set()

    def watch(sync) -> bool:
        rows = query(db, "SELECT max(updated_at) AS at FROM nfl_player_stats WHERE game_id = %s", GB_ATL)
        if rows[0]["at"] is not None:
            stored_at.add(rows[0]["at"])
        return env.clock.now() >= window_end and drained(sync)

    with ReplayEnvironment(timelines) as env:
        env.clock.set(recording.kickoff - timedelta(minutes=1))
        sync = start_daemon(env, telegram, database_url, tmp_path)
        try:
            sync.run_forever(until=lambda: watch(sync))
        finally:
            close_sync(sync)
    times = sorted(stored_at)
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert len(times) >= 6, times  # first sight, then about every 3 minutes of the 25
    assert min(gaps) >= 180 - 1e-6, gaps  # never more often than the interval
    assert times[-1] >= window_end - timedelta(seconds=180 + 60), times
    rows = query(db, "SELECT count(*) AS n, count(DISTINCT updated_at) AS times FROM nfl_player_stats")
    assert rows[0]["n"] > 0 and rows[0]["times"] == 1  # one upsert per row, each time the whole box score
