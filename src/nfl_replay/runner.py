"""`--replay`: recorded games through the unchanged daemon, which only sees other base URLs.

`ReplayEnvironment` starts the fake ESPN and Kalshi servers on a shared simulated clock and gives
the settings that point the daemon at them; `run_replay` is the command: it replays until every
game is final and the outbox is drained, then prints the backtest report (`report.py`), writes it
as JSON and compares it with an earlier run's when asked. Between games the clock skips to
shortly before the next kickoff, so games of any dates replay in time proportional to game time;
`--workers N` replays groups of games in N processes against the one database.
"""

from __future__ import annotations

import bisect
import json
import logging
import multiprocessing
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nfl_replay.charts import write_charts
from nfl_replay.clock import SimulatedClock
from nfl_replay.environment import PREGAME, nothing_waiting, replay_settings
from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.faults import FaultPlan
from nfl_replay.kalshi_server import FakeKalshiServer
from nfl_replay.price_history import HISTORY_FOLDER, MarketHistory, load_history
from nfl_replay.report import (
    BacktestReport,
    backtest_report,
    compare_reports,
    format_report,
    read_report,
    report_to_json,
)
from nfl_replay.session import is_recording
from nfl_replay.session_replay import SessionReplayEnvironment
from nfl_replay.timeline import GameTimeline, load_game
from nfl_sync.cli import ReplayRequest
from nfl_sync.config import Settings

if TYPE_CHECKING:
    from nfl_sync.engine.sync import NFLRealtimeSync

log = logging.getLogger(__name__)


def find_games(paths: Iterable[Path]) -> list[GameTimeline]:
    """Timelines of the summary files given, or of the summary/cdn files inside given folders."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.json") if p.name.startswith(("summary_", "cdn_game_"))))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    games = [load_game(f) for f in files]
    playable = [g for g in games if g.plays]
    for skipped in set(games) - set(playable):
        log.warning("Game %s has no plays (a pre-game capture); not replayed", skipped.game_id)
    if not playable:
        raise ValueError("nothing to replay: no recorded game with plays in " + ", ".join(map(str, paths)))
    return playable


def history_folders(paths: Iterable[Path], kalshi_history: Path | None = None) -> list[Path]:
    """Where the replay looks for downloaded Kalshi history: `kalshi_history` when given, else a
    `kalshi_history` folder beside the summaries (inside a folder given, beside a file given)."""
    if kalshi_history is not None:
        if not kalshi_history.is_dir():
            raise FileNotFoundError(f"no such Kalshi history folder: {kalshi_history}")
        return [kalshi_history]
    beside = {(path if path.is_dir() else path.parent) / HISTORY_FOLDER for path in paths}
    return sorted(folder for folder in beside if folder.is_dir())


class ReplayProgress:
    """Which replayed games the daemon has seen final, and when the clock may skip ahead.

    The daemon's board forgets a game a day after its kickoff, so a replay of many dates keeps
    its own account of the finals. Games are given as their kickoffs by id."""

    def __init__(self, kickoffs: Mapping[str, datetime]):
        order = sorted(kickoffs.items(), key=lambda item: (item[1], item[0]))
        self._ids = [game_id for game_id, _ in order]
        self._kickoffs = [kickoff for _, kickoff in order]
        self._final: set[str] = set()
        self._settled = 0  # the first games in kickoff order, all seen final

    def note_finals(self, sync: NFLRealtimeSync, now: datetime) -> None:
        """Remember the games that have kicked off and are final on the daemon's board."""
        started = bisect.bisect_right(self._kickoffs, now)
        board = sync.board.snapshot()
        for game_id in self._ids[self._settled : started]:
            if game_id in board and board[game_id].is_over:
                self._final.add(game_id)
        while self._settled < len(self._ids) and self._ids[self._settled] in self._final:
            self._settled += 1

    def finished(self, sync: NFLRealtimeSync, now: datetime) -> bool:
        """Every game seen final, every summary fetched and reaction measured, every alert delivered."""
        self.note_finals(sync, now)
        return self._settled == len(self._ids) and nothing_waiting(sync)

    def idle_until(self, sync: NFLRealtimeSync, now: datetime) -> datetime | None:
        """PREGAME before the next kickoff when nothing happens until then (every game that has
        kicked off final in the daemon, no summary or reaction waiting, no alert pending); None
        while something does, or when no game is left to start."""
        started = bisect.bisect_right(self._kickoffs, now)
        if started == len(self._ids):
            return None
        self.note_finals(sync, now)
        resume = self._kickoffs[started] - PREGAME
        if self._settled < started or resume <= now or not nothing_waiting(sync):
            return None
        return resume


@dataclass
class ReplayEnvironment:
    """Fake ESPN and Kalshi servers for `games` on one simulated clock (speed None = max); the
    Kalshi markets quote `price_history` (ticker -> downloaded history) where it has a game's
    markets."""

    games: Sequence[GameTimeline]
    speed: float | None = None
    espn_faults: FaultPlan | None = None
    kalshi_faults: FaultPlan | None = None
    price_history: Mapping[str, MarketHistory] = field(default_factory=dict)
    kalshi_lag_seconds: float = 30
    kalshi_bias_cents: int = 0  # the home team's synthetic price above ESPN's probability

    def __post_init__(self) -> None:
        start = min(g.kickoff for g in self.games) - PREGAME
        self.clock = SimulatedClock(start, self.speed)
        self.espn = FakeESPNServer(self.games, self.clock, self.espn_faults)
        self.kalshi = FakeKalshiServer(
            self.games,
            self.clock,
            self.kalshi_lag_seconds,
            faults=self.kalshi_faults,
            bias_cents=self.kalshi_bias_cents,
            history=self.price_history,
        )
        # The games whose Kalshi prices are real (from the history), not synthetic.
        self.real_price_games: frozenset[str] = self.kalshi.markets.recorded_games
        self.progress = ReplayProgress({g.game_id: g.kickoff for g in self.games})

    def __enter__(self) -> ReplayEnvironment:
        self.espn.start()
        self.kalshi.start()
        return self

    def __exit__(self, *exc) -> None:
        self.espn.stop()
        self.kalshi.stop()

    @property
    def game_ids(self) -> list[str]:
        return [g.game_id for g in self.games]

    def describe(self) -> str:
        return f"{len(self.games)} game(s): " + ", ".join(f"{g.matchup} ({g.game_id})" for g in self.games)

    def settings(self, base: Settings) -> Settings:
        """`base` pointed at the fake servers (see `environment.replay_settings`)."""
        return replay_settings(
            base,
            espn_base_url=self.espn.base_url,
            espn_core_base_url=self.espn.base_url,
            kalshi_base_url=self.kalshi.base_url,
        )

    def finished(self, sync: NFLRealtimeSync) -> bool:
        """Every replayed game final in the daemon, its reactions measured, its alerts delivered."""
        return self.progress.finished(sync, self.clock.now())

    def skip_idle_time(self, sync: NFLRealtimeSync) -> None:
        """Between cycles: when no game is on and nothing is due before the next kickoff, move
        the clock to PREGAME before it (`SimulatedClock.set`: the daemon's cadences and cooldowns
        see the time pass, and a finite speed does not wait it out)."""
        now = self.clock.now()
        resume = self.progress.idle_until(sync, now)
        if resume is not None:
            log.info("No game on until %s: the replay skips %s", resume.isoformat(), resume - now)
            self.clock.set(resume)

    def replay(self, sync: NFLRealtimeSync) -> None:
        """Run the daemon's cycles until every game is over and delivered, skipping idle time."""
        sync.run_forever(until=lambda: self.finished(sync), idle=lambda: self.skip_idle_time(sync))


def run_replay(settings: Settings, request: ReplayRequest) -> int:
    """The `--replay` command: the report is printed, written to `report_json` as JSON, and
    compared with the report in `compare`, as asked; with `charts`, each game's chart is written
    there. Returns the exit status."""
    paths, speed, workers, charts = request.paths, request.speed, request.workers, request.charts
    kalshi_history, report_json, compare = request.kalshi_history, request.report_json, request.compare
    # Folders of a recorded session (--record) and finished summaries can be given together.
    recordings = [path for path in paths if is_recording(path)]
    summaries = [path for path in paths if path not in recordings]
    try:
        games = find_games(summaries) if summaries or not recordings else []
        history = {} if recordings else load_history(history_folders(paths, kalshi_history))
        baseline = read_report(compare) if compare is not None else None
        if report_json is not None and not report_json.parent.is_dir():
            raise FileNotFoundError(f"no folder for --report-json: {report_json.parent}")
        if recordings:
            if workers > 1:
                log.warning("A recorded session replays in one process: --workers %d ignored", workers)
            outcome = replay_session(settings, recordings, games, speed, charts)
        else:
            outcome = replay_games(settings, games, speed, workers, history, charts)
    except (FileNotFoundError, ValueError) as error:
        log.error("%s", error)
        return 2
    print(format_report(outcome.report))
    for path in outcome.charts:
        print(f"  chart: {path}")
    if report_json is not None:
        report_json.write_text(report_to_json(outcome.report) + "\n", encoding="utf-8")
        print(f"\nReport written to {report_json}")
    if baseline is not None:
        print(f"\nChanges from {compare}:")
        print("\n".join(compare_reports(baseline, json.loads(report_to_json(outcome.report)))))
    return outcome.status


@dataclass(frozen=True)
class ReplayOutcome:
    """What a replay did: its report, the daemon's cycles per worker, the workers that failed and
    the charts it wrote."""

    report: BacktestReport
    cycles: list[int]
    failed: int
    charts: list[Path] = field(default_factory=list)

    @property
    def status(self) -> int:
        return 1 if self.failed else 0


@dataclass(frozen=True)
class GroupResult:
    """What one group's replay hands back to the parent: its cycles and its games on real prices."""

    cycles: int
    real_price_games: frozenset[str]


def replay_games(
    settings: Settings,
    games: Sequence[GameTimeline],
    speed: float | None,
    workers: int = 1,
    history: Mapping[str, MarketHistory] | None = None,
    charts: Path | None = None,
) -> ReplayOutcome:
    """Replay `games` in up to `workers` processes (`partition`), all against the settings' one
    database, Kalshi quoting `history` where it has a game's markets; the report covers them all,
    and with `charts` each game's chart is written there."""
    from nfl_sync.storage.manager import NFLDBManager
    from nfl_sync.storage.migrations import apply_migrations

    history = history or {}
    groups = partition(games, workers)
    game_ids = [g.game_id for g in games]
    log.info(
        "Replaying %d game(s) at %s in %d worker(s): %s",
        len(games),
        "max speed" if speed is None else f"{speed:g}x",
        len(groups),
        ", ".join(f"{g.matchup} ({g.game_id})" for g in games),
    )
    db = NFLDBManager.from_settings(settings)
    try:
        # Once, before any worker: two processes must not race to apply the schema.
        apply_migrations(db)
        db.run(lambda tx: tx.ops.forget_games(game_ids))
        if len(groups) == 1:
            results, failed = [replay_group(settings, groups[0], speed, history)], 0
        else:
            # Workers reach the database by its URL, the embedded server's too: the one this
            # process started, which outlives them.
            shared = replace(settings, database=replace(settings.database, url=db.dsn))
            results, failed = _replay_in_workers(shared, groups, speed, history)
        real = frozenset().union(*(r.real_price_games for r in results))
        report = backtest_report(db, game_ids, real, settings)
        drawn = write_charts(db, game_ids, charts) if charts is not None else []
    finally:
        db.close()
    return ReplayOutcome(report, [r.cycles for r in results], failed, drawn)


def replay_group(
    settings: Settings,
    games: Sequence[GameTimeline],
    speed: float | None,
    history: Mapping[str, MarketHistory] | None = None,
) -> GroupResult:
    """Replay `games` through the daemon on fake servers of their own."""
    from nfl_sync.app import build_sync, close_sync, tune_garbage_collection

    with ReplayEnvironment(games, speed, price_history=history or {}) as env:
        # Its own games' alerts only: other workers' senders share the database, on other clocks.
        sync = build_sync(env.settings(settings), clock=env.clock, restore=True, alert_games=env.game_ids)
        tune_garbage_collection()
        try:
            env.replay(sync)
        finally:
            close_sync(sync)
        return GroupResult(sync.cycles, env.real_price_games)


def replay_session(
    settings: Settings,
    recordings: Sequence[Path],
    games: Sequence[GameTimeline],
    speed: float | None,
    charts: Path | None = None,
) -> ReplayOutcome:
    """Replay sessions recorded with --record (and finished summaries beside them) in this process."""
    from nfl_sync.app import build_sync, close_sync, tune_garbage_collection

    with SessionReplayEnvironment(recordings, games, speed) as env:
        run_settings = env.settings(settings)
        log.info("Replaying %s at %s", env.describe(), "max speed" if speed is None else f"{speed:g}x")
        sync = build_sync(run_settings, clock=env.clock, restore=False)
        sync.db.run(lambda tx: tx.ops.forget_games(env.game_ids))
        sync.restore_state()
        tune_garbage_collection()
        try:
            env.replay(sync)
            report = backtest_report(sync.db, env.game_ids, env.real_price_games, run_settings)
            drawn = write_charts(sync.db, env.game_ids, charts) if charts is not None else []
        finally:
            close_sync(sync)
    return ReplayOutcome(report, [sync.cycles], 0, drawn)


def partition(games: Sequence[GameTimeline], groups: int) -> list[list[GameTimeline]]:
    """`games` in at most `groups` groups, balanced by number of games, each in kickoff order.

    Whole New York dates go to one group while there are at least as many dates as groups (a
    date's games then share the daemon's daily limit and cooldowns as live); with fewer dates,
    a date's games are dealt out one by one (a 16-game Sunday on two workers: 8 and 8), since
    detection is per game and the games share nothing else."""
    dates: dict[date, list[GameTimeline]] = {}
    for game in games:
        dates.setdefault(game.eastern_date, []).append(game)
    count = max(1, min(groups, len(games)))
    buckets: list[list[GameTimeline]] = [[] for _ in range(count)]
    if len(dates) >= count:
        for day in sorted(dates, key=lambda day: (-len(dates[day]), day)):
            min(buckets, key=len).extend(dates[day])
    else:
        for n, game in enumerate(sorted(games, key=lambda g: (g.kickoff, g.game_id))):
            buckets[n % count].append(game)
    return [sorted(bucket, key=lambda g: (g.kickoff, g.game_id)) for bucket in buckets]


def _replay_in_workers(
    settings: Settings,
    groups: Sequence[Sequence[GameTimeline]],
    speed: float | None,
    history: Mapping[str, MarketHistory],
) -> tuple[list[GroupResult], int]:
    from nfl_sync.logging_setup import registered_secrets

    secrets = registered_secrets()
    results, failed = [], 0
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads and a pool
    with ProcessPoolExecutor(len(groups), mp_context=context) as pool:
        futures = [
            pool.submit(_worker, settings, list(group), speed, dict(history), number, secrets)
            for number, group in enumerate(groups, 1)
        ]
        for number, future in enumerate(futures, 1):
            try:
                results.append(future.result())
            except Exception:
                log.exception("Replay worker %d failed", number)
                failed += 1
    return results, failed


def _worker(
    settings: Settings,
    games: list[GameTimeline],
    speed: float | None,
    history: dict[str, MarketHistory],
    number: int,
    secrets: list[str],
) -> GroupResult:
    """A worker process: logs of its own (two processes must not rotate one file), then its games."""
    from nfl_sync.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_dir / f"replay-worker-{number}", secrets)
    log.info("Replay worker %d: %d game(s) on %d date(s)", number, len(games), len({g.eastern_date for g in games}))
    return replay_group(settings, games, speed, history)
