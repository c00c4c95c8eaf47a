"""Benchmark (issue #16, backtests): games of many dates replayed end to end at max speed.

Three backtests, each run the way `--replay --speed max --workers N` runs them
(`runner.replay_games`: the games grouped by New York date (a single date's games dealt out
one by one), each group in a process of its own
with its fake servers, one throwaway embedded PostgreSQL, alerts to the console, the report from
the database):

  seasons  the two recorded games, BAL @ JAX moved 52 weeks on (2023 and 2024 seasons), 1 worker;
           goal < 2 min
  slate    the 16-game slate of bench/_slate.py (one Sunday, kickoffs a minute apart),
           --workers 2 (8 games each); goal < 30 s
  season   a synthetic 17-week season: 272 games, the recordings shifted in time (each week one
           Thursday, thirteen Sunday and one Monday game; 16 games a week with 32 distinct teams,
           so every id and Kalshi ticker is unique), --workers 2; goal < 10 min

Wall time is measured on the real clock (time.perf_counter), from the call that starts the
replay to its report, building the games (in memory) excluded; beside it the CPU of the replay's
processes and of PostgreSQL, and the load average (other work on the machine stretches the wall
time). Run by hand:

    .venv/bin/python bench/backtest.py [seasons|slate|season ...] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from _figures import verdict
from _slate import SLATE_GAMES, embedded_database, postgres_cpu_seconds, recordings, retarget, settings, slate
from nfl_replay.runner import partition, replay_games
from nfl_replay.timeline import GameTimeline
from nfl_sync.domain import teams

EASTERN = ZoneInfo("America/New_York")
SEASON_WEEKS = 17
SEASON_START = date(2024, 9, 5)  # a Thursday
# (days after the week's Thursday, Eastern kickoff, games): 16 games a week.
WEEK = ((0, (20, 15), 1), (3, (13, 0), 9), (3, (16, 25), 4), (3, (20, 20), 1), (4, (20, 15), 1))


def two_seasons() -> list[GameTimeline]:
    gb_atl, bal_jax = recordings()
    return [gb_atl, bal_jax.shifted(timedelta(weeks=52))]


def season(weeks: int = SEASON_WEEKS) -> list[GameTimeline]:
    """`weeks` weeks of 16 games from the recordings (alternating), each week's games played by
    the 32 teams once, under ids of their own."""
    pool, recorded, games = teams.all_teams(), recordings(), []
    for week in range(weeks):
        thursday = SEASON_START + timedelta(weeks=week)
        number = 0
        for days, (hour, minute), count in WEEK:
            day = thursday + timedelta(days=days)
            kickoff = datetime(day.year, day.month, day.day, hour, minute, tzinfo=EASTERN)
            for _ in range(count):
                game_id = f"7{week + 1:02d}{number + 1:06d}"
                home, away = pool[2 * number], pool[2 * number + 1]
                games.append(retarget(recorded[number % len(recorded)], game_id, kickoff, home=home, away=away))
                number += 1
    return games


BACKTESTS = {
    # name: (games, default workers, goal in seconds)
    "seasons": (two_seasons, 1, 120.0),
    "slate": (lambda: slate(SLATE_GAMES), 2, 30.0),
    "season": (season, 2, 600.0),
}


def run(name: str, workers: int | None) -> bool:
    build, default_workers, goal = BACKTESTS[name]
    workers = workers or default_workers
    games = build()
    groups = partition(games, workers)
    url = embedded_database(f"bench_{name}")
    base = settings({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    print(
        f"{name}: {len(games)} games on {len({g.eastern_date for g in games})} date(s), "
        f"{len(groups)} worker(s) of {', '.join(str(len(g)) for g in groups)} game(s)",
        flush=True,
    )
    started, cpu, database_cpu = time.perf_counter(), _cpu_seconds(), postgres_cpu_seconds(url)
    with _quiet_stdout():
        outcome = replay_games(base, games, None, workers)
    wall = time.perf_counter() - started
    cpu, database_cpu = _cpu_seconds() - cpu, postgres_cpu_seconds(url) - database_cpu
    game_hours = sum((g.end - g.kickoff).total_seconds() for g in games) / 3600
    print(
        f"  wall {wall:.1f} s (real clock) for {game_hours:.1f} game-hours; cycles per worker "
        f"{outcome.cycles}; {'all final' if not outcome.failed else f'{outcome.failed} worker(s) FAILED'}\n"
        f"  CPU: replay processes {cpu:.1f} s, PostgreSQL {database_cpu:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end\n"
        f"  goal < {goal:g} s: {verdict(wall < goal and not outcome.failed)}",
        flush=True,
    )
    return not outcome.failed


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """The console alerts of the replay and of its worker processes (which inherit the file
    descriptor, not `sys.stdout`) go to /dev/null; the figures are printed around it."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def _cpu_seconds() -> float:
    """CPU of this process and of its reaped children (the workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backtests", nargs="*", choices=list(BACKTESTS), default=list(BACKTESTS))
    parser.add_argument("--workers", type=int, help="worker processes (default: each backtest's own)")
    args = parser.parse_args()
    results = [run(name, args.workers) for name in args.backtests]  # every one, even after a failure
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
