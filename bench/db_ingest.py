"""Benchmark: storing 50,000 plays row by row (a plain executemany) vs NFLDBManager.insert_plays.

Runs on a throwaway embedded PostgreSQL (or BENCH_DATABASE_URL) and prints rows/s for each way
and the ratio. Run by hand: `.venv/bin/python bench/db_ingest.py`.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nfl_sync.domain.models import Game, GamePhase, GameState, Play
from nfl_sync.storage.embedded import start_embedded
from nfl_sync.storage.manager import NFLDBManager, _play_row
from nfl_sync.storage.migrations import apply_migrations

PLAYS = 50_000
GAMES = 280  # about 180 plays a game, like the recorded games
KICKOFF = datetime(2025, 9, 7, 17, 0, tzinfo=UTC)
TYPES = ("Rush", "Pass Reception", "Pass Incompletion", "Sack", "Punt", "Kickoff", "Penalty")
ROW_BY_ROW_INSERT = (
    "INSERT INTO nfl_plays (game_id, play_id, sequence_number, period, clock, type, text, yards, team, "
    "scoring_play, score_value, scoring_type, home_score, away_score, is_turnover, significance, drive_id, "
    "down, distance, yard_line, wallclock) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (game_id, play_id) DO NOTHING"
)


def make_plays(prefix: str) -> tuple[list[Game], list[Play]]:
    games = [
        Game(
            f"{prefix}{g:05d}", 2025, 2, 1, KICKOFF, "ATL", "GB", 0, 0, "STATUS_FINAL", GameState.POST, GamePhase.FINAL
        )
        for g in range(GAMES)
    ]
    plays = []
    for n in range(PLAYS):
        game = games[n % GAMES]
        seq = n // GAMES
        kind = TYPES[n % len(TYPES)]
        plays.append(
            Play(
                game.game_id,
                f"{game.game_id}{seq:05d}",
                seq * 5,
                1 + seq // 45,
                f"{14 - seq % 15}:{seq % 60:02d}",
                kind,
                f"(Shotgun) J.Love pass short right to R.Doubs to ATL 35 for {seq % 23} yards ({kind})",
                seq % 23,
                "GB",
                seq % 7,
                seq % 5,
                down=1 + seq % 4,
                distance=10,
                yard_line=seq % 100,
                wallclock=KICKOFF + timedelta(seconds=25 * seq),
            )
        )
    return games, plays


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or start_embedded(Path(tempfile.mkdtemp(prefix="nfl-bench-")), "bench")
    db = NFLDBManager(url, pool_min=1, pool_max=2)
    apply_migrations(db)

    games, plays = make_plays("8")
    db.run(lambda tx: tx.games.upsert_games(games))
    started = time.perf_counter()
    with db.transaction() as tx:
        tx.cur.executemany(ROW_BY_ROW_INSERT, [_play_row(p) for p in plays])
    row_by_row = PLAYS / (time.perf_counter() - started)

    games, plays = make_plays("9")
    db.run(lambda tx: tx.games.upsert_games(games))
    started = time.perf_counter()
    new = db.run(lambda tx: tx.games.insert_plays(plays))
    batched = PLAYS / (time.perf_counter() - started)
    assert new == PLAYS
    started = time.perf_counter()
    again = db.run(lambda tx: tx.games.insert_plays(plays))
    repeat = PLAYS / (time.perf_counter() - started)
    assert again == 0
    db.close()

    print(f"{PLAYS:,} plays over {GAMES} games")
    print(f"  (a) row by row, executemany : {row_by_row:12,.0f} rows/s")
    print(f"  (b) insert_plays (batched)  : {batched:12,.0f} rows/s")
    print(f"  (b) again, all duplicates   : {repeat:12,.0f} rows/s")
    print(f"  ratio (b)/(a)               : {batched / row_by_row:12.1f}x")


if __name__ == "__main__":
    main()
