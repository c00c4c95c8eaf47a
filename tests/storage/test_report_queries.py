"""The `report` command's figures on a real PostgreSQL, rows written through the repositories:
only New York's day counts, per lane runs, failures, mean and p95; alerts by type and outcome;
market moves by kind and impact level; the opportunities largest gap first; and the command
itself against the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from factories import KICKOFF, game, play
from helpers import with_database
from nfl_sync.cli import main
from nfl_sync.domain.daily_report import AlertCount, ImpactStat, Opportunity, SyncStat, day_bounds
from nfl_sync.domain.errors import DatabaseError
from nfl_sync.domain.models import Correlation, KalshiMarket, MarketSnapshot, WinProbability
from nfl_sync.storage.embedded import ensure_database
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.outbox import AlertRecord

DAY = date(2023, 9, 17)
START, END = day_bounds(DAY)  # 04:00 UTC to 04:00 UTC the next day (EDT)
NOON = datetime(2023, 9, 17, 16, 0, tzinfo=UTC)


def sync_rows(db):
    def step(lane, at, ms, status="success"):
        return (lane, at, at + timedelta(milliseconds=ms), status, 1, None if status == "success" else "boom")

    rows = [step("scoreboard", NOON + timedelta(seconds=5 * n), ms) for n, ms in enumerate(range(10, 210, 10))]
    rows += [step("kalshi", NOON, 100), step("kalshi", NOON + timedelta(seconds=5), 300, "failed")]
    rows += [step("scoreboard", START - timedelta(seconds=1), 9999), step("scoreboard", END, 9999)]  # other days
    db.run(lambda tx: tx.ops.log_syncs(rows))


def alert_rows(db):
    def alert(key, kind, status, at):
        return AlertRecord(key, kind, "high", "text", "telegram", status, at)

    def write(tx):
        sent = tx.outbox.insert_alert(alert("score:1", "score", "pending", NOON))
        tx.outbox.start_delivery_attempt(sent, "42")
        tx.outbox.mark_delivery_sent(sent, "42", NOON, "7", None)
        tx.outbox.finish_alert(sent)
        tx.outbox.insert_alert(alert("price:1", "kalshi_price", "suppressed", NOON))
        tx.outbox.insert_alert(alert("price:2", "kalshi_price", "suppressed", NOON))
        tx.outbox.insert_alert(alert("price:3", "kalshi_price", "pending", NOON))
        tx.outbox.insert_alert(alert("price:0", "kalshi_price", "pending", START - timedelta(minutes=1)))

    db.run(write)


def market_rows(db):
    plays = [play(n=n) for n in range(1, 5)]
    markets = [
        KalshiMarket(
            f"KXNFLGAME-23SEP17GBATL-{team}",
            "KXNFLGAME-23SEP17GBATL",
            "KXNFLGAME",
            f"{team} wins",
            "active",
            market_kind="game",
            away_team="GB",
            home_team="ATL",
            team=team,
            game_id="401547417",
        )
        for team in ("ATL", "GB")
    ]
    atl, gb = (m.ticker for m in markets)

    def corr(n, ticker, kind, pct, level, seconds, at=NOON):
        return Correlation(
            "401547417", plays[n].play_id, ticker, kind, None, None, Decimal(pct), level, Decimal(seconds), at, at
        )

    def write(tx):
        tx.games.upsert_game(game(home_win_pct=Decimal("0.70")))
        tx.games.insert_plays(plays)
        # The view compares a price with ESPN's probability as of the last play before it.
        tx.games.insert_win_probabilities([WinProbability("401547417", p.play_id, Decimal("0.70")) for p in plays])
        tx.markets.upsert_markets(markets)
        priced = KICKOFF + timedelta(minutes=10)
        tx.markets.insert_price_snapshots(
            [
                MarketSnapshot(atl, priced, Decimal("0.50"), Decimal("0.52"), None, Decimal(10), game_id="401547417"),
                MarketSnapshot(gb, priced, Decimal("0.25"), Decimal("0.27"), None, Decimal(10), game_id="401547417"),
            ]
        )
        tx.markets.insert_correlations(
            [
                corr(0, atl, "touchdown", "-25", "extreme", "5"),
                corr(1, atl, "interception", "30", "extreme", "6"),
                corr(2, atl, "interception", "40", "extreme", "10"),
                corr(0, gb, "touchdown", "12", "high", "5"),
                corr(3, atl, "price_spike", "-15", "high", "20"),
                corr(3, gb, "price_spike", "15", "high", "20", at=END + timedelta(hours=1)),  # the next day
            ]
        )

    db.run(write)
    db.refresh_opportunities()
    return atl, gb


def test_the_day_in_figures(db):
    sync_rows(db)
    alert_rows(db)
    atl, gb = market_rows(db)

    report = db.run(lambda tx: tx.analytics.daily_report(DAY))

    assert report.day == DAY
    assert report.sync == (
        SyncStat("kalshi", 2, 1, Decimal(200), Decimal(290), NOON + timedelta(seconds=5), NOON + timedelta(seconds=5)),
        SyncStat("scoreboard", 20, 0, Decimal(105), Decimal("190.5"), NOON + timedelta(seconds=95), None),
    )
    assert report.alerts == (
        AlertCount("kalshi_price", "pending", 1),
        AlertCount("kalshi_price", "suppressed", 2),
        AlertCount("score", "sent", 1),
    )
    assert report.impacts == (
        ImpactStat("play reaction", "extreme", 3, Decimal("31.67"), Decimal(30), Decimal(7), Decimal(6)),
        ImpactStat("play reaction", "high", 1, Decimal(12), Decimal(12), Decimal(5), Decimal(5)),
        ImpactStat("price spike", "high", 1, Decimal(15), Decimal(15), Decimal(20), Decimal(20)),
    )
    # ESPN gives ATL 70 %: ATL's market (51 %) is 19 points under it, GB's (26 %) 4 points under.
    assert [(o.ticker, o.team, o.market_prob, o.espn_prob, o.edge) for o in report.opportunities] == [
        (atl, "ATL", Decimal("0.51"), Decimal("0.70"), Decimal("0.19")),
        (gb, "GB", Decimal("0.26"), Decimal("0.30"), Decimal("0.04")),
    ]
    assert isinstance(report.opportunities[0], Opportunity)


def test_an_empty_day_and_a_view_never_refreshed_give_empty_sections(db):
    db.run(lambda tx: tx.cur.execute("REFRESH MATERIALIZED VIEW v_nfl_kalshi_opportunities WITH NO DATA"))
    try:
        report = db.run(lambda tx: tx.analytics.daily_report(DAY))
    finally:
        db.run(lambda tx: tx.cur.execute("REFRESH MATERIALIZED VIEW v_nfl_kalshi_opportunities"))
    assert (report.sync, report.alerts, report.impacts, report.opportunities) == ((), (), (), ())


def test_the_report_reads_and_never_writes(db):
    def write_inside(tx):
        tx.analytics.daily_report(DAY)
        tx.ops.log_syncs([("scoreboard", NOON, NOON, "success", 1, None)])

    with pytest.raises(DatabaseError, match="read-only transaction"):
        db.run(write_inside)


def test_the_command_prints_the_day_from_the_configured_database(db, database_url, monkeypatch, capsys):
    sync_rows(db)
    alert_rows(db)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TIMEZONE", "Europe/Paris")

    assert main(["report", "--date", "2023-09-17"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("NFL pipeline report for Sun 17 Sep 2023 (New York's day)\n")
    lines = out.splitlines()
    sync = lines.index("Sync performance (nfl_data_sync_log)")
    assert lines[sync + 1 : sync + 4] == [  # times in Paris
        "  lane        runs  failed  failed %  mean ms  p95 ms         last run     last failure",
        "  kalshi         2       1      50.0    200.0   290.0  17 Sep 18:00:05  17 Sep 18:00:05",
        "  scoreboard    20       0       0.0    105.0   190.5  17 Sep 18:01:35                -",
    ]
    alerts = lines.index("Alerts by type and outcome (nfl_alert_history)")
    assert lines[alerts + 1 : alerts + 4] == [
        "  type          pending  sent  suppressed  total",
        "  kalshi_price        1     0           2      3",
        "  score               0     1           0      1",
    ]


def test_a_database_without_the_schema_is_said_plainly(pg_server):
    url = with_database(pg_server[0], "nfl_report_empty")
    ensure_database(pg_server[0], "nfl_report_empty")
    empty = NFLDBManager(url, pool_min=1, pool_max=1)
    try:
        with pytest.raises(DatabaseError, match="no pipeline tables yet: run `db migrate`"):
            empty.run(lambda tx: tx.analytics.daily_report(DAY))
    finally:
        empty.close()
