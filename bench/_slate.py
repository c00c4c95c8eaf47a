"""Shared helpers of the replay benchmarks (bench/replay_*.py): a slate of recorded games, the
settings and the throwaway database a benchmark run uses, and small statistics.

A slate repeats the two recorded games under distinct event ids. To be a real slate (every
game live at once, like a Sunday afternoon) the copies kick off within minutes of each other on
one day, so each copy is also given two teams of its own: the 16 copies use the 32 teams once
each, which keeps every Kalshi event ticker (date + teams) unique and the ESPN documents
consistent (team ids, abbreviations in possession texts, the venue).
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import logging
import multiprocessing
import os
import re
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from nfl_replay.clock import SimulatedClock
from nfl_replay.runner import PREGAME, ReplayEnvironment
from nfl_replay.timeline import GameTimeline, load_game
from nfl_sync.config import Settings, load_settings
from nfl_sync.domain import teams

ROOT = Path(__file__).resolve().parent.parent

RECORDINGS = (
    ROOT / "tests" / "fixtures" / "espn" / "summary_401547417.json",
    ROOT / "tests" / "fixtures" / "espn" / "cdn_game_401547602.json",
)
SLATE_GAMES = 16
# A bot token of the right shape for the fake Bot API (never a real one) and the chat it serves.
FAKE_TOKEN = "123456789:AAHbench-Token-Not-A-Real-One_0123456"
FAKE_CHAT = "100000001"


# --- the slate -----------------------------------------------------------------------------------


def recordings() -> list[GameTimeline]:
    return [load_game(path) for path in RECORDINGS]


def slate(
    games: int = SLATE_GAMES, stagger: timedelta = timedelta(minutes=1), kickoff: datetime | None = None
) -> list[GameTimeline]:
    """`games` copies of the recordings (alternating), copy i kicking off `i * stagger` after
    `kickoff` (default: the first recording's kickoff), each with two teams of its own."""
    pool = teams.all_teams()
    if games * 2 > len(pool):
        raise ValueError(f"a slate of {games} games needs {games * 2} teams; there are {len(pool)}")
    recorded = recordings()
    kickoff = kickoff or recorded[0].kickoff
    return [
        retarget(
            recorded[i % len(recorded)], f"9{i + 1:08d}", kickoff + i * stagger, home=pool[2 * i], away=pool[2 * i + 1]
        )
        for i in range(games)
    ]


def retarget(game: GameTimeline, new_id: str, kickoff: datetime, home: teams.Team, away: teams.Team) -> GameTimeline:
    """`game` under event id `new_id`, kicking off at `kickoff`, played by `home` and `away`."""
    moved = game.with_id(new_id, kickoff - game.kickoff)
    source = copy.deepcopy(moved.source)  # with_id's copy is shared with `moved`; keep it pristine
    swap = {str(game.home_team["id"]): home, str(game.away_team["id"]): away}
    _rename_teams(
        source, swap, {str(game.home_team["abbreviation"]): home.abbr, str(game.away_team["abbreviation"]): away.abbr}
    )
    venue = source.get("gameInfo", {}).get("venue")
    if venue is not None and home.venue_id:
        venue["id"], venue["fullName"] = home.venue_id, home.stadium
    return GameTimeline(source)


def _team_fields(team: teams.Team) -> dict[str, str]:
    location = (
        team.name[: -len(team.nickname)].strip() if team.nickname and team.name.endswith(team.nickname) else team.name
    )
    return {
        "id": team.espn_id,
        "uid": f"s:20~l:28~t:{team.espn_id}",
        "abbreviation": team.abbr,
        "displayName": team.name,
        "shortDisplayName": team.nickname or team.name,
        "name": team.nickname or team.name,
        "location": location,
    }


def _rename_teams(node: Any, by_id: Mapping[str, teams.Team], by_abbr: Mapping[str, str]) -> None:
    """Rewrite, in place, the team objects and team ids of the old teams (`by_id`) and the
    abbreviations in texts ("1st & 10 at ATL 35"), all old names in one pass."""
    words = re.compile(r"\b(" + "|".join(map(re.escape, by_abbr)) + r")\b")

    def text(value: str) -> str:
        return words.sub(lambda match: by_abbr[match.group(1)], value)

    def walk(node: Any, key: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, key)
            return
        if not isinstance(node, dict):
            return
        team_id = str(node.get("id", ""))
        renamed: Mapping[str, str] = {}
        if key == "team" and team_id in by_id:
            fields = _team_fields(by_id[team_id])
            renamed = {name: value for name, value in fields.items() if name in node or name == "id"}
            node.update(renamed)
        elif "homeAway" in node and team_id in by_id:  # a competitor: its id is its team's
            node["id"] = by_id[team_id].espn_id
        for name, value in node.items():
            if name in renamed:
                continue
            if name == "teamId" and str(value) in by_id:
                node[name] = by_id[str(value)].espn_id
            elif isinstance(value, str) and name != "id":
                node[name] = text(value)
            else:
                walk(value, name)

    walk(node, None)


def scoring_plays(game: GameTimeline) -> list[tuple[datetime, tuple[int, int]]]:
    """(visible_at, (home, away)) of each score change of `game`, in order."""
    changes, score = [], (0, 0)
    for play in game.plays:
        now = (play.home_score, play.away_score)
        if now != score:
            changes.append((play.visible_at, now))
            score = now
    return changes


# --- settings and database ---------------------------------------------------------------------


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """Defaults of the daemon (never the project's .env), Telegram off unless `env` says otherwise,
    logs in a temporary folder."""
    values = {"TELEGRAM_ENABLED": "false", "LOG_DIR": temp_dir("bench-logs-"), "LOG_LEVEL": "INFO"}
    values.update(env or {})
    return load_settings(values)


def temp_dir(prefix: str) -> str:
    """A temporary folder removed at exit (after the embedded server in it has stopped: atexit
    runs in reverse order, and pgserver registers its stop after this)."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def embedded_database(name: str = "bench") -> str:
    """A libpq URL to a database on a throwaway embedded PostgreSQL."""
    from nfl_sync.storage.embedded import start_embedded

    return start_embedded(Path(temp_dir("bench-pg-")), name)


def postgres_cpu_seconds(url: str) -> float:
    """CPU seconds used so far by the PostgreSQL server behind `url` (the postmaster, its live
    children and the children it has reaped), read from /proc; 0 where that cannot be read."""
    import psycopg2

    try:
        with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid(), current_setting('data_directory')")
            _, data_dir = cur.fetchone()
        postmaster = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rpartition(")")[2].split()
                pid, ppid = int(stat.parent.name), int(fields[1])
                if pid == postmaster:
                    total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
                elif ppid == postmaster:
                    total += int(fields[11]) + int(fields[12])
        return total / ticks
    except Exception:
        return 0.0


def configure_logging(settings: Settings) -> Path:
    """As the daemon logs (INFO to its rotating file), without the console."""
    from nfl_sync.logging_setup import configure_logging as configure

    return configure(settings.log_level, settings.log_dir, console=False)


# --- figures -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct` percentile (0-100) of `values`, linearly interpolated."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * pct / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def verdict(met: bool) -> str:
    """How a benchmark line reports its goal."""
    return "met" if met else "NOT met"


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident set size (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """This process's current resident set size."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


# --- a slate run ---------------------------------------------------------------------------------

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
        conn.send((espn.base_url, kalshi.base_url, [g.game_id for g in timelines], clock.start))
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
        espn_url, kalshi_url, self.game_ids, start = self._conn.recv()
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
                setattr(run, key, sync.totals[key])
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
