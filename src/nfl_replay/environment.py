"""What every replay shares, whatever serves it (finished summaries or a recorded session): the
daemon's settings pointed at local fake servers, and how long before a kickoff a replay starts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from nfl_sync.config import Settings

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
