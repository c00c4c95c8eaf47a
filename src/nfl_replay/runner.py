"""`--replay`: recorded games through the unchanged daemon, which only sees other base URLs.

`ReplayEnvironment` starts the fake ESPN and Kalshi servers on a shared simulated clock and gives
the settings that point the daemon at them; `run_replay` is the command: it replays until every
game is final and the outbox is drained, then prints a short report.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from nfl_replay.charts import write_charts
from nfl_replay.clock import SimulatedClock
from nfl_replay.espn_server import FakeESPNServer
from nfl_replay.faults import FaultPlan
from nfl_replay.kalshi_server import FakeKalshiServer
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
        )

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
        )

    def finished(self, sync) -> bool:
        """Every replayed game final in the daemon, its reactions measured, its alerts delivered."""
        return sync.caught_up(self.game_ids) and sync.alerts.pending_count() == 0


def run_replay(settings: Settings, paths: Sequence[Path], speed: float | None, charts: Path | None = None) -> int:
    """The `--replay` command; with `charts`, each game's chart is written there. Returns the exit status."""
    from nfl_sync.app import build_sync, close_sync, tune_garbage_collection

    try:
        games = find_games(paths)
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
            report = sync.db.run(lambda tx: tx.ops.replay_report(env.game_ids))
            drawn = write_charts(sync.db, env.game_ids, charts) if charts is not None else []
        finally:
            close_sync(sync)
    print(format_report(report))
    for path in drawn:
        print(f"  chart: {path}")
    return 0


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
