"""The engine's collaborators in one record, handed to every lane."""

from __future__ import annotations

from dataclasses import dataclass

from nfl_sync.clock import Clock
from nfl_sync.config import Settings
from nfl_sync.engine.protocols import AlertSink, GameSource, MarketSource
from nfl_sync.health import HealthMonitor
from nfl_sync.metrics import Metrics
from nfl_sync.storage.manager import NFLDBManager


@dataclass(frozen=True)
class Shell:
    """The engine's collaborators, everything its trackers and jobs talk to."""

    settings: Settings
    clock: Clock
    db: NFLDBManager
    fetcher: GameSource
    kalshi: MarketSource
    alerts: AlertSink
    metrics: Metrics
    health: HealthMonitor
