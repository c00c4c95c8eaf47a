"""Replays draw each replayed game's chart (`<game_id>.png`) so a backtest can be looked at."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from nfl_sync.alerts.charts import chart_png
from nfl_sync.storage.manager import NFLDBManager

log = logging.getLogger(__name__)


def write_charts(db: NFLDBManager, game_ids: Iterable[str], folder: Path) -> list[Path]:
    """Write `<game_id>.png` into `folder` (created) for each game with something to draw."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for game_id in game_ids:
        png = chart_png(db, game_id)
        if png is None:
            log.warning("Game %s has no play to chart", game_id)
            continue
        path = folder / f"{game_id}.png"
        path.write_bytes(png)
        written.append(path)
    return written
