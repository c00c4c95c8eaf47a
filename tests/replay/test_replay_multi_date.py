"""Backtests of games on different dates and seasons (`runner.replay_games`): the simulated clock
skips the time between games, each game ends stored as its recording holds it, and `--workers 2`
stores what one process stores.

GB @ ATL (Sunday 17 September 2023) is replayed with BAL @ JAX moved 52 weeks on (Sunday
15 December 2024, the 2024 season): a year between them that a replay polling through it at the
5 s cadence would need some 6 million cycles for.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from e2e_recording import BAL_JAX, GB_ATL, RECORDINGS, Recording
from e2e_support import alert_rows, assert_plays_stored, assert_score_alerts, query
from helpers import fast_commit_url
from nfl_replay.runner import PREGAME, partition, replay_games
from nfl_replay.timeline import load_game
from nfl_sync.config import load_settings
from nfl_sync.storage.manager import NFLDBManager

SHIFT = {GB_ATL: timedelta(0), BAL_JAX: timedelta(weeks=52)}
POLL_SECONDS = 5.0


@pytest.fixture(scope="module")
def games():
    return [load_game(RECORDINGS[game_id]).shifted(shift) for game_id, shift in SHIFT.items()]


@pytest.fixture(scope="module")
def recordings():
    return {game_id: Recording(game_id, shift) for game_id, shift in SHIFT.items()}


@pytest.fixture(scope="module")
def replay_settings(database_url, tmp_path_factory):
    return load_settings(
        {
            "DATABASE_URL": fast_commit_url(database_url),
            "TELEGRAM_ENABLED": "false",  # alerts to the console, as a backtest without a bot
            "KALSHI_SERIES": "KXNFLGAME",
            "LOG_DIR": str(tmp_path_factory.mktemp("replay-logs")),
            "METRICS_PORT": "0",
        }
    )


def stored(database_url: str) -> dict[str, list]:
    """What the database holds about the replayed games, in a stable order."""
    db = NFLDBManager(database_url, pool_min=1, pool_max=1)
    ids = list(SHIFT)
    try:
        return {
            "games": query(
                db,
                "SELECT game_id, state, away_score, home_score, start_time, season FROM nfl_games "
                "WHERE game_id = ANY(%s) ORDER BY game_id",
                ids,
            ),
            "plays": query(
                db,
                "SELECT game_id, play_id, sequence_number, away_score, home_score, scoring_play, deleted_at "
                "FROM nfl_plays WHERE game_id = ANY(%s) ORDER BY game_id, play_id",
                ids,
            ),
            "alerts": query(
                db,
                "SELECT alert_key, alert_type, status FROM nfl_alert_history "
                "WHERE split_part(alert_key, ':', 2) = ANY(%s) OR game_id = ANY(%s) ORDER BY alert_key",
                ids,
                ids,
            ),
            "correlations": query(
                db,
                "SELECT game_id, play_id, ticker, event_type, impact_level, price_before, price_after "
                "FROM nfl_kalshi_correlations WHERE game_id = ANY(%s) ORDER BY game_id, play_id, ticker, event_type",
                ids,
            ),
        }
    finally:
        db.close()


@pytest.fixture(scope="module")
def one_process(games, replay_settings, database_url):
    outcome = replay_games(replay_settings, games, None, workers=1)
    return outcome, stored(database_url)


def test_the_shifted_copy_is_the_same_game_a_year_later(games):
    gb_atl, bal_jax = games
    original = load_game(RECORDINGS[BAL_JAX])
    assert bal_jax.kickoff == original.kickoff + SHIFT[BAL_JAX]
    assert [p.visible_at for p in bal_jax.plays] == [p.visible_at + SHIFT[BAL_JAX] for p in original.plays]
    assert bal_jax.game_id == original.game_id and bal_jax.play_ids == original.play_ids
    assert (bal_jax.season_year, original.season_year) == (2024, 2023)
    assert bal_jax.source["article"]["published"] == "2024-12-16T05:37:56Z"  # was 2023-12-18T05:37:56Z
    assert bal_jax.eastern_date.isoformat() == "2024-12-15"
    assert partition(games, 2) == [[gb_atl], [bal_jax]]
    # One date for two workers: its games are dealt out, each group in kickoff order.
    same_day = [gb_atl.with_id(str(n), timedelta(minutes=n)) for n in range(5)]
    assert [[g.game_id for g in group] for group in partition(same_day, 2)] == [["0", "2", "4"], ["1", "3"]]


def test_games_a_year_apart_replay_in_game_time_and_store_their_recordings(one_process, recordings, database_url):
    outcome, contents = one_process
    assert outcome.failed == 0
    rows = {g["game_id"]: g for g in contents["games"]}
    assert {game_id: (g["state"], g["away_score"], g["home_score"], g["season"]) for game_id, g in rows.items()} == {
        GB_ATL: ("post", *recordings[GB_ATL].final, 2023),
        BAL_JAX: ("post", *recordings[BAL_JAX].final, 2024),
    }
    db = NFLDBManager(database_url, pool_min=1, pool_max=1)
    try:
        alerts = alert_rows(db)
        for recording in recordings.values():
            assert_plays_stored(db, recording)
            assert_score_alerts(alerts, recording)
    finally:
        db.close()
    # Cycles follow game time: each game from PREGAME before kickoff to its last play, polled
    # every 5 s, plus a margin per game for the final's delivery; the year between them is skipped.
    game_seconds = sum((r.end - r.kickoff + PREGAME).total_seconds() for r in recordings.values())
    margin = 30 * 60 * len(recordings)
    assert sum(outcome.cycles) <= (game_seconds + margin) / POLL_SECONDS


def test_two_workers_store_what_one_process_stores(one_process, games, replay_settings, database_url):
    _, single = one_process
    outcome = replay_games(replay_settings, games, None, workers=2)
    assert outcome.failed == 0 and len(outcome.cycles) == 2
    assert stored(database_url) == single
    assert single["plays"] and single["alerts"] and single["correlations"]
    # Each worker's sender sent its own games' alerts, on its own clock: never a year away.
    sent = query(
        NFLDBManager(database_url, pool_min=1, pool_max=1),
        "SELECT alert_key, sent_at - created_at AS delay FROM nfl_alert_history WHERE status = 'sent'",
    )
    assert sent and all(timedelta(0) <= r["delay"] <= timedelta(minutes=2) for r in sent), sent
