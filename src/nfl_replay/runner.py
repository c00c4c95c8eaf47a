"""`--replay`: recorded games through the unchanged daemon, which only sees other base URLs.

`ReplayEnvironment` starts the fake ESPN and Kalshi servers on a shared simulated clock and gives
the settings that point the daemon at them; `run_replay` is the command: it replays until every
game is final and the outbox is drained, then prints the backtest report (`report.py`), writes it
as JSON and compares it with an earlier run's when asked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from nfl_replay.clock import SimulatedClock
from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.faults import FaultPlan
from nfl_replay.kalshi_server import FakeKalshiServer
from nfl_replay.report import backtest_report, compare_reports, format_report, read_report, report_to_json
from nfl_replay.timeline import GameTimeline, load_game
from nfl_sync.config import Settings

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


@dataclass
class ReplayEnvironment:
    """Fake ESPN and Kalshi servers for `games` on one simulated clock (speed None = max)."""

    games: Sequence[GameTimeline]
    speed: float | None = None
    espn_faults: FaultPlan | None = None
    kalshi_faults: FaultPlan | None = None
    real_price_games: frozenset[str] = frozenset()  # games whose Kalshi prices are recorded history

    def __post_init__(self) -> None:
        start = min(g.kickoff for g in self.games) - PREGAME
        self.clock = SimulatedClock(start, self.speed)
        self.espn = FakeESPNServer(self.games, self.clock, self.espn_faults)
        self.kalshi = FakeKalshiServer(self.games, self.clock, faults=self.kalshi_faults)

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
            # The report measures market reactions on the stored prices: a replay spanning months of
            # simulated time must not prune the first games' prices.
            price_retention_days=0.0,
        )

    def finished(self, sync) -> bool:
        """Every replayed game final in the daemon, its reactions measured, its alerts delivered."""
        return sync.caught_up(self.game_ids) and sync.alerts.pending_count() == 0


def run_replay(
    settings: Settings,
    paths: Sequence[Path],
    speed: float | None,
    *,
    report_json: Path | None = None,
    compare: Path | None = None,
) -> int:
    """The `--replay` command: the report is printed, written to `report_json` as JSON, and
    compared with the report in `compare`, as asked. Returns the exit status."""
    from nfl_sync.app import build_sync, close_sync, tune_garbage_collection

    try:
        games = find_games(paths)
        baseline = read_report(compare) if compare is not None else None
        if report_json is not None and not report_json.parent.is_dir():
            raise FileNotFoundError(f"no folder for --report-json: {report_json.parent}")
    except (FileNotFoundError, ValueError) as error:
        log.error("%s", error)
        return 2
    with ReplayEnvironment(games, speed) as env:
        replay_settings = env.settings(settings)
        log.info(
            "Replaying %d game(s) at %s: %s",
            len(games),
            "max speed" if speed is None else f"{speed:g}x",
            ", ".join(f"{g.matchup} ({g.game_id})" for g in games),
        )
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
