"""One replay of the benchmark slate (bench/_slate.py) through the daemon, measured: cycles, CPU of
the daemon, the fake servers and PostgreSQL, memory, and what the daemon stored and sent.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from _figures import peak_rss_mb, rss_mb
from _slate import SLATE_GAMES, configure_logging, embedded_database, postgres_cpu_seconds, settings, slate
from nfl_replay.clock import SimulatedClock
from nfl_replay.runner import PREGAME, ReplayEnvironment, ReplayProgress

WINDOW_HOURS = 3.0


@dataclass
class SlateRun:
    """What one run of a slate through the daemon measured (times in real seconds unless said)."""

    servers: str  # "inproc": fake servers in this process; "process": in a separate one
    games: int
    finished: bool
    wall_seconds: float
    virtual_hours: float
    cycle_cpu_ms: list[float] = field(default_factory=list)  # this process's CPU per run_cycle
    cycle_wall_ms: list[float] = field(default_factory=list)
    cycle_live: list[int] = field(default_factory=list)  # live games seen by each cycle
    plays_stored: int = 0
    events: int = 0
    snapshots: int = 0
    pbp_fetched: int = 0
    failed_steps: int = 0
    transactions: int = 0  # database transactions the daemon ran
    requests: dict[str, int] = field(default_factory=dict)  # requests the fake servers answered, by path
    process_cpu_seconds: float = 0.0  # this process, start of the loop to the end
    server_cpu_seconds: float | None = None  # the fake servers' process ("process" mode)
    database_cpu_seconds: float = 0.0  # the PostgreSQL server, start of the loop to the end
    server_peak_rss_mb: float | None = None
    rss_at_window_mb: float | None = None  # after WINDOW_HOURS of replayed time
    peak_rss_at_window_mb: float | None = None
    final_rss_mb: float = 0.0
    peak_rss_mb: float = 0.0

    @property
    def cycles(self) -> int:
        return len(self.cycle_cpu_ms)

    def cpu_ms(self, min_live: int = 0) -> list[float]:
        return [cpu for cpu, live in zip(self.cycle_cpu_ms, self.cycle_live, strict=False) if live >= min_live]


class SharedClock(SimulatedClock):
    """A max-speed SimulatedClock whose virtual seconds live in shared memory, so fake servers in
    another process see the daemon's time. Only the daemon's process moves it."""

    def __init__(self, start: datetime, elapsed: Any):
        super().__init__(start, None)
        self._shared = elapsed  # a multiprocessing RawValue("d")

    def _elapsed_now(self) -> float:
        return self._shared.value

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        with self._lock:
            self._shared.value += seconds

    def set(self, when: datetime) -> None:
        with self._lock:
            target = (when - self.start).total_seconds()
            if target < self._shared.value:
                raise ValueError(f"a clock cannot go back (to {when.isoformat()})")
            self._shared.value = target


def _serve_slate(conn: Any, games: int, stagger_minutes: float, elapsed: Any) -> None:
    """Child process of `RemoteServers`: the fake ESPN and Kalshi servers of the slate."""
    logging.basicConfig(level=logging.ERROR)
    from nfl_replay.espn_server import FakeESPNServer
    from nfl_replay.kalshi_server import FakeKalshiServer

    timelines = slate(games, timedelta(minutes=stagger_minutes))
    clock = SharedClock(min(g.kickoff for g in timelines) - PREGAME, elapsed)
    espn, kalshi = FakeESPNServer(timelines, clock), FakeKalshiServer(timelines, clock)
    with espn, kalshi:
        conn.send((espn.base_url, kalshi.base_url, {g.game_id: g.kickoff for g in timelines}, clock.start))
        conn.recv()  # stop
    usage = resource.getrusage(resource.RUSAGE_SELF)
    conn.send((usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, request_counts(espn, kalshi)))


def request_counts(*servers: Any) -> dict[str, int]:
    """How many requests each fake server answered, by path ("espn /scoreboard": n)."""
    counts: dict[str, int] = {}
    for server in servers:
        for request in server.requests:
            key = f"{server.name} {request.path[len(server.prefix) :]}"
            counts[key] = counts.get(key, 0) + 1
    return counts


class RemoteServers:
    """`ReplayEnvironment`'s role with the fake servers in a separate process, so this process's
    CPU and memory are the daemon's alone. Settings and the end test are ReplayEnvironment's."""

    settings = ReplayEnvironment.settings
    finished = ReplayEnvironment.finished

    def __init__(self, games: int, stagger_minutes: float):
        context = multiprocessing.get_context("spawn")
        self._elapsed = context.RawValue("d", 0.0)
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve_slate, args=(child, games, stagger_minutes, self._elapsed), name="fake-servers", daemon=True
        )
        self.cpu_seconds: float | None = None
        self.peak_rss_mb: float | None = None
        self.requests: dict[str, int] = {}

    def __enter__(self) -> RemoteServers:
        self._process.start()
        espn_url, kalshi_url, kickoffs, start = self._conn.recv()
        self.game_ids, self.progress = list(kickoffs), ReplayProgress(kickoffs)
        self.espn, self.kalshi = SimpleNamespace(base_url=espn_url), SimpleNamespace(base_url=kalshi_url)
        self.clock = SharedClock(start, self._elapsed)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._conn.send("stop")
        self.cpu_seconds, self.peak_rss_mb, self.requests = self._conn.recv()
        self._process.join(10)


def run_slate(
    games: int = SLATE_GAMES,
    *,
    servers: str = "inproc",
    stagger_minutes: float = 1.0,
    max_wall_seconds: float = 600.0,
    on_cycle: Callable[[SlateRun], None] | None = None,
) -> SlateRun:
    """Replay a slate at max speed through the whole daemon (`app.build_sync`, `run_forever`) on
    a throwaway embedded PostgreSQL until every game is final and every alert delivered (to the
    console: the replay default), measuring each cycle."""
    from nfl_sync.app import build_sync, close_sync, tune_garbage_collection

    database_url = embedded_database()
    base = settings({"DATABASE_URL": database_url})
    configure_logging(base)
    if servers == "process":
        environment: Any = RemoteServers(games, stagger_minutes)
    else:
        environment = ReplayEnvironment(slate(games, timedelta(minutes=stagger_minutes)), None)
    run = SlateRun(servers, games, False, 0.0, 0.0)
    window = WINDOW_HOURS * 3600
    with environment as env, open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        sync = build_sync(env.settings(base), clock=env.clock, restore=False)
        sync.restore_state()
        tune_garbage_collection()  # as the daemon and --replay do once built
        cycle = sync.run_cycle

        def measured_cycle():
            cpu, wall = time.process_time(), time.perf_counter()
            report = cycle()
            run.cycle_cpu_ms.append((time.process_time() - cpu) * 1000)
            run.cycle_wall_ms.append((time.perf_counter() - wall) * 1000)
            run.cycle_live.append(report.live_games)
            if run.rss_at_window_mb is None and env.clock.monotonic() >= window:
                run.rss_at_window_mb, run.peak_rss_at_window_mb = rss_mb(), peak_rss_mb()
            if on_cycle is not None:
                on_cycle(run)
            return report

        sync.run_cycle = measured_cycle  # run_forever calls it; the loop itself is the daemon's
        transaction = sync.db.transaction

        def counted_transaction():
            run.transactions += 1
            return transaction()

        sync.db.transaction = counted_transaction
        started, cpu_started = time.perf_counter(), time.process_time()
        database_cpu_started = postgres_cpu_seconds(database_url)

        def done() -> bool:
            run.finished = env.finished(sync)
            return run.finished or time.perf_counter() - started > max_wall_seconds

        try:
            sync.run_forever(until=done)
            run.wall_seconds = time.perf_counter() - started
            run.process_cpu_seconds = time.process_time() - cpu_started
            run.database_cpu_seconds = postgres_cpu_seconds(database_url) - database_cpu_started
            run.virtual_hours = env.clock.monotonic() / 3600
            for key in ("plays_stored", "events", "snapshots", "pbp_fetched", "failed_steps"):
                setattr(run, key, sync.runner.totals[key])
        finally:
            close_sync(sync)
    if isinstance(environment, RemoteServers):
        run.server_cpu_seconds, run.server_peak_rss_mb = environment.cpu_seconds, environment.peak_rss_mb
        run.requests = environment.requests
    else:
        run.requests = request_counts(environment.espn, environment.kalshi)
    run.final_rss_mb, run.peak_rss_mb = rss_mb(), peak_rss_mb()
    return run


def run_slates_from_args(
    description: str, default_servers: str, describe: Callable[[SlateRun, int, Any], str]
) -> tuple[Any, list[SlateRun]]:
    """The command line both slate benchmarks share (--games, --servers, --repeat, --stagger):
    run the slate `--repeat` times, printing `describe(run, n, args)` after each run."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--games", type=int, default=SLATE_GAMES)
    parser.add_argument("--servers", choices=("process", "inproc"), default=default_servers)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--stagger", type=float, default=1.0, help="minutes between kickoffs")
    args = parser.parse_args()
    runs = []
    for n in range(args.repeat):
        run = run_slate(args.games, servers=args.servers, stagger_minutes=args.stagger)
        print(describe(run, n, args), flush=True)
        runs.append(run)
    return args, runs
