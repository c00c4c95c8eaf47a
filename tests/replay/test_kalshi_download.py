"""`download kalshi` against Kalshi answers served by `responses`: markets found per event (live,
or archived), candles and trades routed by the historical cutoff, trades paged by cursor, a 429
waited out, a 404 market reported as without history, games before 2025 skipped, and a run cut
off mid-pages resumed from its saved cursor without asking again for what is complete."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from helpers import FIXTURES, FakeClock, fixture_json
from nfl_replay.download import run_download
from nfl_replay.kalshi_download import AFTER_END, BEFORE_KICKOFF
from nfl_replay.price_history import HISTORY_FOLDER, load_history
from nfl_replay.timeline import load_game
from nfl_sync.config import DEFAULT_KALSHI_BASE_URL, load_settings

EVENT = "KXNFLGAME-25SEP14GBATL"
SPREAD_EVENT = "KXNFLSPREAD-25SEP14GBATL"
ATL, GB, SPREAD = f"{EVENT}-ATL", f"{EVENT}-GB", f"{SPREAD_EVENT}-ATL4"
GAME_2025 = "401772999"
# ATL's trades saved once each: the archive's three pages, then the live page, whose "boundary"
# trade (at the cutoff's second) the archive listed too.
ALL_ATL_TRADES = ["old-5", "old-4", "old-3", "old-2", "boundary", "old-1", "live-1"]


@pytest.fixture
def games(tmp_path) -> Path:
    """GB @ ATL as recorded (2023), and the same game moved 104 weeks on into the 2025 season."""
    folder = tmp_path / "games"
    folder.mkdir()
    recorded = FIXTURES / "espn" / "summary_401547417.json"
    (folder / recorded.name).write_bytes(recorded.read_bytes())
    moved = load_game(recorded).with_id(GAME_2025, timedelta(weeks=104)).source
    moved["header"]["season"]["year"] = 2025
    (folder / f"summary_{GAME_2025}.json").write_text(json.dumps(moved))
    return folder


@pytest.fixture
def game_2025(games):
    return load_game(games / f"summary_{GAME_2025}.json")


def market(ticker: str, event: str, **changes) -> dict:
    """The recorded game-winner market document under another ticker."""
    document = fixture_json("kalshi", "get_market", "kalshi_market_KXNFLGAME-26OCT12BUFLAR-LAR.json")["market"]
    return {**document, "ticker": ticker, "event_ticker": event, **changes}


def candles(historical: bool) -> list[dict]:
    """The recorded one-minute candles (historical names), or renamed to the live names."""
    recorded = fixture_json(
        "kalshi", "historical_candlesticks", "kalshi_candlesticks_KXNFLSPREAD-26JAN10GBCHI-GB14.json"
    )
    if historical:
        return recorded["m1"]
    renamed = []
    for candle in recorded["m1"]:
        live = {"end_period_ts": candle["end_period_ts"], "volume_fp": candle["volume"]}
        live["open_interest_fp"] = candle["open_interest"]
        for side in ("yes_bid", "yes_ask", "price"):
            live[side] = {f"{name}_dollars": value for name, value in candle[side].items()}
        renamed.append(live)
    return renamed


def trades(ticker: str, *ids: str) -> list[dict]:
    recorded = fixture_json("kalshi", "other_series", "kalshi_trades.json")["trades"][0]
    return [{**recorded, "ticker": ticker, "trade_id": trade_id} for trade_id in ids]


class Kalshi:
    """Kalshi's answers for one game, by path and query; every request is noted (path, query)."""

    def __init__(self, game, fail_page: int | None = None):
        self.window = (
            int((game.kickoff - BEFORE_KICKOFF).timestamp()),
            int((game.end + AFTER_END).timestamp()),
        )
        self.trades_cut = int((game.kickoff + timedelta(hours=1)).timestamp())
        self.requests: list[tuple[str, dict]] = []
        self.fail_page = fail_page  # the ATL trades page answered 500 (None: every page works)
        self.limited_once = False

    def install(self, api: responses.RequestsMock) -> None:
        api.add_callback(responses.GET, re.compile(re.escape(DEFAULT_KALSHI_BASE_URL) + "/.*"), callback=self.answer)

    def answer(self, request):
        path = urlsplit(request.url).path.removeprefix(urlsplit(DEFAULT_KALSHI_BASE_URL).path + "/")
        query = dict(parse_qsl(urlsplit(request.url).query))
        self.requests.append((path, query))
        status, body = self.route(path, query)
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    def route(self, path: str, query: dict) -> tuple[int, object]:
        if path == "historical/cutoff":
            return 200, {
                "market_settled_ts": "2026-01-01T00:00:00Z",
                "trades_created_ts": _iso(self.trades_cut),
                "orders_updated_ts": "2026-01-01T00:00:00Z",
            }
        if path == "markets":  # live listing: the spread event; the game event is archived
            if query["event_ticker"] == SPREAD_EVENT:
                return 200, {
                    "markets": [market(SPREAD, SPREAD_EVENT, settlement_ts="2026-02-01T00:00:00Z")],
                    "cursor": "",
                }
            return 200, {"markets": [], "cursor": ""}
        if path == "historical/markets":
            found = [market(ATL, EVENT), market(GB, EVENT)] if query["event_ticker"] == EVENT else []
            return 200, {"markets": found, "cursor": ""}
        if path == f"historical/markets/{ATL}/candlesticks":
            if not self.limited_once:
                self.limited_once = True
                return 429, {"error": "too many requests"}
            return 200, {"ticker": ATL, "candlesticks": candles(historical=True)}
        if path == f"historical/markets/{GB}/candlesticks":
            return 404, {"error": {"code": "not_found", "message": "market not found", "details": ""}}
        if path == f"series/KXNFLSPREAD/markets/{SPREAD}/candlesticks":
            return 200, {"ticker": SPREAD, "candlesticks": candles(historical=False)}
        if path in ("historical/trades", "markets/trades"):
            return self.trades(path, query)
        return 404, {"error": {"code": "not_found", "message": "not found", "details": ""}}

    def trades(self, path: str, query: dict) -> tuple[int, object]:
        ticker = query["ticker"]
        if path == "markets/trades":  # one page; its first trade was also the archive's last
            return 200, {"trades": trades(ticker, "live-1", "boundary"), "cursor": ""}
        pages = {None: (["old-5", "old-4"], "c1"), "c1": (["old-3", "old-2"], "c2"), "c2": (["boundary", "old-1"], "")}
        cursor = query.get("cursor")
        if ticker == ATL and self.fail_page is not None and list(pages).index(cursor) == self.fail_page:
            return 500, {"error": {"code": "internal", "message": "internal error", "details": ""}}
        ids, following = pages[cursor]
        return 200, {"trades": trades(ticker, *ids), "cursor": following}


def _iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")


def saved_trade_ids(history: Path) -> list[str]:
    return [t["trade_id"] for t in json.loads((history / EVENT / f"{ATL}.trades.json").read_text())["trades"]]


def download(games: Path, clock: FakeClock, **env: str) -> int:
    settings = load_settings({"KALSHI_SERIES": "KXNFLGAME,KXNFLSPREAD", "HTTP_MAX_TRIES": "2", **env})
    return run_download(settings, ["kalshi", "--games", str(games)], clock=clock)


def test_a_game_is_downloaded_by_cutoff_and_pages_and_a_2023_game_is_skipped(games, game_2025, capsys):
    kalshi, clock = Kalshi(game_2025), FakeClock()
    with responses.RequestsMock() as api:
        kalshi.install(api)
        assert download(games, clock) == 0  # a market Kalshi does not know is no failure
    out = capsys.readouterr().out
    history = games / HISTORY_FOLDER
    start, end = kalshi.window

    # Archived markets: candles from /historical (after one 429, waited out); trades paged by
    # cursor from the archive up to the trades cutoff, then from the live endpoint.
    atl_trades = [(path, q) for path, q in kalshi.requests if path.endswith("trades") and q["ticker"] == ATL]
    assert atl_trades == [
        ("historical/trades", {"ticker": ATL, "min_ts": str(start), "max_ts": str(kalshi.trades_cut), "limit": "1000"}),
        (
            "historical/trades",
            {"ticker": ATL, "min_ts": str(start), "max_ts": str(kalshi.trades_cut), "limit": "1000", "cursor": "c1"},
        ),
        (
            "historical/trades",
            {"ticker": ATL, "min_ts": str(start), "max_ts": str(kalshi.trades_cut), "limit": "1000", "cursor": "c2"},
        ),
        ("markets/trades", {"ticker": ATL, "min_ts": str(kalshi.trades_cut), "max_ts": str(end), "limit": "1000"}),
    ]
    assert saved_trade_ids(history) == ALL_ATL_TRADES
    assert not (history / EVENT / f"{ATL}.trades.partial").exists()
    atl_candles = json.loads((history / EVENT / f"{ATL}.candles.json").read_text())
    assert atl_candles["candlesticks"] == candles(historical=True)
    assert [q for p, q in kalshi.requests if p.endswith(f"{ATL}/candlesticks")][-1] == {
        "start_ts": str(start),
        "end_ts": str(end),
        "period_interval": "1",
    }
    assert clock.sleeps  # the 429's backoff, on the injected clock
    # A live market (settled after the markets cutoff): candles from the series path.
    assert (history / SPREAD_EVENT / f"{SPREAD}.candles.json").exists()
    # The market Kalshi does not know: said, nothing saved, its trades not asked for.
    assert f"{GB}: no history" in out
    assert not list(history.glob(f"*/{GB}*")) and not [q for p, q in kalshi.requests if q.get("ticker") == GB]
    # The 2023 game: one line, not one request.
    assert "GB @ ATL 2023-09-17 (game 401547417): skipped, Kalshi had no NFL game markets before the 2025 season" in out
    assert f"(game {GAME_2025}): 3 market(s), 14 trades" in out
    assert "1 game(s) complete, 1 before 2025 skipped, 0 with failures" in out
    assert set(load_history([history])) == {ATL, SPREAD}


def test_an_interrupted_download_resumes_from_its_saved_cursor(games, game_2025, capsys):
    clock = FakeClock()
    broken = Kalshi(game_2025, fail_page=2)  # the third page of ATL's archived trades fails
    with responses.RequestsMock() as api:
        broken.install(api)
        assert download(games, clock) == 1
    out = capsys.readouterr().out
    assert f"{ATL}: kalshi /trade-api/v2/historical/trades: server error" in out
    assert "run the command again to resume" in out
    partial = games / HISTORY_FOLDER / EVENT / f"{ATL}.trades.partial"
    assert sorted(p.name for p in partial.iterdir()) == ["page_00000.json", "page_00001.json", "state.json"]

    fixed = Kalshi(game_2025)
    fixed.limited_once = True
    with responses.RequestsMock() as api:
        fixed.install(api)
        assert download(games, clock) == 0
    # Only what was missing: no listing, no candles saved before, ATL's trades from the saved
    # cursor on (and the market Kalshi did not know, asked again: one request).
    asked = [(path, q.get("ticker"), q.get("cursor")) for path, q in fixed.requests]
    assert asked == [
        ("historical/cutoff", None, None),
        ("historical/trades", ATL, "c2"),
        ("markets/trades", ATL, None),
        (f"historical/markets/{GB}/candlesticks", None, None),
    ]
    assert saved_trade_ids(games / HISTORY_FOLDER) == ALL_ATL_TRADES
    assert not partial.exists()
