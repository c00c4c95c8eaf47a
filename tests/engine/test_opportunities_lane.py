"""The opportunities lane on the real embedded PostgreSQL: the view refreshed every minute while a
game is live and once at its final, never otherwise; a failed refresh costs one step."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from factories import KICKOFF, game, game_market, play
from helpers import FakeClock
from nfl_sync.app import build_sync, close_sync
from nfl_sync.config import load_settings
from nfl_sync.domain.models import MarketSnapshot, WinProbability
from nfl_sync.engine.opportunities import FINAL_SETTLE_POLLS, REFRESH_INTERVAL, OpportunitiesLane
from nfl_sync.engine.report import CycleReport
from nfl_sync.storage.manager import NFLDBManager

GAME = "401547417"


@pytest.fixture
def rig(db, tmp_path):
    clock = FakeClock(KICKOFF + timedelta(minutes=5))
    settings = load_settings({"LOG_DIR": str(tmp_path), "DB_HOLD_DIR": str(tmp_path / "held")})
    sync = build_sync(settings, clock=clock, db=db, restore=False)
    lane = next(lane for lane in sync.lanes if isinstance(lane, OpportunitiesLane))
    yield sync, lane, clock
    close_sync(sync)


def _due(lane: OpportunitiesLane, clock: FakeClock) -> bool:
    wait = lane.wait_time(clock.monotonic(), clock.now())
    return wait is not None and wait <= 0


def _run(sync, lane: OpportunitiesLane, clock: FakeClock) -> CycleReport:
    report = CycleReport(started=clock.now())
    lane.last_run = clock.monotonic()
    sync.runner.run(lane, report)
    return report


def _price(db, at, bid: str) -> None:
    market = game_market("ATL")
    ask = str(Decimal(bid) + Decimal("0.02"))
    db.run(lambda tx: tx.markets.upsert_markets([market]))
    snap = MarketSnapshot(market.ticker, at, Decimal(bid), Decimal(ask), None, Decimal(1), game_id=GAME)
    db.run(lambda tx: tx.markets.insert_price_snapshots([snap]))


def _view(db) -> list[tuple]:
    rows = db.run(lambda tx: tx.analytics.kalshi_opportunities(Decimal(0)))
    return [(r["ticker"], r["market_prob"], r["state"]) for r in rows]


def test_refreshed_every_minute_while_live_and_once_at_the_final(db, rig):
    sync, lane, clock = rig
    assert not _due(lane, clock)  # no game known: nothing to refresh

    db.run(lambda tx: tx.games.upsert_game(game()))
    first = play(n=1)
    db.run(lambda tx: tx.games.insert_plays([first]))
    db.run(lambda tx: tx.games.insert_win_probabilities([WinProbability(GAME, first.play_id, Decimal("0.6"))]))
    _price(db, clock.now(), "0.40")
    sync.board.update([game()])
    assert _due(lane, clock)
    assert _run(sync, lane, clock).failures == {}
    assert _view(db) == [("KXNFLGAME-23SEP17GBATL-ATL", Decimal("0.41"), "in")]

    clock.advance(REFRESH_INTERVAL / 2)
    _price(db, clock.now(), "0.50")
    assert not _due(lane, clock)
    clock.advance(REFRESH_INTERVAL / 2)
    assert _due(lane, clock)
    _run(sync, lane, clock)
    assert _view(db) == [("KXNFLGAME-23SEP17GBATL-ATL", Decimal("0.51"), "in")]

    clock.advance(5)
    final = game(state="post", status="STATUS_FINAL", home_score=24, away_score=25)
    db.run(lambda tx: tx.games.upsert_game(final))
    sync.board.update([final])
    assert not _due(lane, clock)  # the Kalshi lane has not polled since the final whistle
    clock.advance(sync.settings.sync_interval)
    _price(db, clock.now(), "0.01")  # its poll after the final
    clock.advance((FINAL_SETTLE_POLLS - 1) * sync.settings.sync_interval)
    assert _due(lane, clock)  # polls after the final, not a minute later
    _run(sync, lane, clock)
    assert _view(db) == [("KXNFLGAME-23SEP17GBATL-ATL", Decimal("0.02"), "post")]
    clock.advance(REFRESH_INTERVAL * 10)
    assert not _due(lane, clock)  # once per final; no live game


def test_a_failed_refresh_is_logged_and_counted_and_the_lane_goes_on(db, rig):
    sync, lane, clock = rig
    sync.board.update([game()])
    # A server that is not there: the refresh fails as it would with the database away.
    away = NFLDBManager("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1", pool_min=1, pool_max=3)
    lane.shell = replace(lane.shell, db=away)
    before = sync.metrics.cycle_failures.labels("opportunities")._value.get()

    try:
        report = _run(sync, lane, clock)
    finally:
        away.close()

    assert "opportunities" in report.failures
    assert sync.metrics.cycle_failures.labels("opportunities")._value.get() == before + 1
    clock.advance(REFRESH_INTERVAL)
    assert _due(lane, clock)  # tried again a minute later


def test_a_failed_refresh_at_a_final_waits_a_refresh_interval_before_the_next_try(db, rig):
    sync, lane, clock = rig
    sync.board.update([game(state="post", status="STATUS_FINAL")])
    assert lane.wait_time(clock.monotonic(), clock.now()) > 0  # seen final: the settle time first
    clock.advance(FINAL_SETTLE_POLLS * sync.settings.sync_interval)
    assert _due(lane, clock)
    away = NFLDBManager("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1", pool_min=1, pool_max=3)
    lane.shell = replace(lane.shell, db=away)
    try:
        assert "opportunities" in _run(sync, lane, clock).failures
    finally:
        away.close()

    assert not _due(lane, clock)  # not again at once: a database away must not make the lane spin
    clock.advance(REFRESH_INTERVAL - 1)
    assert not _due(lane, clock)
    clock.advance(1)
    assert _due(lane, clock)
