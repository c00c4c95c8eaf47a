"""`download espn` against ESPN answers served by `responses` (recorded scoreboards and summary):
each finished game's summary saved as `summary_<id>.json` (the names `--replay` reads), games not
over counted and left, a summary already saved of a finished game not asked again (a pre-game
capture is), a failing summary reported and the others saved, ESPN's rate kept on the injected
clock; and the `download` command reaching the tooling through the daemon's command line."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlsplit

import responses

from helpers import FIXTURES, FakeClock, fixture_json
from nfl_replay.download import run_download
from nfl_replay.espn_download import saved_summary_complete
from nfl_sync.cli import main
from nfl_sync.config import DEFAULT_ESPN_BASE_URL, load_settings

SUMMARY = FIXTURES / "espn" / "summary_401547417.json"
WEEK_1 = "scoreboard_2025wk1_after_tnf.json"  # one game over (DAL @ PHI), fifteen to come
WEEK_2 = "scoreboard_2025post_wildcard_final.json"  # six games over


def test_a_season_is_saved_game_by_game_within_espns_rate(tmp_path, capsys):
    out = tmp_path / "season"
    out.mkdir()
    (out / "summary_401772979.json").write_bytes(SUMMARY.read_bytes())  # saved before, finished
    pregame = FIXTURES / "espn" / "summary_401772842_pregame.json"
    (out / "summary_401772981.json").write_bytes(pregame.read_bytes())  # saved before the game
    clock = FakeClock()
    asked: list[tuple[str, dict, float]] = []

    def answer(request):
        url = urlsplit(request.url)
        query = dict(parse_qsl(url.query))
        asked.append((url.path.rsplit("/", 1)[-1], query, clock.monotonic()))
        if url.path.endswith("/scoreboard"):
            return 200, {}, json.dumps(fixture_json("espn", WEEK_1 if query["week"] == "1" else WEEK_2))
        if query["event"] == "401772977":
            return 503, {}, "{}"
        return 200, {"Content-Type": "application/json"}, SUMMARY.read_text()

    settings = load_settings({"ESPN_RATE_PER_SECOND": "1", "ESPN_RATE_PER_MINUTE": "60", "HTTP_MAX_TRIES": "2"})
    with responses.RequestsMock() as api:
        api.add_callback(responses.GET, re.compile(re.escape(DEFAULT_ESPN_BASE_URL) + "/.*"), callback=answer)
        status = run_download(settings, ["espn", "--season", "2025", "--weeks", "1-2", "--out", str(out)], clock=clock)
    printed = capsys.readouterr().out

    assert status == 1  # one summary failed
    assert [(name, q) for name, q, _ in asked if name == "scoreboard"] == [
        ("scoreboard", {"dates": "2025", "seasontype": "2", "week": "1"}),
        ("scoreboard", {"dates": "2025", "seasontype": "2", "week": "2"}),
    ]
    summaries = [q["event"] for name, q, _ in asked if name == "summary"]
    # 401772979 was saved finished: not asked; 401772977 failed twice (its two tries).
    assert summaries == ["401772510", "401772981", "401772977", "401772977", "401772980", "401772978", "401772976"]
    times = [at for _, _, at in asked]
    assert all(later - earlier >= 1.0 - 1e-9 for earlier, later in zip(times, times[1:], strict=False))
    saved = sorted(p.name for p in out.glob("summary_*.json"))
    assert saved == [
        f"summary_{game}.json"
        for game in sorted(("401772510", "401772981", "401772979", "401772980", "401772978", "401772976"))
    ]
    assert all(saved_summary_complete(out / name) for name in saved)
    assert "2025 week 1: 16 game(s): 1 downloaded, 0 already there, 15 not final, 0 failed" in printed
    assert "2025 week 2: 6 game(s): 4 downloaded, 1 already there, 0 not final, 1 failed" in printed
    assert "game 401772977 (BUF @ JAX): FAILED" in printed
    assert "weeks 1-2" in printed and "22 game(s), 5 downloaded, 1 already there, 15 not final, 1 failed" in printed


def test_download_goes_to_the_tooling_the_entry_script_hands_in(monkeypatch, capsys):
    got = []
    monkeypatch.setattr("nfl_sync.cli.load_settings_or_exit", lambda: "settings")
    assert main(["download", "espn", "--help"], download=lambda s, words: got.append((s, words)) or 0) == 0
    assert got == [("settings", ["espn", "--help"])]
    assert main(["download", "kalshi"]) == 2  # without the tooling
    assert "download needs the replay tooling" in capsys.readouterr().err
