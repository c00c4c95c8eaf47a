"""`--replay`: recorded games through the unchanged daemon, which only sees other base URLs.

`ReplayEnvironment` starts the fake ESPN and Kalshi servers on a shared simulated clock and gives
the settings that point the daemon at them; `run_replay` is the command: it replays until every
game is final and the outbox is drained, then prints the backtest report (`report.py`), writes it
as JSON and compares it with an earlier run's when asked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nfl_replay.clock import SimulatedClock
from nfl_replay.environment import PREGAME, replay_settings
from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.faults import FaultPlan
from nfl_replay.kalshi_server import FakeKalshiServer
from nfl_replay.price_history import HISTORY_FOLDER, MarketHistory, load_history
from nfl_replay.report import backtest_report, compare_reports, format_report, read_report, report_to_json
from nfl_replay.session import is_recording
from nfl_replay.session_replay import SessionReplayEnvironment
from nfl_replay.timeline import GameTimeline, load_game
from nfl_sync.config import Settings

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

    def __post_init__(self) -> None:
        start = min(g.kickoff for g in self.games) - PREGAME
        self.clock = SimulatedClock(start, self.speed)
        self.espn = FakeESPNServer(self.games, self.clock, self.espn_faults)
        self.kalshi = FakeKalshiServer(self.games, self.clock, faults=self.kalshi_faults, history=self.price_history)
        # The games whose Kalshi prices are real (from the history), not synthetic.
        self.real_price_games: frozenset[str] = self.kalshi.markets.recorded_games

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

    def finished(self, sync) -> bool:
        """Every replayed game final in the daemon, its reactions measured, its alerts delivered."""
        return sync.caught_up(self.game_ids) and sync.alerts.pending_count() == 0


def run_replay(
    settings: Settings,
    paths: Sequence[Path],
    speed: float | None,
    *,
    kalshi_history: Path | None = None,
    report_json: Path | None = None,
    compare: Path | None = None,
) -> int:
    """The `--replay` command: the report is printed, written to `report_json` as JSON, and
    compared with the report in `compare`, as asked. Returns the exit status."""
    from nfl_sync.app import build_sync, close_sync, tune_garbage_collection

    # Folders of a recorded session (--record) and finished summaries can be given together.
    recordings = [path for path in paths if is_recording(path)]
    summaries = [path for path in paths if path not in recordings]
    env: ReplayEnvironment | SessionReplayEnvironment
    try:
        games = find_games(summaries) if summaries or not recordings else []
        if recordings:
            env = SessionReplayEnvironment(recordings, games, speed)
        else:
            history = load_history(history_folders(paths, kalshi_history))
            env = ReplayEnvironment(games, speed, price_history=history)
        baseline = read_report(compare) if compare is not None else None
        if report_json is not None and not report_json.parent.is_dir():
            raise FileNotFoundError(f"no folder for --report-json: {report_json.parent}")
    except (FileNotFoundError, ValueError) as error:
        log.error("%s", error)
        return 2
    with env:
        replay_settings = env.settings(settings)
        log.info("Replaying %s at %s", env.describe(), "max speed" if speed is None else f"{speed:g}x")
        sync = build_sync(replay_settings, clock=env.clock, restore=False)
        sync.db.run(lambda tx: tx.ops.forget_games(env.game_ids))
        sync.restore_state()
        tune_garbage_collection()
        try:
            sync.run_forever(until=lambda: env.finished(sync))
            report = backtest_report(sync.db, env.game_ids, env.real_price_games, replay_settings)
        finally:
            close_sync(sync)
    print(format_report(report))
    if report_json is not None:
        report_json.write_text(report_to_json(report) + "\n", encoding="utf-8")
        print(f"\nReport written to {report_json}")
    if baseline is not None:
        print(f"\nChanges from {compare}:")
        print("\n".join(compare_reports(baseline, json.loads(report_to_json(report)))))
    return 0
