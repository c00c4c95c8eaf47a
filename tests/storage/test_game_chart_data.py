"""A game's chart from rows stored in the real PostgreSQL: the plotted series are exactly the
stored win probabilities and the home game-winner market's mids, the scoring plays are marked
with the score after them, turnovers and big plays with what they were, and only the largest
reactions of the home market to plays are annotated, with their size in cents."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from factories import KICKOFF, game, game_market, play
from nfl_sync.domain.game_chart import Annotation, Marker, chart_spec
from nfl_sync.domain.models import Correlation, MarketSnapshot, WinProbability

GAME = "401547417"
ATL, GB = game_market("ATL").ticker, game_market("GB").ticker


def minutes(n: int) -> float:
    return 30 * n / 60  # play n's wall clock is 30 s after the previous one (factories.play)


def store_game(db) -> list:
    plays = [
        play(n=1),
        play(n=2, type="Passing Touchdown", scoring_play=True, away_score=7, significance=("touchdown",)),
        play(n=3, away_score=7, is_turnover=True, significance=("interception",)),
        play(n=50, period=2, away_score=7, yards=45, significance=("big_play",)),
        play(n=51, period=2, scoring_play=True, away_score=7, home_score=3, significance=("field_goal",)),
        play(n=52, period=2, away_score=7, home_score=3, wallclock=None),  # no wall clock: cannot be placed
    ]
    win = {1: "0.400000", 2: "0.255000", 3: "0.301000", 51: "0.352500"}  # play 50 has none

    def snapshot(ticker, minute, bid, ask, last=None):
        at = KICKOFF + timedelta(minutes=minute)
        quote = [value and Decimal(value) for value in (bid, ask, last)]
        return MarketSnapshot(ticker, at, *quote, None, None, GAME)

    def reaction(n, ticker, before, after, kind="touchdown"):
        at = plays[n].wallclock
        move = (Decimal(before), Decimal(after), None)
        return Correlation(GAME, plays[n].play_id, ticker, kind, *move, "high", Decimal(5), at, at)

    def write(tx):
        tx.games.upsert_game(game(state="post", phase="final", away_score=7, home_score=3))
        tx.games.insert_plays(plays)
        tx.games.insert_win_probabilities(
            [WinProbability(GAME, f"{GAME}{n:06d}", Decimal(pct)) for n, pct in win.items()]
        )
        tx.markets.upsert_markets([game_market("ATL"), game_market("GB")])
        tx.markets.insert_price_snapshots(
            [
                snapshot(ATL, -60 * 24, "0.55", "0.57"),  # the day before: outside the game's frame
                snapshot(ATL, 0, "0.40", "0.42"),
                snapshot(ATL, 1, None, None, "0.2650"),  # no quote: the last trade
                snapshot(ATL, 26, "0.35", "0.36"),
                snapshot(GB, 1, "0.70", "0.72"),  # the away market is not plotted
            ]
        )
        tx.markets.insert_correlations(
            [
                reaction(1, ATL, "0.41", "0.23"),  # -18¢
                reaction(2, ATL, "0.23", "0.25", "interception"),  # 2¢: too small to draw
                reaction(4, ATL, "0.28", "0.355", "field_goal"),  # +7.5¢
                reaction(1, GB, "0.59", "0.77"),  # the away market
                reaction(3, ATL, "0.10", "0.90", "price_spike"),  # a spike link, not a reaction
            ]
        )

    db.run(write)
    return plays


def test_the_spec_plots_the_stored_rows(db):
    plays = store_game(db)
    data = db.run(lambda tx: tx.analytics.game_chart_data(GAME))
    assert [p.play_id for p in data.plays] == [p.play_id for p in plays[:5]]
    spec = chart_spec(data)

    assert spec.title == "GB 7 @ ATL 3 — final"
    assert spec.subtitle.startswith("Sun Sep 17, 2023")
    assert spec.win_probability.x == tuple(minutes(n) - minutes(1) for n in (1, 2, 3, 51))
    assert spec.win_probability.y == (40.0, 25.5, 30.1, 35.25)
    start = plays[0].wallclock
    price_minutes = [(KICKOFF + timedelta(minutes=m) - start).total_seconds() / 60 for m in (0, 1, 26)]
    assert spec.price.x == tuple(price_minutes)
    assert spec.price.y == (41.0, 26.5, 35.5)
    assert spec.quarters == ((minutes(50) - minutes(1), "Q2"),)
    assert spec.markers == (
        Marker(minutes(2) - minutes(1), 25.5, "GB 7 – 0 ATL", "score"),
        Marker(minutes(3) - minutes(1), 30.1, "INT", "play"),
        Marker(minutes(50) - minutes(1), 30.1, "+45 yds", "play"),  # no probability of its own: the last one
        Marker(minutes(51) - minutes(1), 35.25, "GB 7 – 3 ATL", "score"),
    )
    assert spec.annotations == (
        Annotation(minutes(2) - minutes(1), 23.0, "-18¢"),
        Annotation(minutes(51) - minutes(1), 35.5, "+8¢"),
    )


def test_a_game_without_market_or_plays(db):
    db.run(lambda tx: tx.games.upsert_game(game()))
    data = db.run(lambda tx: tx.analytics.game_chart_data(GAME))
    assert (data.plays, data.prices, data.reactions) == ((), (), ())
    assert chart_spec(data) is None
    assert db.run(lambda tx: tx.analytics.game_chart_data("nope")) is None


def test_candles_stand_in_for_pruned_snapshots(db):
    store_game(db)

    def prune(tx):
        tx.cur.execute("DELETE FROM nfl_kalshi_prices")
        tx.cur.execute(
            "INSERT INTO nfl_kalshi_candles (ticker, minute, open, high, low, close, snapshots, game_id) VALUES "
            "(%s, %s, 0.4, 0.5, 0.3, 0.45, 3, %s), (%s, %s, 0.45, 0.5, 0.3, 0.31, 3, %s)",
            (ATL, KICKOFF, GAME, ATL, KICKOFF + timedelta(minutes=1), GAME),
        )

    db.run(prune)
    data = db.run(lambda tx: tx.analytics.game_chart_data(GAME))
    assert [(p.at, p.mid) for p in data.prices] == [
        (KICKOFF, Decimal("0.45")),
        (KICKOFF + timedelta(minutes=1), Decimal("0.31")),
    ]
