"""Benchmark (issue #7, throughput): a whole 16-game slate end to end at max speed.

The slate of bench/_slate.py (the two recorded games as 16 games a minute apart) replayed the
way `--replay --speed max` does it: fake ESPN and Kalshi in this process, a throwaway embedded
PostgreSQL, alerts to the console, until every game is final and every alert delivered. Prints
the wall time and plays stored per second. Goal: the slate in < 30 s. Run by hand; repeats
report medians:

    .venv/bin/python bench/replay_throughput.py [--repeat 3] [--games 16] [--servers inproc|process]
"""

from __future__ import annotations

import sys

from _figures import median, verdict
from _slate_run import run_slates_from_args

WALL_GOAL_SECONDS = 30.0


def describe(run, n: int, args) -> str:
    # Where the wall time went: the daemon's Python code runs one thread at a time, so the wall
    # time cannot fall below the CPU time of its process; the rest is waiting on the others.
    this = "daemon" if run.server_cpu_seconds is not None else "daemon and fake servers"
    servers = "" if run.server_cpu_seconds is None else f", fake servers' process {run.server_cpu_seconds:.1f} s"
    return (
        f"run {n + 1}/{args.repeat}: {run.plays_stored} plays of {args.games} games in {run.wall_seconds:.1f} s = "
        f"{run.plays_stored / run.wall_seconds:.1f} plays/s; {run.cycles} cycles = "
        f"{run.cycles / run.wall_seconds:.1f} cycles/s; {run.virtual_hours:.2f} h replayed = "
        f"{run.virtual_hours * 3600 / run.wall_seconds:.0f}x real time; "
        f"{'all final' if run.finished else 'NOT FINISHED'}\n"
        f"  CPU: this process ({this}) {run.process_cpu_seconds:.1f} s{servers}, "
        f"PostgreSQL {run.database_cpu_seconds:.1f} s"
    )


def main() -> int:
    args, runs = run_slates_from_args(__doc__.split("\n\n")[0], "inproc", describe)
    wall = median(r.wall_seconds for r in runs)
    print(f"\nthroughput, {args.games} games, fake servers {args.servers}, median of {len(runs)} run(s):")
    print(f"  wall time   {wall:7.1f} s   (goal < {WALL_GOAL_SECONDS:g} s: {verdict(wall < WALL_GOAL_SECONDS)})")
    print(f"  plays/s     {median(r.plays_stored / r.wall_seconds for r in runs):7.1f}")
    print(f"  cycles/s    {median(r.cycles / r.wall_seconds for r in runs):7.1f}")
    return 0 if all(r.finished for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
