"""The backtest report's pure figures, on rows built by hand: latency percentiles, the market's
reaction time (the first move of at least the threshold after the play), real and synthetic
prices kept apart, the text's columns, and the comparison of two runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from nfl_replay.report import (
    REAL,
    SYNTHETIC,
    ReportRows,
    RunSettings,
    build_report,
    compare_reports,
    format_report,
    percentile,
    report_to_json,
    run_settings,
    spread,
)
from nfl_sync.config import load_settings

T0 = datetime(2025, 9, 7, 17, 0, tzinfo=UTC)
RUN = RunSettings({}, {"PRICE_SPIKE_PCT": 10.0, "BIG_PLAY_YARDS": 20}, 0.02)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def game(game_id: str, away: str = "GB", home: str = "ATL") -> dict:
    return {
        "game_id": game_id,
        "away_team": away,
        "home_team": home,
        "away_score": 24,
        "home_score": 25,
        "state": "post",
        "plays": 180,
    }


def move(game_id: str, seconds: float, pct: str, ticker: str = "KXNFLGAME-X") -> dict:
    return {"game_id": game_id, "ticker": ticker, "ts": at(seconds), "change_pct": Decimal(pct)}


def measured(game_id: str, play_id: str, seconds: float, *levels: str) -> list[dict]:
    return [{"game_id": game_id, "play_id": play_id, "wallclock": at(seconds), "impact_level": lv} for lv in levels]


def rows(**parts) -> ReportRows:
    empty: dict[str, list] = {name: [] for name in ReportRows.__dataclass_fields__}
    return ReportRows(**{**empty, **parts})


def test_percentiles_interpolate_between_the_nearest_ranks():
    values = [float(v) for v in range(20, 0, -1)]  # 20..1, unsorted on purpose
    assert percentile(values, 50) == pytest.approx(10.5)
    assert percentile(values, 95) == pytest.approx(19.05)
    assert percentile([7.0], 95) == 7.0
    assert spread([3.0, None, 1.0, 2.0]) == spread([1.0, 2.0, 3.0])
    assert spread([None]).n == 0 and spread([None]).p50 is None
    s = spread([1.0, 2.0, 3.0, 4.0, 100.0])
    assert (s.n, s.p50, s.max) == (5, 3.0, 100.0)
    assert s.p95 == pytest.approx(4 + 96 * 0.8)


def test_alert_latency_per_type_counts_only_sent_alerts_for_the_sent_spread():
    latencies = [
        {"game_id": "1", "alert_type": "score", "recorded_s": r, "sent_s": s}
        for r, s in [(2.0, 3.0), (4.0, None), (6.0, 9.0), (8.0, 11.0)]
    ] + [{"game_id": "1", "alert_type": "market_reaction", "recorded_s": 12.0, "sent_s": 13.0}]
    outcomes = [
        {"game_id": "1", "alert_type": "score", "status": "sent", "n": 3},
        {"game_id": "1", "alert_type": "score", "status": "suppressed", "n": 1},
        {"game_id": "1", "alert_type": "kalshi_price", "status": "sent", "n": 5},
    ]
    report = build_report(rows(games=[game("1")], alert_outcomes=outcomes, alert_latencies=latencies), frozenset(), RUN)
    alerts = report.games[0].figures.alerts
    assert alerts["score"].outcomes == {"sent": 3, "failed": 0, "suppressed": 1, "pending": 0}
    assert (alerts["score"].recorded_after_play.n, alerts["score"].recorded_after_play.p50) == (4, 5.0)
    assert alerts["score"].recorded_after_play.max == 8.0
    assert (alerts["score"].sent_after_play.n, alerts["score"].sent_after_play.p50) == (3, 9.0)
    assert alerts["market_reaction"].sent_after_play.max == 13.0
    assert alerts["kalshi_price"].outcomes["sent"] == 5 and alerts["kalshi_price"].recorded_after_play.n == 0


def test_reaction_time_is_the_first_move_of_at_least_the_threshold_after_the_play():
    moves = [
        move("1", 95, "-40"),  # before the play: no reaction to it
        move("1", 100, "30"),  # at the play's own moment: priced before it
        move("1", 110, "9.99"),  # after, but under the 10 % threshold
        move("1", 125, "-10.00", ticker="KXNFLGAME-Y"),  # the first, on another market of the game
        move("1", 130, "50"),  # bigger, but later
        move("2", 105, "80"),  # another game's market
    ]
    plays = (
        measured("1", "p1", 100, "low", "high")  # graded by its strongest market: high
        + measured("1", "p2", 200, "medium")  # no move after it within the window
        + measured("1", "p3", 126, "high")  # 4 s to the 130 move
    )
    report = build_report(rows(games=[game("1"), game("2")], measured_plays=plays, price_moves=moves), frozenset(), RUN)
    impacts = report.games[0].figures.impacts
    assert impacts["high"].plays == 2 and impacts["high"].reacted == 2 and impacts["high"].no_reaction == 0
    assert impacts["high"].median_reaction_s == pytest.approx((25 + 4) / 2)
    assert (impacts["medium"].plays, impacts["medium"].reacted, impacts["medium"].no_reaction) == (1, 0, 1)
    assert impacts["medium"].median_reaction_s is None
    assert "low" not in impacts  # p1's weaker market does not count it as a low-impact play
    assert report.games[1].figures.impacts == {}


def test_reaction_outside_the_window_is_no_reaction_and_the_threshold_is_the_runs():
    moves = [move("1", 100 + 301, "50"), move("1", 100 + 20, "9")]
    plays = measured("1", "p1", 100, "extreme")
    default = build_report(rows(games=[game("1")], measured_plays=plays, price_moves=moves), frozenset(), RUN)
    assert default.totals[SYNTHETIC].impacts["extreme"].no_reaction == 1
    lower = RunSettings({"PRICE_SPIKE_PCT": "8"}, {"PRICE_SPIKE_PCT": 8.0}, 0.02)
    tuned = build_report(rows(games=[game("1")], measured_plays=plays, price_moves=moves), frozenset(), lower)
    assert tuned.totals[SYNTHETIC].impacts["extreme"].median_reaction_s == 20.0


def test_real_and_synthetic_prices_are_totalled_apart():
    correlations = [
        {
            "game_id": gid,
            "impact_level": "high",
            "n": n,
            "n_change": n,
            "sum_abs_change_pct": Decimal(total),
            "n_seconds": n,
            "sum_seconds_after": Decimal(n * 5),
        }
        for gid, n, total in [("real-1", 2, "24"), ("real-2", 1, "15"), ("synth", 4, "80")]
    ]
    outcomes = [
        {"game_id": gid, "alert_type": "market_reaction", "status": "sent", "n": n}
        for gid, n in [("real-1", 1), ("real-2", 2), ("synth", 7)]
    ]
    data = rows(
        games=[game("real-1"), game("real-2"), game("synth")],
        correlations=correlations,
        alert_outcomes=outcomes,
        measured_plays=measured("real-1", "a", 0, "high") + measured("synth", "b", 0, "high"),
        price_moves=[move("real-1", 30, "12"), move("synth", 3, "40")],
    )
    report = build_report(data, frozenset({"real-1", "real-2"}), RUN)
    assert [g.prices for g in report.games] == [REAL, REAL, SYNTHETIC]
    assert report.games_by_prices == {REAL: 2, SYNTHETIC: 1}
    real, synthetic = report.totals[REAL], report.totals[SYNTHETIC]
    assert real.impacts["high"].correlations == 3 and real.impacts["high"].mean_abs_change_pct == pytest.approx(13.0)
    assert synthetic.impacts["high"].correlations == 4 and synthetic.impacts["high"].mean_abs_change_pct == 20.0
    assert real.impacts["high"].median_reaction_s == 30.0 and synthetic.impacts["high"].median_reaction_s == 3.0
    assert real.alerts["market_reaction"].outcomes["sent"] == 3
    assert synthetic.alerts["market_reaction"].outcomes["sent"] == 7

    text = format_report(report)
    assert "Total over 2 game(s) with REAL Kalshi prices" in text
    assert "Total over 1 game(s) with SYNTHETIC Kalshi prices" in text and "not the market's behaviour" in text
    assert "seconds of the simulated clock" in text

    only_synthetic = build_report(data, frozenset(), RUN)
    assert list(only_synthetic.totals) == [SYNTHETIC]
    assert "REAL Kalshi" not in format_report(only_synthetic)


def test_text_report_aligns_its_columns_one_block_per_game():
    outcomes = [
        {"game_id": "1", "alert_type": kind, "status": "sent", "n": n}
        for kind, n in [("score", 11), ("significant_play", 4), ("kalshi_price", 123)]
    ]
    latencies = [{"game_id": "1", "alert_type": "score", "recorded_s": 2.5, "sent_s": 3.25}]
    report = build_report(
        rows(games=[game("1"), game("2", "BAL", "JAX")], alert_outcomes=outcomes, alert_latencies=latencies),
        frozenset(),
        RUN,
    )
    lines = format_report(report).splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("alerts "))
    table = lines[header : header + 4]
    assert len({len(line) for line in table}) == 1  # right-aligned to one width
    assert table[1].split()[:2] == ["kalshi_price", "123"]
    assert table[2].split()[-2:] == ["2.5/2.5/2.5", "3.2/3.2/3.2"]
    assert any(line.startswith("GB 24 @ ATL 25 (post), 180 plays  [game 1]") for line in lines)
    assert any(line.startswith("BAL 24 @ JAX 25") for line in lines)
    assert "  alerts: none" in lines  # the second game had none


def test_compare_names_what_changed_between_two_runs():
    def report(pct: float, spikes: int, reacted_at: float):
        run = RunSettings({"PRICE_SPIKE_PCT": str(pct)} if pct != 10 else {}, {"PRICE_SPIKE_PCT": pct}, 0.02)
        data = rows(
            games=[game("1")],
            alert_outcomes=[{"game_id": "1", "alert_type": "kalshi_price", "status": "sent", "n": spikes}],
            measured_plays=measured("1", "p", 0, "high"),
            price_moves=[move("1", reacted_at, "9"), move("1", 40, "12")],
        )
        return json.loads(report_to_json(build_report(data, frozenset(), run)))

    base, tuned = report(10.0, 3, 20), report(8.0, 5, 20)
    lines = compare_reports(base, tuned)
    assert "  overridden PRICE_SPIKE_PCT: - -> 8.0" in lines
    assert "  thresholds PRICE_SPIKE_PCT: 10.0 -> 8.0" in lines
    assert "  SYNTHETIC prices:" in lines
    assert "    kalshi_price alerts sent: 3 -> 5 (+2)" in lines
    assert "    high impact median reaction s: 40.0 -> 20.0 (-20)" in lines
    assert compare_reports(base, base) == ["  no differences"]


def test_run_settings_name_the_overrides_and_hide_secret_values(tmp_path):
    settings = load_settings(
        {"LOG_DIR": str(tmp_path)},
        overrides={"PRICE_SPIKE_PCT": "8", "TELEGRAM_BOT_TOKEN": "123:secret", "ALERT_COOLDOWN_SCORE": "0"},
    )
    run = run_settings(settings)
    assert run.overridden == {"ALERT_COOLDOWN_SCORE": "0", "PRICE_SPIKE_PCT": "8", "TELEGRAM_BOT_TOKEN": "(hidden)"}
    assert run.thresholds["PRICE_SPIKE_PCT"] == 8.0 and run.spike_pct == Decimal("8.0")
    assert run.thresholds["ALERT_COOLDOWN_SCORE"] == 0 and run.thresholds["ALERT_COOLDOWN_KALSHI_PRICE"] == 300
    assert "secret" not in format_report(build_report(rows(), frozenset(), run))
