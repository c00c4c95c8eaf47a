"""Benchmark (issue #7, load): the daemon's CPU per cycle and memory on a 16-game slate.

The two recorded games are repeated as 16 games kicking off a minute apart (32 distinct teams,
see bench/_slate.py) and replayed at max speed through the whole daemon (fake ESPN and Kalshi,
a throwaway embedded PostgreSQL, alerts to the console) until every game is final and every
alert delivered. Each `run_cycle` is measured with time.process_time().

By default the fake servers run in a separate process, so this process's CPU and RSS are the
daemon's alone; their own CPU is reported beside it. `--servers inproc` keeps them in-process,
as `--replay` does, and then the CPU is the whole process's. Goals: <= 15 ms CPU per cycle,
RSS <= 150 MB. Run by hand; repeats report medians:

    .venv/bin/python bench/replay_load.py [--repeat 3] [--servers process|inproc] [--games 16]

Profile with py-spy (all threads; `--gil` samples only the thread holding the GIL, i.e. CPU):
    .venv/bin/py-spy record --gil -f raw -o /tmp/load.txt -- .venv/bin/python bench/replay_load.py
"""

from __future__ import annotations

import sys

from _figures import median, percentile, verdict
from _slate_run import WINDOW_HOURS, SlateRun, run_slates_from_args

CPU_GOAL_MS = 15.0
RSS_GOAL_MB = 150.0


def describe(run: SlateRun) -> str:
    live = run.cpu_ms(min_live=1)
    all_live = run.cpu_ms(min_live=run.games)
    servers = ""
    if run.server_cpu_seconds is not None:
        servers = (
            f"; fake servers (own process) {run.server_cpu_seconds:.1f} s CPU = "
            f"{run.server_cpu_seconds / run.cycles * 1000:.1f} ms/cycle mean, peak RSS {run.server_peak_rss_mb:.0f} MB"
        )
    return "\n".join(
        [
            f"  {run.cycles} cycles in {run.wall_seconds:.1f} s ({run.cycles / run.wall_seconds:.1f} cycles/s), "
            f"{run.virtual_hours:.2f} h replayed, {'all final' if run.finished else 'NOT FINISHED'}, "
            f"{run.failed_steps} failed steps",
            f"  CPU per cycle ({run.servers}): median {median(run.cycle_cpu_ms):.1f} ms, "
            f"p95 {percentile(run.cycle_cpu_ms, 95):.1f} ms, "
            f"mean {run.process_cpu_seconds / run.cycles * 1000:.1f} ms (loop incl. sleeps and other threads); "
            f"median with >= 1 game live {median(live):.1f} ms ({len(live)} cycles), "
            f"all {run.games} live {median(all_live):.1f} ms ({len(all_live)} cycles){servers}",
            f"  wall per cycle: median {median(run.cycle_wall_ms):.1f} ms, "
            f"p95 {percentile(run.cycle_wall_ms, 95):.1f} ms; PostgreSQL {run.database_cpu_seconds:.1f} s CPU = "
            f"{run.database_cpu_seconds / run.cycles * 1000:.1f} ms/cycle mean",
            f"  RSS: {run.rss_at_window_mb:.0f} MB after {WINDOW_HOURS:g} h replayed "
            f"(peak {run.peak_rss_at_window_mb:.0f} MB), "
            f"peak {run.peak_rss_mb:.0f} MB, {run.final_rss_mb:.0f} MB at the end",
            f"  work: {run.plays_stored} plays stored, {run.pbp_fetched} summaries fetched, "
            f"{run.snapshots} price snapshots, "
            f"{run.events} events, {run.transactions} DB transactions ({run.transactions / run.cycles:.1f}/cycle)",
            "  requests: " + ", ".join(f"{path} {n}" for path, n in sorted(run.requests.items())),
        ]
    )


def main() -> int:
    args, runs = run_slates_from_args(
        __doc__.split("\n\n")[0],
        "process",
        lambda run, n, args: (
            f"run {n + 1}/{args.repeat}: {args.games} games, fake servers {run.servers}\n" + describe(run)
        ),
    )
    cpu = median(median(r.cycle_cpu_ms) for r in runs)
    rss = median(r.rss_at_window_mb for r in runs)
    peak = median(r.peak_rss_mb for r in runs)
    rate = median(r.cycles / r.wall_seconds for r in runs)
    who = "the daemon's process" if args.servers == "process" else "the whole process (daemon + fake servers)"
    print(f"\nload, {args.games} games, median of {len(runs)} run(s), {who}:")
    print(f"  CPU per cycle   {cpu:7.1f} ms   (goal <= {CPU_GOAL_MS:g} ms: {verdict(cpu <= CPU_GOAL_MS)})")
    print(f"  cycles/s        {rate:7.1f}")
    print(
        f"  RSS after {WINDOW_HOURS:g} h  {rss:7.0f} MB   (goal <= {RSS_GOAL_MB:g} MB: {verdict(rss <= RSS_GOAL_MB)})"
    )
    print(f"  peak RSS        {peak:7.0f} MB")
    return 0 if all(r.finished for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
