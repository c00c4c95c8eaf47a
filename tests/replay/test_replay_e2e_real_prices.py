"""End to end, a recorded game replayed with a Kalshi history folder: the fake Kalshi quotes the
history's prices, the daemon stores exactly them, and its play-to-price correlations are measured
on them. The history is tests/fixtures/kalshi/history (made-up prices in the shape
`download kalshi` saves; see its README)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from e2e_recording import GB_ATL
from helpers import FIXTURES
from nfl_replay.price_history import load_history
from nfl_replay.runner import ReplayEnvironment
from nfl_sync.app import close_sync

pytest.register_assert_rewrite("e2e_support")

from e2e_support import drained, query, replayed, start_daemon  # noqa: E402

pytest_plugins = ["replay_support"]

HISTORY = FIXTURES / "kalshi" / "history"
TICKERS = {"KXNFLGAME-23SEP17GBATL-GB", "KXNFLGAME-23SEP17GBATL-ATL"}


@pytest.mark.e2e
def test_a_game_with_history_replays_kalshis_recorded_prices(db, database_url, telegram, tmp_path):
    history = load_history([HISTORY])
    assert set(history) == TICKERS
    timelines, _ = replayed([GB_ATL])
    with ReplayEnvironment(timelines, price_history=history) as env:
        assert env.real_price_games == frozenset({GB_ATL})
        sync = start_daemon(env, telegram, database_url, tmp_path)
        try:
            sync.run_forever(until=lambda: env.finished(sync) and drained(sync))
        finally:
            close_sync(sync)

    prices = query(
        db,
        "SELECT ticker, ts, yes_bid, yes_ask, last_price, volume, open_interest FROM nfl_kalshi_prices "
        "WHERE game_id = %s ORDER BY ts",
        GB_ATL,
    )
    assert {row["ticker"] for row in prices} == TICKERS
    assert len(prices) > 200  # a quote that changes every minute, for both markets, over a whole game
    wrong = []
    for row in prices:
        quote = history[row["ticker"]].quote(row["ts"])
        expected = (quote.yes_bid, quote.yes_ask, quote.last_price, quote.volume, quote.open_interest)
        stored = (row["yes_bid"], row["yes_ask"], row["last_price"], row["volume"], row["open_interest"])
        if stored != expected:
            wrong.append((row["ticker"], row["ts"].isoformat(), stored, expected))
    assert wrong == []

    correlations = query(
        db,
        "SELECT ticker, play_time, seconds_after, price_before, price_after FROM nfl_kalshi_correlations "
        "WHERE game_id = %s AND event_type <> 'price_spike'",
        GB_ATL,
    )
    assert len(correlations) >= 20 and {row["ticker"] for row in correlations} == TICKERS
    stored_mids = {(row["ticker"], (row["yes_bid"] + row["yes_ask"]) / 2) for row in prices}
    for row in correlations:
        quote = history[row["ticker"]].quote(row["play_time"] + timedelta(seconds=float(row["seconds_after"])))
        assert row["price_after"] == (quote.yes_bid + quote.yes_ask) / 2
        assert (row["ticker"], row["price_before"]) in stored_mids
