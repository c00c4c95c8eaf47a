"""The composition root: builds every component of the daemon from the settings, in one place."""
from __future__ import annotations

import gc
import logging
from typing import Optional

from clock import Clock, SystemClock
from config import Settings
from kalshi_client import KalshiClient
from metrics import Metrics
from nfl_data_fetcher import NFLDataFetcher
from nfl_db_manager import NFLDBManager
from nfl_realtime_sync import NFLRealtimeSync
from telegram_notifier import build_notifier

log = logging.getLogger(__name__)


def build_sync(settings: Settings, *, clock: Optional[Clock] = None, dry_run: bool = False,
               db: Optional[NFLDBManager] = None, metrics: Optional[Metrics] = None,
               restore: bool = True) -> NFLRealtimeSync:
    """Connect the database (embedded when none is configured), apply the schema, and wire the
    sources, the alert outbox and the loop; `restore` loads detection state from the database.
    Nothing is fetched until the first cycle."""
    clock = clock or SystemClock()
    metrics = metrics or Metrics()
    if db is None:
        db = NFLDBManager.from_settings(settings, observer=lambda _name, seconds: metrics.db_time.observe(seconds))
    applied = db.apply_migrations()
    if applied:
        log.info("Database schema: applied %s", ", ".join(applied))
    fetcher = NFLDataFetcher(settings, clock, observer=metrics.observe_api)
    kalshi = KalshiClient(settings, clock, observer=metrics.observe_api)
    # Telegram's flood limits are in real seconds, whatever clock drives the loop (replays).
    alerts = build_notifier(settings, db, SystemClock(), console_only=dry_run, metrics=metrics)
    sync = NFLRealtimeSync(settings, clock=clock, db=db, fetcher=fetcher, kalshi=kalshi, alerts=alerts,
                           metrics=metrics)
    if restore:
        sync.restore_state()
    return sync


def close_sync(sync: NFLRealtimeSync, flush_seconds: float = 5.0) -> None:
    """Deliver what the outbox still holds (within `flush_seconds`), then release everything."""
    sync.close()
    sync.alerts.close(flush_seconds)
    sync.fetcher.close()
    sync.kalshi.close()
    sync.db.close()


GC_GEN0_THRESHOLD = 20_000


def tune_garbage_collection() -> None:
    """Called once the daemon is built, before its loop starts (it changes the whole process).

    Every new play brings a 0.2-0.4 MB summary, decoded into some 50,000 objects that die
    within the cycle. With the default threshold (700 allocations) each decode sets off dozens
    of collections, and the older generations keep walking the objects that live as long as the
    daemon (modules, settings, restored state). Freeze those, collect young objects in bigger
    batches: the decoded summaries then cost a third less."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
