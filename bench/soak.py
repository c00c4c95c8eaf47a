"""Benchmark (issue 15, a season of uptime): memory and table sizes over a synthetic NFL season.

A season of `--weeks` weeks (17 by default): each week, a 16-game slate of the two recorded games
(bench/_slate.py: 32 teams, kickoffs a minute apart, each copy with its own event ids and so its
own Kalshi markets) is played a week after the last, through the whole daemon (`app.build_sync`,
a throwaway embedded PostgreSQL, alerts to the console). The fake ESPN and Kalshi servers run in
a separate process, so this process's RSS is the daemon's alone; they serve one week's games at a
time. Every lane keeps its own cadence (scoreboard and Kalshi every 5 s while a game is on or
starts within 30 min, 300 s otherwise; health each minute; retention hourly...): the clock jumps
from one due step to the next.

The clock is SIMULATED: a season of days passes in minutes, so what is measured is what the
daemon keeps (memory, rows), not how long it takes. Retention is judged on that clock too (sync
log 30 days, snapshots 90 days). After each simulated week it prints the RSS, what the lanes hold
and the sizes of the growing tables. Goal: RSS flat within 20 MB after week 2.

    .venv/bin/python bench/soak.py [--weeks 17]

A week takes 1-2 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing
import os
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from _figures import rss_mb, verdict
from _slate import SLATE_GAMES, configure_logging, embedded_database, recordings, retarget, settings
from _slate_run import SharedClock
from nfl_replay.espn_server import ESPN_PREFIX, FakeESPNServer
from nfl_replay.http import FakeHTTPServer, Request, Response
from nfl_replay.kalshi_server import KALSHI_PREFIX, FakeKalshiServer
from nfl_replay.runner import PREGAME, ReplayEnvironment
from nfl_replay.timeline import GameTimeline
from nfl_sync.domain import teams

WEEK = timedelta(days=7)
SHOW_UP = timedelta(days=1)  # a week's games are served from a day before the first kickoff
MIN_STEP = 1.0  # simulated seconds the clock moves at least between two cycles
RSS_GOAL_MB = 20.0
TABLES = ("nfl_kalshi_prices", "nfl_kalshi_candles", "nfl_data_sync_log", "nfl_plays", "nfl_alert_history")


def week_slate(week: int, kickoff: datetime, games: int = SLATE_GAMES) -> list[GameTimeline]:
    """Week `week`'s games: the recordings alternating, a minute apart from `kickoff`, ids of
    their own (so each week's games and markets are new ones)."""
    pool, recorded = teams.all_teams(), recordings()
    return [
        retarget(
            recorded[i % len(recorded)],
            f"9{week:03d}{i + 1:05d}",
            kickoff + timedelta(minutes=i),
            home=pool[2 * i],
            away=pool[2 * i + 1],
        )
        for i in range(games)
    ]


class WeeklyServer(FakeHTTPServer):
    """One address for the whole season that answers with the current week's fake server."""

    def __init__(self, name: str, prefix: str):
        super().__init__(name, prefix)
        self.current: FakeHTTPServer | None = None

    def respond(self, request: Request) -> Response:
        if self.current is None:
            return self.not_found(request)
        return self.current.respond(request)


def _serve_season(conn: Any, elapsed: Any) -> None:
    """Child process: the season's fake ESPN and Kalshi, switched to week n when told."""
    logging.basicConfig(level=logging.ERROR)
    kickoff = recordings()[0].kickoff
    clock = SharedClock(kickoff - PREGAME - SHOW_UP, elapsed)
    espn, kalshi = WeeklyServer("espn", ESPN_PREFIX), WeeklyServer("kalshi", KALSHI_PREFIX)
    with espn, kalshi:
        conn.send((espn.base_url, kalshi.base_url, kickoff, clock.start))
        while (message := conn.recv()) != "stop":
            games = week_slate(message, kickoff + message * WEEK)
            espn.current, kalshi.current = FakeESPNServer(games, clock), FakeKalshiServer(games, clock)
            conn.send("ok")


class SeasonServers:
    """The fake servers' process, and the clock it shares with the daemon."""

    settings = ReplayEnvironment.settings

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._elapsed = context.RawValue("d", 0.0)
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve_season, args=(child, self._elapsed), daemon=True)

    def __enter__(self) -> SeasonServers:
        self._process.start()
        espn_url, kalshi_url, self.kickoff, start = self._conn.recv()
        self.espn, self.kalshi = SimpleNamespace(base_url=espn_url), SimpleNamespace(base_url=kalshi_url)
        self.clock = SharedClock(start, self._elapsed)
        return self

    def week(self, n: int) -> None:
        self._conn.send(n)
        self._conn.recv()

    def __exit__(self, *exc: Any) -> None:
        self._conn.send("stop")
        self._process.join(10)


def drive(sync: Any, clock: SharedClock, until: datetime) -> int:
    """Cycles until `until`, the clock moved to the next step due (as the lane threads would)."""
    cycles = 0
    while clock.now() < until:
        sync.run_cycle()
        cycles += 1
        tick, now = clock.monotonic(), clock.now()
        waits = [w for lane in sync.lanes if (w := lane.wait_time(tick, now)) is not None]
        clock.advance(max(min(waits, default=60.0), MIN_STEP))
    return cycles


def table_sizes(db: Any) -> dict[str, tuple[int, float]]:
    """table -> (rows, MB on disk with its indexes)."""

    def read(tx: Any) -> dict[str, tuple[int, float]]:
        sizes = {}
        for table in TABLES:
            tx.cur.execute(f"SELECT count(*) AS n, pg_total_relation_size('{table}') AS bytes FROM {table}")
            row = tx.cur.fetchone()
            sizes[table] = (row["n"], row["bytes"] / 2**20)
        return sizes

    return db.run(read)


def held(sync: Any) -> str:
    """What the lanes hold per game and per market (the state that must not grow)."""
    lane = sync.markets
    return (
        f"markets {len(lane.last_prices)}/{len(lane.price_history)}/{len(lane.known_markets)}, "
        f"games {len(sync.scoreboard.memory)}/{len(sync.plays.memory)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=17)
    args = parser.parse_args()
    from nfl_sync.app import build_sync, close_sync, tune_garbage_collection

    base = settings({"DATABASE_URL": embedded_database("soak")})
    configure_logging(base)
    curve: list[float] = []
    print("week  simulated day   RSS MB  " + "  ".join(f"{t} rows/MB" for t in TABLES) + "  held  wall s", flush=True)
    with SeasonServers() as env, open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        # The replays' settings for fake servers, but the daemon's own idle cadence (not 5 s).
        daemon = replace(env.settings(base), idle_poll_interval=base.idle_poll_interval)
        sync = build_sync(daemon, clock=env.clock, restore=False)
        sync.restore_state()
        tune_garbage_collection()
        try:
            for week in range(args.weeks):
                started = time.perf_counter()
                env.week(week)
                drive(sync, env.clock, env.kickoff + week * WEEK + WEEK - PREGAME - SHOW_UP)
                rss = rss_mb()
                curve.append(rss)
                sizes = table_sizes(sync.db)
                line = (
                    f"{week + 1:4d}  {env.clock.now():%Y-%m-%d}  {rss:7.1f}  "
                    + "  ".join(f"{sizes[t][0]:>9d}/{sizes[t][1]:6.1f}" for t in TABLES)
                    + f"  {held(sync)}  {time.perf_counter() - started:6.0f}"
                )
                print(line, file=sys.__stdout__, flush=True)
        finally:
            close_sync(sync)
    if len(curve) > 2:
        spread = max(curve[2:]) - min(curve[2:])
        print(
            f"\nRSS after week 2: {min(curve[2:]):.1f}-{max(curve[2:]):.1f} MB, spread {spread:.1f} MB "
            f"(goal <= {RSS_GOAL_MB:g} MB: {verdict(spread <= RSS_GOAL_MB)}); clock: simulated"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
