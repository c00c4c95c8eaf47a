"""`--replay` as a backtest, run as users run it (`python src/nfl_realtime_sync.py --replay ...`):
the report it prints and writes holds what the database stored, `--set PRICE_SPIKE_PCT=...`
changes the threshold and the spike alerts of the run, `--compare` tells two runs apart, and a bad
`--set` stops the command with one line and status 2 before anything runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from helpers import fast_commit_url, fixture_path, rows
from nfl_replay.report import SYNTHETIC
from nfl_sync.cli import parse_args

ROOT = Path(__file__).resolve().parents[2]
GAME = fixture_path("espn", "summary_401547417.json")  # GB @ ATL, 17 Sep 2023
GAME_ID = "401547417"


def replay(tmp_path: Path, database_url: str, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """The replay command at max speed with only the given settings (never the project's .env:
    the environment wins), alerts on the console."""
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": fast_commit_url(database_url),
        "TELEGRAM_ENABLED": "false",
        "LOG_DIR": str(tmp_path / "logs"),
        "KALSHI_SERIES": "KXNFLGAME",
        "DAILY_ALERT_LIMIT": "0",
        **settings,
    }
    return subprocess.run(
        [sys.executable, "src/nfl_realtime_sync.py", "--replay", str(GAME), "--speed", "max", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def stored_figures(db) -> tuple[Counter, Counter]:
    """(alerts by type and status, correlations by impact level) as the database holds them."""
    alerts = rows(db, "SELECT alert_type, status FROM nfl_alert_history WHERE game_id = %s", GAME_ID)
    correlations = rows(db, "SELECT impact_level FROM nfl_kalshi_correlations WHERE game_id = %s", GAME_ID)
    return Counter((r["alert_type"], r["status"]) for r in alerts), Counter(r["impact_level"] for r in correlations)


def reported_figures(report: dict) -> tuple[Counter, Counter]:
    figures = report["totals"][SYNTHETIC]
    assert report["games"][0]["figures"] == figures  # one game: its figures are the total
    alerts = Counter(
        {(kind, status): n for kind, a in figures["alerts"].items() for status, n in a["outcomes"].items() if n}
    )
    return alerts, Counter({level: i["correlations"] for level, i in figures["impacts"].items() if i["correlations"]})


def spikes(report: dict) -> int:
    return sum(report["totals"][SYNTHETIC]["alerts"].get("kalshi_price", {"outcomes": {}})["outcomes"].values())


def test_a_threshold_set_on_the_command_line_changes_the_spikes_and_the_report_holds_what_was_stored(
    tmp_path, db, database_url
):
    default_json, tuned_json = tmp_path / "default.json", tmp_path / "tuned.json"
    first = replay(tmp_path, database_url, "--report-json", str(default_json))
    assert first.returncode == 0, first.stderr[-3000:]
    default = json.loads(default_json.read_text())
    assert reported_figures(default) == stored_figures(db)

    second = replay(
        tmp_path,
        database_url,
        "--set",
        "PRICE_SPIKE_PCT=4",
        "--report-json",
        str(tuned_json),
        "--compare",
        str(default_json),
    )
    assert second.returncode == 0, second.stderr[-3000:]
    tuned = json.loads(tuned_json.read_text())
    alerts, correlations = stored_figures(db)
    assert reported_figures(tuned) == (alerts, correlations)  # the second run replaced the first one's rows

    assert default["settings"]["thresholds"]["PRICE_SPIKE_PCT"] == 10.0 and default["settings"]["overridden"] == {}
    assert tuned["settings"]["thresholds"]["PRICE_SPIKE_PCT"] == 4.0
    assert tuned["settings"]["overridden"] == {"PRICE_SPIKE_PCT": "4"}
    assert spikes(tuned) > spikes(default) > 0
    assert sum(n for (kind, _), n in alerts.items() if kind == "kalshi_price") == spikes(tuned)

    out = second.stdout
    assert "Backtest report: 1 game(s); all times in seconds of the simulated clock" in out
    assert "GB 24 @ ATL 25 (post)" in out and "prices: SYNTHETIC" in out
    assert f"Changes from {default_json}:" in out
    assert "  thresholds PRICE_SPIKE_PCT: 10.0 -> 4.0" in out
    assert (
        f"    kalshi_price alerts sent: {default['totals'][SYNTHETIC]['alerts']['kalshi_price']['outcomes']['sent']} ->"
        in out
    )

    # Alerts about a play are timed from its wall clock on the replay's clock, sent ones too.
    scores = tuned["totals"][SYNTHETIC]["alerts"]["score"]
    sent = rows(
        db,
        "SELECT extract(epoch FROM h.sent_at - p.wallclock)::float8 AS s FROM nfl_alert_history h "
        "JOIN nfl_plays p ON p.game_id = h.game_id AND p.play_id = h.payload->'data'->>'play_id' "
        "WHERE h.alert_type = 'score' AND h.status = 'sent'",
    )
    assert scores["sent_after_play"]["n"] == len(sent) > 0
    assert scores["sent_after_play"]["max"] == max(r["s"] for r in sent)
    # A replay polls every 5 simulated seconds: a score goes out within a few polls of its play.
    assert 0 < scores["recorded_after_play"]["p50"] <= scores["sent_after_play"]["p50"] <= 30


@pytest.mark.parametrize(
    "pair, line",
    [
        ("PRICE_SPIKE_PCT=eight", "PRICE_SPIKE_PCT must be a number, got 'eight'"),
        ("PRICE_SPIKE_PCT=-3", "PRICE_SPIKE_PCT must be > 0.0, got '-3'"),
        ("PRICE_SPIKE_PERCENT=8", "PRICE_SPIKE_PERCENT is not a setting this configuration reads (see .env.example)"),
        ("PRICE_SPIKE_PCT", "--set takes KEY=VALUE, an environment name such as PRICE_SPIKE_PCT and its value"),
    ],
)
def test_a_bad_set_stops_the_replay_with_one_line_and_status_2(pair, line, tmp_path):
    result = replay(tmp_path, "postgresql://nobody@127.0.0.1:1/none", "--set", pair)
    assert result.returncode == 2
    assert [text for text in result.stderr.splitlines() if text.strip()] == [f"configuration error: {line}"]


def test_backtest_options_need_a_replay(capsys):
    with pytest.raises(SystemExit) as stop:
        parse_args(["--set", "PRICE_SPIKE_PCT=8"])
    assert stop.value.code == 2
    assert "--set, --report-json and --compare apply to --replay only" in capsys.readouterr().err
    args = parse_args(["--replay", "x.json", "--set", "A=1", "--set", "B=2", "--report-json", "r.json"])
    assert args.set == ["A=1", "B=2"] and args.report_json == Path("r.json")
