"""The opportunities view and the stored order book tops, on the real embedded PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from factories import KICKOFF, game, game_market, play
from nfl_sync.domain.models import BookLevels, KalshiMarket, MarketSnapshot, WinProbability

GAME = "401547417"


def _snap(market: KalshiMarket, at, bid: str, ask: str) -> MarketSnapshot:
    return MarketSnapshot(market.ticker, at, Decimal(bid), Decimal(ask), None, Decimal(10), game_id=GAME)


def _rows(db) -> list[dict]:
    return db.run(
        lambda tx: (
            tx.cur.execute("SELECT * FROM v_nfl_kalshi_opportunities ORDER BY ticker"),
            tx.cur.fetchall(),
        )[1]
    )


def test_the_view_prices_each_market_against_espn_as_of_its_price_and_refreshes_concurrently(db):
    plays = [play(n=n) for n in (1, 2, 3)]  # wall clocks: kickoff + 30, 60, 90 s
    # The game's own (newest) probability is not what the view compares a past price with.
    db.run(lambda tx: tx.games.upsert_game(game(home_win_pct=Decimal("0.95"))))
    db.run(lambda tx: tx.games.insert_plays(plays))
    db.run(
        lambda tx: tx.games.insert_win_probabilities(
            [WinProbability(GAME, p.play_id, Decimal(pct)) for p, pct in zip(plays, ("0.5", "0.6", "0.9"), strict=True)]
        )
    )
    atl, gb = game_market("ATL"), game_market("GB")
    db.run(lambda tx: tx.markets.upsert_markets([atl, gb]))
    priced = KICKOFF + timedelta(seconds=75)  # after play 2, before play 3
    db.run(
        lambda tx: tx.markets.insert_price_snapshots(
            [_snap(atl, priced, "0.40", "0.42"), _snap(gb, priced, "0.58", "0.60")]
        )
    )
    assert _rows(db) == []  # never refreshed: empty

    db.refresh_opportunities()

    rows = {r["ticker"]: r for r in _rows(db)}
    assert {t: (r["espn_play_id"], r["espn_prob"], r["market_prob"], r["edge"]) for t, r in rows.items()} == {
        atl.ticker: (plays[1].play_id, Decimal("0.600000"), Decimal("0.41"), Decimal("0.190000")),
        gb.ticker: (plays[1].play_id, Decimal("0.400000"), Decimal("0.59"), Decimal("-0.190000")),
    }
    later = priced + timedelta(seconds=30)  # after play 3
    db.run(lambda tx: tx.markets.insert_price_snapshots([_snap(atl, later, "0.88", "0.90")]))
    db.refresh_opportunities()  # CONCURRENTLY again: the unique index allows it
    rows = {r["ticker"]: r for r in _rows(db)}
    assert (rows[atl.ticker]["price_time"], rows[atl.ticker]["espn_prob"], rows[atl.ticker]["edge"]) == (
        later,
        Decimal("0.900000"),
        Decimal("0.010000"),
    )
    assert rows[gb.ticker]["price_time"] == priced


def test_order_book_tops_are_stored_with_their_snapshot_idempotently(db):
    db.run(lambda tx: tx.games.upsert_game(game()))
    atl = game_market("ATL")
    db.run(lambda tx: tx.markets.upsert_markets([atl]))
    stored_at = KICKOFF + timedelta(minutes=1)
    db.run(lambda tx: tx.markets.insert_price_snapshots([_snap(atl, stored_at, "0.40", "0.42")]))
    book = BookLevels(
        atl.ticker,
        stored_at,
        ((Decimal("0.40"), Decimal("120.00")), (Decimal("0.39"), Decimal("50.00"))),
        ((Decimal("0.58"), Decimal("75.50")),),
    )
    unstored = BookLevels(atl.ticker, stored_at + timedelta(seconds=5), (), ())

    def read() -> list[dict]:
        return db.run(lambda tx: (tx.cur.execute("SELECT * FROM nfl_kalshi_orderbook"), tx.cur.fetchall())[1])

    db.run(lambda tx: tx.markets.upsert_book_levels([book, unstored]))
    db.run(lambda tx: tx.markets.upsert_book_levels([book]))
    rows = read()
    assert [(r["ts"], r["yes_price"], r["yes_size"], r["no_price"], r["no_size"]) for r in rows] == [
        (
            stored_at,
            [Decimal("0.4000"), Decimal("0.3900")],
            [Decimal("120.00"), Decimal("50.00")],
            [Decimal("0.5800")],
            [Decimal("75.50")],
        )
    ]
    # It goes with its snapshot (the snapshots' retention is the book's).
    db.run(lambda tx: tx.markets.prune_prices(stored_at + timedelta(seconds=1), 100))
    assert read() == []
