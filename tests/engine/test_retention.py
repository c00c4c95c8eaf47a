"""Retention on the real database: snapshots rolled up into 1-minute candles (idempotently) before
they are pruned, the sync log pruned by age, both in small batches, on the injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from helpers import FakeClock, rows
from nfl_sync.config import load_settings
from nfl_sync.domain.models import KalshiMarket, MarketSnapshot
from nfl_sync.engine import periodic
from nfl_sync.engine.periodic import RetentionLane
from nfl_sync.engine.report import CycleReport
from nfl_sync.engine.shell import Shell
from nfl_sync.health import HealthMonitor
from nfl_sync.metrics import Metrics

NOW = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)
TICKER = "KXNFLGAME-26NOV29GBATL-ATL"


def lane(db, **settings) -> RetentionLane:
    config = replace(load_settings({}), **settings)
    return RetentionLane(Shell(config, FakeClock(NOW), db, None, None, None, Metrics(), HealthMonitor()))  # type: ignore[arg-type]


def snap(at: datetime, bid: str | None, ask: str | None, last: str | None = None, volume: int = 10) -> MarketSnapshot:
    price = lambda text: None if text is None else Decimal(text)  # noqa: E731
    return MarketSnapshot(TICKER, at, price(bid), price(ask), price(last), Decimal(volume))


def store(db, snapshots) -> None:
    market = KalshiMarket(TICKER, "KXNFLGAME-26NOV29GBATL", "KXNFLGAME", None, "active")

    def write(tx):
        tx.markets.upsert_markets([market])
        tx.markets.insert_price_snapshots(snapshots)

    db.run(write)


def candles(db) -> list[tuple]:
    found = rows(db, "SELECT minute, open, high, low, close, volume, snapshots FROM nfl_kalshi_candles ORDER BY minute")
    return [tuple(r.values()) for r in found]


def test_candles_are_the_mid_per_minute_and_rolling_up_again_changes_nothing(db):
    minute = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    store(
        db,
        [
            snap(minute + timedelta(seconds=5), "0.40", "0.42", volume=10),
            snap(minute + timedelta(seconds=20), "0.50", "0.52", volume=12),
            snap(minute + timedelta(seconds=40), None, "0.47", last="0.45", volume=15),  # no bid: the last trade
            snap(minute + timedelta(seconds=65), "0.30", "0.34", volume=20),
        ],
    )
    span = (minute, minute + timedelta(minutes=2))
    assert db.run(lambda tx: tx.markets.roll_up_candles(*span)) == 2
    D = Decimal
    expected = [
        (minute, D("0.41"), D("0.51"), D("0.41"), D("0.45"), D(15), 3),
        (minute + timedelta(minutes=1), D("0.32"), D("0.32"), D("0.32"), D("0.32"), D(20), 1),
    ]
    assert candles(db) == expected
    assert db.run(lambda tx: tx.markets.roll_up_candles(*span)) == 0  # nothing to change
    assert candles(db) == expected
    store(db, [snap(minute + timedelta(seconds=50), "0.60", "0.62", volume=16)])  # written late
    db.run(lambda tx: tx.markets.roll_up_candles(*span))
    assert candles(db)[0] == (minute, D("0.41"), D("0.61"), D("0.41"), D("0.61"), D(16), 4)


def test_old_snapshots_are_rolled_up_then_pruned_in_batches_and_the_old_sync_log_too(db, monkeypatch):
    old = [snap(NOW - timedelta(days=95, minutes=n), "0.40", "0.42") for n in range(7)]
    recent = [snap(NOW - timedelta(days=1, minutes=n), "0.50", "0.52") for n in range(3)]
    store(db, old + recent)
    log = [
        (lane, NOW - timedelta(days=age), NOW - timedelta(days=age), "success", 1, None)
        for lane, age in [("scoreboard", 45), ("kalshi", 31), ("scoreboard", 29), ("kalshi", 0)]
    ]
    db.run(lambda tx: tx.ops.log_syncs(log))
    monkeypatch.setattr(periodic, "PRUNE_BATCH", 2)
    monkeypatch.setattr(periodic, "PRUNE_BATCHES_PER_RUN", 3)
    # Candles from the oldest snapshot on: 95 days is more than one run's windows.
    monkeypatch.setattr(periodic, "ROLLUP_WINDOWS_PER_RUN", 10_000)
    retention = lane(db)

    retention.step(CycleReport(started=NOW))
    # At most 3 batches of 2: one old snapshot is left for the next run.
    assert len(rows(db, "SELECT 1 FROM nfl_kalshi_prices")) == 3 + 1
    assert [
        r["age"]
        for r in rows(db, "SELECT extract(day FROM %s - started_at) AS age FROM nfl_data_sync_log ORDER BY 1", NOW)
    ] == [0, 29]
    retention.step(CycleReport(started=NOW))
    kept = rows(db, "SELECT ts FROM nfl_kalshi_prices ORDER BY ts")
    assert [r["ts"] for r in kept] == sorted(s.ts for s in recent)
    # Every snapshot pruned is in its candle, kept for ever.
    minutes = {r["minute"] for r in rows(db, "SELECT minute FROM nfl_kalshi_candles")}
    assert {s.ts.replace(second=0, microsecond=0) for s in old + recent} <= minutes


def test_snapshots_not_rolled_up_yet_are_not_pruned(db, monkeypatch):
    store(db, [snap(NOW - timedelta(days=100, hours=8 * n), "0.40", "0.42") for n in range(3)])
    monkeypatch.setattr(periodic, "ROLLUP_WINDOWS_PER_RUN", 1)  # one 6-hour window a run
    retention = lane(db)
    retention.step(CycleReport(started=NOW))
    # Only the oldest snapshot's window is rolled up, so only it is pruned.
    assert len(rows(db, "SELECT 1 FROM nfl_kalshi_prices")) == 2
    assert len(rows(db, "SELECT 1 FROM nfl_kalshi_candles")) == 1


@pytest.mark.parametrize("setting", ["price_retention_days", "sync_log_retention_days"])
def test_zero_days_keeps_everything(db, setting):
    store(db, [snap(NOW - timedelta(days=400), "0.40", "0.42")])
    db.run(
        lambda tx: tx.ops.log_syncs(
            [("kalshi", NOW - timedelta(days=400), NOW - timedelta(days=400), "success", 1, None)]
        )
    )
    lane(db, **{setting: 0.0}).step(CycleReport(started=NOW))
    table = "nfl_kalshi_prices" if setting == "price_retention_days" else "nfl_data_sync_log"
    assert len(rows(db, f"SELECT 1 FROM {table}")) == 1


def test_a_week_without_snapshots_does_not_hold_the_roll_up_back(db):
    last_week = NOW - timedelta(days=7)
    store(db, [snap(last_week, "0.40", "0.42")])
    retention = lane(db)
    retention.step(CycleReport(started=NOW))
    # This week's game: one run more rolls it up, and a minute re-rolled within the lookback too.
    store(
        db, [snap(NOW - timedelta(minutes=30), "0.50", "0.52"), snap(last_week + timedelta(seconds=10), "0.44", "0.46")]
    )
    retention.step(CycleReport(started=NOW))
    found = rows(db, "SELECT minute, snapshots FROM nfl_kalshi_candles ORDER BY minute")
    assert [(r["minute"], r["snapshots"]) for r in found] == [
        (last_week.replace(second=0), 2),
        ((NOW - timedelta(minutes=30)).replace(second=0), 1),
    ]
