"""Kalshi prices polled while the database is away, kept until it is back.

A game's plays and scores can be asked of ESPN again after an outage; a market's price at a past
moment cannot. So the Kalshi lane holds each poll's snapshots that it could not write, in order,
and writes them with its first poll that commits. They are held in memory up to `memory_limit`
snapshots; beyond that they spill to a JSON-lines file (one plain record a line: readable by any
later version and by a person, unlike pickle, which would also run code on load), up to
`file_limit` bytes, after which new ones are dropped and said so. A file left by a daemon stopped
during an outage is written by the next one that leads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from nfl_sync.domain.models import MarketSnapshot

log = logging.getLogger(__name__)

MEMORY_LIMIT = 20_000  # snapshots: about half an hour of a full Sunday's markets
FILE_LIMIT = 64 << 20  # bytes: some 400,000 snapshots, hours of them
_DECIMALS = ("yes_bid", "yes_ask", "last_price", "volume", "open_interest")


class HeldSnapshots:
    """Snapshots not written yet, oldest first: the spill file's, then memory's. One lane's."""

    def __init__(self, spill_path: Path, memory_limit: int = MEMORY_LIMIT, file_limit: int = FILE_LIMIT):
        self.spill_path = spill_path
        self.memory_limit = memory_limit
        self.file_limit = file_limit
        self._memory: list[MarketSnapshot] = []
        self._counted: tuple[int, int] = (0, 0)  # (file size, snapshots in it) when last counted
        self._dropped = 0

    def __len__(self) -> int:
        return self._spilled() + len(self._memory)

    def hold(self, snapshots: Sequence[MarketSnapshot]) -> None:
        """Keep `snapshots` (newer than everything held) until `clear`."""
        self._memory.extend(snapshots)
        if len(self._memory) > self.memory_limit:
            self._spill()

    def held(self) -> list[MarketSnapshot]:
        """Everything held, oldest first."""
        return self._read_spilled() + self._memory

    def clear(self) -> None:
        """Everything held was written."""
        if self._dropped:
            log.error("%d Kalshi price snapshots of the database outage were dropped (spill file full)", self._dropped)
        self._memory, self._dropped = [], 0
        self.spill_path.unlink(missing_ok=True)

    def _spill(self) -> None:
        lines = "".join(json.dumps(_record(snap)) + "\n" for snap in self._memory)
        size = self.spill_path.stat().st_size if self.spill_path.exists() else 0
        if size + len(lines) > self.file_limit:
            self._dropped += len(self._memory)
            log.error("Spill file %s is full: %d price snapshots dropped", self.spill_path, len(self._memory))
        else:
            spilled = self._spilled() + len(self._memory)
            self.spill_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self.spill_path.open("a", encoding="utf-8") as spill:
                spill.write(lines)
            # Counted as written, so the file is not read again to count what this run appended.
            self._counted = (self.spill_path.stat().st_size, spilled)
            log.warning("Database still away: %d Kalshi price snapshots spilled to %s", spilled, self.spill_path)
        self._memory = []

    def _spilled(self) -> int:
        """Snapshots in the spill file, whoever wrote it: it is counted anew when its size
        changed (a standby's lane is built long before it leads, and a file left by a run that
        stopped mid-outage is taken over); what this run appends it counts as it writes."""
        size = self.spill_path.stat().st_size if self.spill_path.exists() else 0
        if size == 0:
            self._counted = (0, 0)
        elif size != self._counted[0]:
            with self.spill_path.open(encoding="utf-8") as spill:
                self._counted = (size, sum(1 for line in spill if line.strip()))
        return self._counted[1]

    def _read_spilled(self) -> list[MarketSnapshot]:
        if not self.spill_path.exists():  # none, or another run of the daemon wrote it meanwhile
            return []
        snapshots = []
        with self.spill_path.open(encoding="utf-8") as spill:
            for number, line in enumerate(spill, 1):
                try:
                    snapshots.append(_snapshot(json.loads(line)))
                except (ValueError, KeyError, TypeError) as error:  # a torn last line (a crash mid-write)
                    log.error("Skipping line %d of %s: %s", number, self.spill_path, error)
        return snapshots


def _record(snap: MarketSnapshot) -> dict[str, Any]:
    record: dict[str, Any] = {"ticker": snap.ticker, "ts": snap.ts.isoformat()}
    record.update({name: _text(getattr(snap, name)) for name in _DECIMALS})
    record.update(game_id=snap.game_id, event_ticker=snap.event_ticker)
    return record


def _snapshot(record: dict[str, Any]) -> MarketSnapshot:
    decimals = {name: None if record[name] is None else Decimal(record[name]) for name in _DECIMALS}
    return MarketSnapshot(
        ticker=record["ticker"],
        ts=datetime.fromisoformat(record["ts"]),
        game_id=record["game_id"],
        event_ticker=record["event_ticker"],
        **decimals,
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
