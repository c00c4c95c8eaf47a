"""What every replay shares, whatever serves it (finished summaries or a recorded session): the
daemon's settings pointed at local fake servers, how long before a kickoff a replay starts, and
when the daemon has nothing left to do."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from nfl_sync.config import Settings

if TYPE_CHECKING:
    from nfl_sync.engine.sync import NFLRealtimeSync

PREGAME = timedelta(minutes=2)
UNLIMITED = 1e9  # rate limits and cadences that do not apply to local fake servers


def replay_settings(base: Settings, *, espn_base_url: str, espn_core_base_url: str, kalshi_base_url: str) -> Settings:
    """`base` pointed at the fake servers; sources that have no fake (weather, odds) are off, and
    so is `--record` (a replay recorded into a live recording's folder would corrupt it)."""
    return replace(
        base,
        espn_base_url=espn_base_url,
        espn_core_base_url=espn_core_base_url,
        kalshi_base_url=kalshi_base_url,
        espn_rate_per_second=UNLIMITED,
        espn_rate_per_minute=int(UNLIMITED),
        kalshi_reads_per_second=UNLIMITED,
        weather_interval=0.0,
        odds_api_key=None,
        kalshi_api_key_id=None,
        kalshi_private_key_path=None,
        idle_poll_interval=base.sync_interval,
        record_dir=None,
        # The report measures market reactions on the stored prices: a replay spanning months of
        # simulated time must not prune the first games' prices.
        price_retention_days=0.0,
    )


def nothing_waiting(sync: NFLRealtimeSync) -> bool:
    """Every summary asked for fetched, every reaction measured and refresh made (`caught_up`),
    and every alert delivered: a replay may skip time, or end."""
    return sync.caught_up() and sync.alerts.pending_count() == 0
