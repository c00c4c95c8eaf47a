"""What one lane step, or one sequential cycle of every lane, did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nfl_sync.domain.events import Event

# One nfl_data_sync_log row: step, started, finished, status, records, error.
SyncLogRow = tuple[str, datetime, datetime, str, int, str | None]


@dataclass
class CycleReport:
    """What one cycle did, for tests, the periodic summary and the replay report."""

    started: datetime
    games: int = 0
    live_games: int = 0
    plays_stored: int = 0
    pbp_fetched: int = 0
    snapshots: int = 0
    correlations: int = 0
    events: list[Event] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    sync_log: list[SyncLogRow] = field(default_factory=list)  # rows for nfl_data_sync_log, one per step

    @property
    def ok(self) -> bool:
        return not self.failures
