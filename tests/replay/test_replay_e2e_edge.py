"""End to end, edge alerts and the opportunities view on a replayed game: GB @ ATL's last 40
minutes with its synthetic ATL price shifted 25 cents above ESPN's win probability (so GB's market
trails ESPN by as much), and again with the market agreeing with ESPN (no lag, no shift)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest

from e2e_recording import GB_ATL
from nfl_replay.runner import ReplayEnvironment
from nfl_sync.app import close_sync

pytest.register_assert_rewrite("e2e_support")

from e2e_support import alert_rows, arrivals, assert_telegram_exactly_once, query, replayed, start_daemon  # noqa: E402

pytest_plugins = ["replay_support"]

WINDOW = timedelta(minutes=40)  # of replayed time, to the final
COOLDOWN = timedelta(minutes=15)
BIAS_CENTS = 25


def _replay(telegram, database_url, tmp_path, **kalshi):
    timelines, recordings = replayed([GB_ATL])
    with ReplayEnvironment(timelines, **kalshi) as env:
        env.clock.set(recordings[GB_ATL].end - WINDOW)
        sync = start_daemon(env, telegram, database_url, tmp_path)
        try:
            sync.run_forever(until=lambda: env.finished(sync))
        finally:
            close_sync(sync)


def _edges(db) -> list[dict]:
    return [r for r in alert_rows(db) if r["alert_type"] == "edge"]


@pytest.mark.e2e
def test_a_market_out_of_line_with_espn_is_alerted_once_per_side_per_cooldown(db, database_url, telegram, tmp_path):
    _replay(telegram, database_url, tmp_path, kalshi_bias_cents=BIAS_CENTS)

    edges = _edges(db)
    assert edges, "no edge alert although GB's market trailed ESPN by 25 points"
    by_side = defaultdict(list)
    for row in edges:
        by_side[row["family"]].append(row)
    assert set(by_side) == {f"edge:{GB_ATL}:GB"}  # ATL's market is the dear one: never alerted
    for rows in by_side.values():
        sent = [r["event_time"] for r in rows if r["status"] == "sent"]
        assert all(b - a >= COOLDOWN for a, b in zip(sent, sent[1:], strict=False)), sent
    for row in edges:
        payload = row["payload"]["data"]
        espn, market = Decimal(str(payload["espn_probability"])), Decimal(str(payload["market_price"]))
        assert (espn - market) * 100 >= 15
        assert Decimal(str(payload["edge_points"])) == ((espn - market) * 100).quantize(Decimal("0.1"))
        assert {"home_score", "away_score", "period", "clock", "spread", "bid_size", "ask_size"} <= set(payload)
        assert "ESPN win probability" in row["message"] and "Top of book" in row["message"]
    assert_telegram_exactly_once(arrivals(telegram, alert_rows(db)), alert_rows(db))

    # The books read for the alerts were stored beside their snapshots.
    books = query(db, "SELECT o.*, p.yes_bid FROM nfl_kalshi_orderbook o JOIN nfl_kalshi_prices p USING (ticker, ts)")
    assert books and all(1 <= len(b["yes_price"]) <= 3 and b["yes_price"][0] == b["yes_bid"] for b in books)
    assert {len(b["yes_price"]) for b in books} >= {3}  # a book one cent off the floor has fewer levels
    # The view was refreshed (at the final, last): each market against ESPN as of its last price.
    view = query(db, "SELECT * FROM v_nfl_kalshi_opportunities ORDER BY ticker")
    assert [(r["team"], r["state"]) for r in view] == [("ATL", "post"), ("GB", "post")]
    assert all(r["espn_time"] <= r["price_time"] for r in view)


@pytest.mark.e2e
def test_no_edge_alert_when_the_market_agrees_with_espn(db, database_url, telegram, tmp_path):
    _replay(telegram, database_url, tmp_path, kalshi_lag_seconds=0)

    assert _edges(db) == []
    # With no candidate, each live game-winner market's book is still stored, once a minute.
    books = query(db, "SELECT ticker, ts FROM nfl_kalshi_orderbook ORDER BY ticker, ts")
    by_ticker = defaultdict(list)
    for book in books:
        by_ticker[book["ticker"]].append(book["ts"])
    assert set(by_ticker) == {"KXNFLGAME-23SEP17GBATL-ATL", "KXNFLGAME-23SEP17GBATL-GB"}
    for times in by_ticker.values():
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert len(times) >= 30 and all(gap >= timedelta(minutes=1) for gap in gaps), times
    assert len(query(db, "SELECT * FROM v_nfl_kalshi_opportunities")) == 2
