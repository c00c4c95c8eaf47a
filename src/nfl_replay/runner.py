"""`--replay`: recorded games through the unchanged daemon, which only sees other base URLs.

`ReplayEnvironment` starts the fake ESPN and Kalshi servers on a shared simulated clock and gives
the settings that point the daemon at them; `run_replay` is the command: it replays until every
game is final and the outbox is drained, then prints a short report. Between games the clock
skips to shortly before the next kickoff, so games of any dates replay in time proportional to
game time; `--workers N` replays groups of dates in N processes against the one database.
"""

from __future__ import annotations

import bisect
import logging
import multiprocessing
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from nfl_replay.clock import SimulatedClock
from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.faults import FaultPlan
from nfl_replay.kalshi_server import FakeKalshiServer
from nfl_replay.timeline import GameTimeline, load_game
from nfl_sync.config import Settings

if TYPE_CHECKING:
    from nfl_sync.engine.sync import NFLRealtimeSync

log = logging.getLogger(__name__)

PREGAME = timedelta(minutes=2)
UNLIMITED = 1e9  # rate limits and cadences that do not apply to local fake servers


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
        return self._settled == len(self._ids) and sync.caught_up() and sync.alerts.pending_count() == 0

    def idle_until(self, sync: NFLRealtimeSync, now: datetime) -> datetime | None:
        """PREGAME before the next kickoff when nothing happens until then (every game that has
        kicked off final in the daemon, no summary or reaction waiting, no alert pending); None
        while something does, or when no game is left to start."""
        started = bisect.bisect_right(self._kickoffs, now)
        if started == len(self._ids):
            return None
        self.note_finals(sync, now)
        resume = self._kickoffs[started] - PREGAME
        if self._settled < started or resume <= now:
            return None
        if not sync.caught_up() or sync.alerts.pending_count():
            return None
        return resume


@dataclass
class ReplayEnvironment:
    """Fake ESPN and Kalshi servers for `games` on one simulated clock (speed None = max)."""

    games: Sequence[GameTimeline]
    speed: float | None = None
    espn_faults: FaultPlan | None = None
    kalshi_faults: FaultPlan | None = None

    def __post_init__(self) -> None:
        start = min(g.kickoff for g in self.games) - PREGAME
        self.clock = SimulatedClock(start, self.speed)
        self.espn = FakeESPNServer(self.games, self.clock, self.espn_faults)
        self.kalshi = FakeKalshiServer(self.games, self.clock, faults=self.kalshi_faults)
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

    def settings(self, base: Settings) -> Settings:
        """`base` pointed at the fake servers; sources that have no fake (weather, odds) are off."""
        return replace(
            base,
            espn_base_url=self.espn.base_url,
            espn_core_base_url=self.espn.base_url,
            kalshi_base_url=self.kalshi.base_url,
            espn_rate_per_second=UNLIMITED,
            espn_rate_per_minute=int(UNLIMITED),
            kalshi_reads_per_second=UNLIMITED,
            weather_interval=0.0,
            odds_api_key=None,
            kalshi_api_key_id=None,
            kalshi_private_key_path=None,
            idle_poll_interval=base.sync_interval,
            # A backtest of a season spans more replayed days than prices are kept live.
            price_retention_days=0.0,
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


def run_replay(settings: Settings, paths: Sequence[Path], speed: float | None, workers: int = 1) -> int:
    """The `--replay` command. Returns the exit status."""
    try:
        games = find_games(paths)
    except (FileNotFoundError, ValueError) as error:
        log.error("%s", error)
        return 2
    return replay_games(settings, games, speed, workers).status


@dataclass(frozen=True)
class ReplayOutcome:
    """What a replay did: the daemon's cycles per worker, and the workers that failed."""

    cycles: list[int]
    failed: int

    @property
    def status(self) -> int:
        return 1 if self.failed else 0


def replay_games(
    settings: Settings, games: Sequence[GameTimeline], speed: float | None, workers: int = 1
) -> ReplayOutcome:
    """Replay `games` in up to `workers` processes (`by_date`), all against the settings' one
    database, then print the report of all of them."""
    from nfl_sync.storage.manager import NFLDBManager
    from nfl_sync.storage.migrations import apply_migrations

    groups = by_date(games, workers)
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
            outcome = ReplayOutcome([replay_group(settings, groups[0], speed)], 0)
        else:
            # Workers reach the database by its URL, the embedded server's too: the one this
            # process started, which outlives them.
            shared = replace(settings, database=replace(settings.database, url=db.dsn))
            outcome = _replay_in_workers(shared, groups, speed)
        report = db.run(lambda tx: tx.ops.replay_report(game_ids))
    finally:
        db.close()
    print(format_report(report))
    return outcome


def replay_group(settings: Settings, games: Sequence[GameTimeline], speed: float | None) -> int:
    """Replay `games` through the daemon on fake servers of their own; returns the cycles run."""
    from nfl_sync.app import build_sync, close_sync, tune_garbage_collection

    with ReplayEnvironment(games, speed) as env:
        sync = build_sync(env.settings(settings), clock=env.clock, restore=True)
        tune_garbage_collection()
        try:
            env.replay(sync)
        finally:
            close_sync(sync)
        return sync.cycles


def by_date(games: Sequence[GameTimeline], groups: int) -> list[list[GameTimeline]]:
    """`games` in at most `groups` groups of whole New York dates (a date's games share the
    daemon's daily limits and cooldowns), balanced by number of games: the busiest date first,
    each into the smallest group. Each group is in kickoff order."""
    dates: dict[date, list[GameTimeline]] = {}
    for game in games:
        dates.setdefault(game.eastern_date, []).append(game)
    buckets: list[list[GameTimeline]] = [[] for _ in range(max(1, min(groups, len(dates))))]
    for day in sorted(dates, key=lambda day: (-len(dates[day]), day)):
        min(buckets, key=len).extend(dates[day])
    return [sorted(bucket, key=lambda g: (g.kickoff, g.game_id)) for bucket in buckets]


def _replay_in_workers(
    settings: Settings, groups: Sequence[Sequence[GameTimeline]], speed: float | None
) -> ReplayOutcome:
    from nfl_sync.logging_setup import registered_secrets

    secrets = registered_secrets()
    cycles, failed = [], 0
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads and a pool
    with ProcessPoolExecutor(len(groups), mp_context=context) as pool:
        futures = [
            pool.submit(_worker, settings, list(group), speed, number, secrets)
            for number, group in enumerate(groups, 1)
        ]
        for number, future in enumerate(futures, 1):
            try:
                cycles.append(future.result())
            except Exception:
                log.exception("Replay worker %d failed", number)
                failed += 1
    return ReplayOutcome(cycles, failed)


def _worker(settings: Settings, games: list[GameTimeline], speed: float | None, number: int, secrets: list[str]) -> int:
    """A worker process: logs of its own (two processes must not rotate one file), then its games."""
    from nfl_sync.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_dir / f"replay-worker-{number}", secrets)
    log.info("Replay worker %d: %d game(s) on %d date(s)", number, len(games), len({g.eastern_date for g in games}))
    return replay_group(settings, games, speed)


def format_report(report: dict) -> str:
    lines = ["", "Replay report"]
    for g in report["games"]:
        lines.append(
            f"  {g['away_team']} {g['away_score']} @ {g['home_team']} {g['home_score']} ({g['state']}), "
            f"{g['plays']} plays stored  [game {g['game_id']}]"
        )
    alerts = ", ".join(f"{a['alert_type']} {a['status']}: {a['n']}" for a in report["alerts"]) or "none"
    lines.append(f"  alerts: {alerts}")
    correlations = ", ".join(f"{c['impact_level']}: {c['n']}" for c in report["correlations"]) or "none"
    lines.append(f"  play-to-price correlations: {correlations} (Kalshi prices are SYNTHETIC in replays)")
    return "\n".join(lines)
