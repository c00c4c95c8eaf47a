"""The repositories on a real PostgreSQL: idempotent upserts, plays by COPY, prices, injuries, analytics."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from factories import game, play


def _row(db, game_id="401547417"):
    return db.run(lambda tx: tx.games.game(game_id))


def test_upsert_keeps_one_row_with_latest_score_and_moving_last_updated(db):
    db.run(lambda tx: tx.games.upsert_game(game(home_score=0, away_score=0)))
    first = _row(db)
    time.sleep(0.01)  # now() must move between the two transactions
    db.run(lambda tx: tx.games.upsert_game(game(home_score=7, away_score=3, period=2, clock="4:12")))
    second = _row(db)
    count = db.run(lambda tx: (tx.cur.execute("SELECT count(*) AS n FROM nfl_games"), tx.cur.fetchone()["n"])[1])
    assert count == 1
    assert (second["home_score"], second["away_score"], second["period"], second["clock"]) == (7, 3, 2, "4:12")
    assert second["last_updated"] > first["last_updated"]


def test_partial_update_does_not_erase_known_values(db):
    db.run(
        lambda tx: tx.games.upsert_game(
            game(home_score=14, away_score=10, venue_name="Mercedes-Benz Stadium", possession="ATL")
        )
    )
    db.run(
        lambda tx: tx.games.upsert_game(
            game(home_score=None, away_score=None, venue_name=None, possession=None, season=None)
        )
    )
    row = _row(db)
    assert (row["home_score"], row["away_score"]) == (14, 10)
    assert row["venue_name"] == "Mercedes-Benz Stadium"
    assert row["possession"] == "ATL"
    assert row["season"] == 2023


def test_a_final_game_never_moves_back_to_live(db):
    db.run(lambda tx: tx.games.upsert_game(game(home_score=25, away_score=24, state="post", status="STATUS_FINAL")))
    db.run(lambda tx: tx.games.upsert_game(game(home_score=25, away_score=24, state="in", status="STATUS_IN_PROGRESS")))
    row = _row(db)
    assert (row["state"], row["status"], row["is_live"]) == ("post", "STATUS_FINAL", False)


def test_a_postponed_or_canceled_game_is_not_sticky_and_goes_live_again(db):
    db.run(lambda tx: tx.games.upsert_game(game(state="pre", phase="postponed", status="STATUS_POSTPONED")))
    assert (_row(db)["state"], _row(db)["phase"]) == ("pre", "postponed")
    db.run(lambda tx: tx.games.upsert_game(game(state="post", phase="canceled", status="STATUS_CANCELED")))
    assert (_row(db)["state"], _row(db)["phase"]) == ("post", "canceled")
    db.run(lambda tx: tx.games.upsert_game(game(home_score=3)))  # played after all
    row = _row(db)
    assert (row["state"], row["phase"], row["is_live"], row["home_score"]) == ("in", "in_progress", True, 3)


def test_a_dropped_play_is_kept_marked_left_out_of_the_view_and_revived_when_listed_again(db):
    db.run(lambda tx: tx.games.upsert_game(game()))
    plays = [play(n=n) for n in range(1, 4)]
    db.run(lambda tx: tx.games.insert_plays(plays))
    when = datetime(2023, 9, 17, 18, 0, tzinfo=UTC)
    assert db.run(lambda tx: tx.games.mark_plays_deleted("401547417", [plays[1].play_id], when)) == 1
    assert db.run(lambda tx: tx.games.mark_plays_deleted("401547417", [plays[1].play_id], when)) == 0

    def visible(tx):
        tx.cur.execute("SELECT play_id FROM v_nfl_plays WHERE game_id = %s ORDER BY sequence_number", ("401547417",))
        return [row["play_id"] for row in tx.cur.fetchall()]

    assert db.run(visible) == [plays[0].play_id, plays[2].play_id]
    stored = {row["play_id"]: row for row in db.run(lambda tx: tx.games.plays("401547417"))}
    assert stored[plays[1].play_id]["deleted_at"] == when  # kept for history
    state = db.run(lambda tx: tx.ops.detection_state())["games"][0]
    assert {p["play_id"]: p["deleted"] for p in state["plays"]} == {
        plays[0].play_id: False,
        plays[1].play_id: True,
        plays[2].play_id: False,
    }
    assert db.run(lambda tx: tx.games.insert_plays([plays[1]])) == 0  # listed again: not new, alive
    assert db.run(visible) == [p.play_id for p in plays]


def test_batch_play_insert_twice_leaves_one_copy_and_counts_new_rows(db):
    db.run(lambda tx: tx.games.upsert_game(game()))
    plays = [play(n=n) for n in range(1, 501)]
    assert db.run(lambda tx: tx.games.insert_plays(plays)) == 500
    assert db.run(lambda tx: tx.games.insert_plays(plays)) == 0
    edited = [replace(plays[0], text="corrected text"), play(n=501)]
    assert db.run(lambda tx: tx.games.insert_plays(edited)) == 1
    stored = db.run(lambda tx: tx.games.plays("401547417"))
    assert len(stored) == 501
    assert stored[0]["text"] == "corrected text"


def test_a_nul_in_a_play_from_anywhere_is_dropped_rather_than_failing_the_transaction(db):
    db.run(lambda tx: tx.games.upsert_game(game()))
    assert db.run(lambda tx: tx.games.insert_plays([play(text="Kelce\x00 catch", type="Pass\x00")])) == 1
    stored = db.run(lambda tx: tx.games.plays("401547417"))[0]
    assert (stored["text"], stored["type"]) == ("Kelce catch", "Pass")


def test_explain_of_live_games_query_uses_the_partial_index(db):
    db.run(
        lambda tx: tx.games.upsert_games(
            [
                game(
                    game_id=str(400000000 + n),
                    state="post" if n % 10 else "in",
                    status="STATUS_FINAL" if n % 10 else "STATUS_IN_PROGRESS",
                )
                for n in range(300)
            ]
        )
    )

    def plan(tx):
        tx.cur.execute("ANALYZE nfl_games")
        tx.cur.execute("SET LOCAL enable_seqscan = off")
        tx.cur.execute("EXPLAIN SELECT * FROM v_nfl_live_games")
        return "\n".join(row["QUERY PLAN"] for row in tx.cur.fetchall())

    assert "idx_nfl_games_live" in db.run(plan)


def test_sync_log_records_duration(db):
    start = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    db.run(
        lambda tx: tx.ops.log_syncs([("scoreboard", start, start + timedelta(milliseconds=1250), "success", 16, None)])
    )
    perf = db.run(lambda tx: (tx.cur.execute("SELECT * FROM nfl_data_sync_log"), tx.cur.fetchone())[1])
    assert (perf["duration_ms"], perf["records"], perf["sync_status"]) == (1250, 16, "success")


def test_injury_upsert_reports_only_new_player_status_dates(db):
    from nfl_sync.domain.models import Injury

    seen = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    out = Injury(
        player_id="4426502",
        player="Sam LaPorta",
        team="DET",
        position="TE",
        status="Out",
        injury="Back",
        reported_at=seen,
    )
    questionable = replace(out, player_id="1", player="Other Player", status="Questionable")
    assert db.run(lambda tx: tx.games.upsert_injuries([out, questionable, out], seen)) == [out, questionable]
    assert db.run(lambda tx: tx.games.upsert_injuries([out], seen + timedelta(hours=1))) == []
    next_day = replace(out, reported_at=seen + timedelta(days=1))
    assert db.run(lambda tx: tx.games.upsert_injuries([next_day], seen + timedelta(days=1))) == [next_day]


def test_odds_history_keeps_each_change_of_each_market_and_no_repeat(db):
    from decimal import Decimal

    from nfl_sync.domain.models import OddsLine

    db.run(lambda tx: tx.games.upsert_game(game()))
    opening = OddsLine("ESPN BET", "ATL", "GB", "401547417", spread=Decimal("1.5"), over_under=Decimal("40.5"))
    opening = replace(opening, home_moneyline=-110, away_moneyline=-110)
    spread_moves = replace(opening, spread=Decimal("2.5"))
    total_moves = replace(spread_moves, over_under=Decimal("41.5"))
    polls = [opening, opening, spread_moves, spread_moves, total_moves]
    start = datetime(2023, 9, 17, 16, 0, tzinfo=UTC)
    for minute, line in enumerate(polls):
        db.run(lambda tx, line=line, minute=minute: tx.games.upsert_odds([line], start + timedelta(minutes=minute)))
    db.run(lambda tx: tx.games.upsert_odds([total_moves], start + timedelta(minutes=4)))  # the same poll again

    def history(tx):
        tx.cur.execute(
            "SELECT market, line, home_moneyline, away_moneyline, observed_at FROM nfl_odds_history "
            "ORDER BY market, observed_at"
        )
        return [tuple(row.values()) for row in tx.cur.fetchall()]

    at = [start + timedelta(minutes=m) for m in range(5)]
    assert db.run(history) == [
        ("moneyline", None, -110, -110, at[0]),
        ("spread", Decimal("1.50"), None, None, at[0]),
        ("spread", Decimal("2.50"), None, None, at[2]),
        ("total", Decimal("40.50"), None, None, at[0]),
        ("total", Decimal("41.50"), None, None, at[4]),
    ]
    latest = db.run(lambda tx: (tx.cur.execute("SELECT spread, over_under FROM nfl_odds"), tx.cur.fetchall())[1])
    assert [tuple(r.values()) for r in latest] == [(Decimal("2.50"), Decimal("41.50"))]


def test_price_snapshots_of_stored_markets_once_each_with_known_games_only(db):
    from decimal import Decimal

    from nfl_sync.domain.models import KalshiMarket, MarketSnapshot

    t = datetime(2023, 9, 17, 18, 0, tzinfo=UTC)
    db.run(lambda tx: tx.games.upsert_game(game()))
    markets = [
        KalshiMarket(f"KXNFLGAME-23SEP17GBATL-{team}", "KXNFLGAME-23SEP17GBATL", "KXNFLGAME", None, "active")
        for team in ("ATL", "GB")
    ]
    db.run(lambda tx: tx.markets.upsert_markets(markets))
    atl, gb = (m.ticker for m in markets)
    first = [
        MarketSnapshot(atl, t, Decimal("0.61"), Decimal("0.63"), None, Decimal("10.5"), None, "401547417"),
        MarketSnapshot(gb, t, Decimal("0.37"), None, Decimal("0.38"), Decimal(4), Decimal(2), "999"),  # no such game
        MarketSnapshot("KXNFLGAME-23SEP17GBATL-TIE", t, Decimal("0.01"), Decimal("0.02"), None, None),
    ]  # not stored
    assert db.run(lambda tx: tx.markets.insert_price_snapshots(first)) == 2
    assert (
        db.run(
            lambda tx: tx.markets.insert_price_snapshots(first[:1] + [replace(first[1], ts=t + timedelta(seconds=5))])
        )
        == 1
    )
    assert db.run(lambda tx: tx.markets.insert_price_snapshots([])) == 0
    rows = db.run(
        lambda tx: (
            tx.cur.execute(
                "SELECT ticker, ts, yes_bid, yes_ask, last_price, volume, open_interest, "
                "game_id FROM nfl_kalshi_prices ORDER BY ts, ticker"
            ),
            tx.cur.fetchall(),
        )[1]
    )
    assert [tuple(r.values()) for r in rows] == [
        (atl, t, Decimal("0.6100"), Decimal("0.6300"), None, Decimal("10.50"), None, "401547417"),
        (gb, t, Decimal("0.3700"), None, Decimal("0.3800"), Decimal("4.00"), Decimal("2.00"), None),
        (
            gb,
            t + timedelta(seconds=5),
            Decimal("0.3700"),
            None,
            Decimal("0.3800"),
            Decimal("4.00"),
            Decimal("2.00"),
            None,
        ),
    ]


def test_analytics_queries_and_the_opportunities_view(db):
    from decimal import Decimal

    from nfl_sync.domain.models import Correlation, KalshiMarket, MarketSnapshot, WinProbability

    t = datetime(2023, 9, 17, 18, 0, tzinfo=UTC)
    db.run(lambda tx: tx.games.upsert_game(game(home_score=7, away_score=0, home_win_pct=Decimal("0.700000"))))
    td = play(n=5, home_score=7, scoring_play=True, score_value=7, text="Robinson 5 yd run", team="ATL")
    db.run(lambda tx: tx.games.insert_plays([play(n=4), td]))
    db.run(lambda tx: tx.games.insert_win_probabilities([WinProbability("401547417", td.play_id, Decimal("0.7"))]))
    market = KalshiMarket(
        "KXNFLGAME-23SEP17GBATL-ATL",
        "KXNFLGAME-23SEP17GBATL",
        "KXNFLGAME",
        "ATL wins",
        "active",
        market_kind="game",
        away_team="GB",
        home_team="ATL",
        team="ATL",
        game_id="401547417",
    )
    db.run(lambda tx: tx.markets.upsert_markets([market]))
    db.run(
        lambda tx: tx.markets.insert_price_snapshots(
            [
                MarketSnapshot(
                    market.ticker,
                    t,
                    Decimal("0.50"),
                    Decimal("0.52"),
                    Decimal("0.51"),
                    Decimal(10),
                    game_id="401547417",
                ),
                MarketSnapshot(
                    market.ticker,
                    t + timedelta(seconds=5),
                    Decimal("0.58"),
                    Decimal("0.60"),
                    Decimal("0.59"),
                    Decimal(20),
                    game_id="401547417",
                ),
            ]
        )
    )
    db.run(
        lambda tx: tx.markets.insert_correlations(
            [
                Correlation(
                    "401547417",
                    td.play_id,
                    market.ticker,
                    "touchdown",
                    Decimal("0.51"),
                    Decimal("0.59"),
                    Decimal("15.69"),
                    "high",
                    Decimal("5.0"),
                    t,
                    t,
                )
            ]
        )
    )
    recent = datetime.now(UTC) - timedelta(minutes=1)  # the view covers the last 24 hours
    db.run(
        lambda tx: tx.ops.log_syncs(
            [
                ("scoreboard", recent, recent + timedelta(milliseconds=40), "success", 1, None),
                ("kalshi", recent, recent + timedelta(milliseconds=10), "failed", 0, "kalshi /markets: timed out"),
            ]
        )
    )

    assert [r["game_id"] for r in db.run(lambda tx: tx.analytics.live_games())] == ["401547417"]
    assert [(r["play_id"], r["score_value"]) for r in db.run(lambda tx: tx.analytics.scoring_summary("401547417"))] == [
        (td.play_id, 7)
    ]
    stats = db.run(lambda tx: tx.analytics.correlation_stats())
    assert [(r["event_type"], r["impact_level"], r["n"], r["avg_change_pct"]) for r in stats] == [
        ("touchdown", "high", 1, Decimal("15.69"))
    ]
    perf = db.run(lambda tx: tx.analytics.sync_performance())
    assert [(r["sync_type"], r["runs"], r["failures"], r["avg_duration_ms"]) for r in perf] == [
        ("kalshi", 1, 1, 10),
        ("scoreboard", 1, 0, 40),
    ]
    db.refresh_opportunities()
    db.refresh_opportunities()  # CONCURRENTLY needs the unique index; twice proves it is refreshable
    opportunities = db.run(lambda tx: tx.analytics.kalshi_opportunities(Decimal("0.05")))
    assert [(r["ticker"], r["market_prob"], r["edge"]) for r in opportunities] == [
        (market.ticker, Decimal("0.59"), Decimal("0.110000"))
    ]
