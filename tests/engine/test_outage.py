"""What the engine keeps while the database is away: when the outage began, which events it held
back, and the Kalshi prices it could not write (in memory, then in a spill file)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.events import system_event
from nfl_sync.domain.models import MarketSnapshot
from nfl_sync.engine.held_prices import HeldSnapshots
from nfl_sync.engine.outage import DatabaseWatch, HeldEvents

T0 = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)


def test_the_unreachable_alert_comes_once_per_outage_after_its_threshold():
    watch = DatabaseWatch(alert_after=30)
    assert watch.failed(T0, "refused") == []
    assert watch.failed(T0 + timedelta(seconds=29), "refused") == []
    [alert] = watch.failed(T0 + timedelta(seconds=30), "refused")
    assert alert.fields()["level"] == "critical" and "unreachable for 30 s" in alert.fields()["message"]
    assert watch.failed(T0 + timedelta(seconds=60), "refused") == []
    watch.succeeded(T0 + timedelta(seconds=61))
    later = T0 + timedelta(hours=1)
    watch.failed(later, "refused")
    [second] = watch.failed(later + timedelta(seconds=45), "refused")
    assert second.key != alert.key


def test_a_held_event_is_marked_with_its_first_detection_until_written():
    held = HeldEvents()
    first = system_event("warning", "x", "m", T0, "k")
    again = system_event("warning", "x", "m", T0 + timedelta(seconds=60), "k")
    assert held.marked([first]) == [first]
    held.hold([first], T0)
    held.hold([again], T0 + timedelta(seconds=30))  # the first detection is kept
    [marked] = held.marked([again])
    assert marked.held_since == T0 and marked.held_seconds == 60
    held.written([again])
    assert held.marked([again]) == [again] and len(held) == 0


def _snap(n: int) -> MarketSnapshot:
    return MarketSnapshot(
        ticker=f"KXNFLGAME-26NOV29GBATL-{n}",
        ts=T0 + timedelta(seconds=5 * n),
        yes_bid=Decimal("0.41"),
        yes_ask=Decimal("0.4250"),
        last_price=None,
        volume=Decimal(1000 + n),
        game_id="401547417",
        event_ticker="KXNFLGAME-26NOV29GBATL",
    )


def test_held_prices_spill_to_a_file_in_order_and_a_new_run_takes_them_over(tmp_path):
    spill = tmp_path / "held" / "kalshi_prices.jsonl"
    held = HeldSnapshots(spill, memory_limit=3)
    snaps = [_snap(n) for n in range(8)]
    held.hold(snaps[:2])
    assert not spill.exists()
    held.hold(snaps[2:5])  # beyond memory: spilled
    held.hold(snaps[5:])
    assert spill.exists() and len(held) == 8
    assert held.held() == snaps
    # A daemon stopped during the outage: the next one finds them.
    assert HeldSnapshots(spill, memory_limit=3).held() == snaps[:5]
    held.clear()
    assert not spill.exists() and len(held) == 0 and held.held() == []


def test_a_standby_built_while_a_spill_existed_finds_it_gone_without_error(tmp_path):
    """The standby's lane is built while the leader holds a spill; the leader writes it and dies."""
    spill = tmp_path / "kalshi_prices.jsonl"
    leader = HeldSnapshots(spill, memory_limit=1)
    leader.hold([_snap(n) for n in range(3)])
    standby = HeldSnapshots(spill)
    leader.clear()
    assert len(standby) == 0 and standby.held() == []
    leader.hold([_snap(n) for n in range(3, 6)])  # another outage later, then the leader died
    assert len(standby) == 3 and standby.held() == [_snap(3), _snap(4), _snap(5)]  # beyond memory: spilled


def test_a_full_spill_file_drops_the_newest_and_keeps_the_rest(tmp_path):
    spill = tmp_path / "kalshi_prices.jsonl"
    held = HeldSnapshots(spill, memory_limit=1, file_limit=600)
    held.hold([_snap(0), _snap(1)])
    held.hold([_snap(2), _snap(3), _snap(4), _snap(5)])  # would pass the file's limit
    assert held.held() == [_snap(0), _snap(1)]
