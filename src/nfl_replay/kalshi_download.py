"""`download kalshi`: Kalshi's trades and 1-minute candlesticks of the games' markets, saved once
into the folder `--replay` reads them from (`price_history`).

For each game of the summaries given: its events (`KXNFLGAME-25SEP07BALBUF` and the same for the
other KALSHI_SERIES: spread, total), their markets from `GET /markets?event_ticker=` (or
`GET /historical/markets?event_ticker=` once Kalshi archived them; the game-winner tickers from
the grammar when neither lists any); then per market, over the game's window, its trades
(`GET /markets/trades`, or `GET /historical/trades` before the trades cutoff; paged by cursor)
and its 1-minute candlesticks (`GET /series/{s}/markets/{t}/candlesticks`, or
`GET /historical/markets/{t}/candlesticks` for a market settled before the markets cutoff).
`GET /historical/cutoff` gives both cutoffs.

Keyless (signed only when a key is configured), within KALSHI_READS_PER_SECOND (the Kalshi
client's token bucket and retries, 429 included), and resumable: every file is written whole or
not at all, a complete one is not asked for again, and a paged download keeps each page and the
cursor after it, so a re-run continues where the last one stopped. A market Kalshi does not know
(404) has no history; that is said, not a failure.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nfl_replay.files import read_json, write_json
from nfl_replay.kalshi_markets import SIDES, Listing
from nfl_replay.price_history import CANDLES_SUFFIX, TRADES_SUFFIX
from nfl_replay.recording import RecordedGame, parse_time
from nfl_sync.domain.errors import ParseError, SourceError
from nfl_sync.sources.http import HttpSource
from nfl_sync.sources.kalshi.parser import next_cursor, page_items, parse_candlesticks, parse_market, parse_trade

log = logging.getLogger(__name__)

FIRST_SEASON = 2025  # Kalshi listed no NFL game markets before the 2025 season
BEFORE_KICKOFF = timedelta(hours=2)  # the window downloaded around each game
AFTER_END = timedelta(hours=1)
PAGE_LIMIT = 1000  # the API maximum of /markets and /markets/trades
CANDLE_MINUTES = 1
LIVE_TRADES, HISTORICAL_TRADES = "markets/trades", "historical/trades"
MARKETS_FILE = "markets.json"


@dataclass(frozen=True)
class Cutoff:
    """Kalshi's boundary between live and archived data (`GET /historical/cutoff`)."""

    markets_settled: datetime  # markets settled before it: /historical/markets and their candles
    trades_created: datetime  # trades made before it: /historical/trades


@dataclass(frozen=True)
class Window:
    """The stretch of a game's markets that is downloaded, in Unix seconds."""

    start: int
    end: int

    @classmethod
    def of(cls, game: RecordedGame) -> Window:
        return cls(int((game.kickoff - BEFORE_KICKOFF).timestamp()), int((game.end + AFTER_END).timestamp()))


@dataclass(frozen=True)
class MarketRef:
    """One market to download and where Kalshi keeps it."""

    ticker: str
    event_ticker: str
    historical: bool  # archived: its candlesticks are under /historical

    @property
    def series(self) -> str:
        return self.event_ticker.partition("-")[0]


def trade_segments(window: Window, cutoff: Cutoff) -> list[tuple[str, int, int]]:
    """(path, min_ts, max_ts) of each trades request of `window`: the part before the trades
    cutoff from the archive, the rest from the live endpoint."""
    cut = int(cutoff.trades_created.timestamp())
    segments = []
    if window.start < cut:
        segments.append((HISTORICAL_TRADES, window.start, min(window.end, cut)))
    if window.end > cut:
        segments.append((LIVE_TRADES, max(window.start, cut), window.end))
    return segments


@dataclass
class GameTally:
    """What one game's download did, for its progress line."""

    markets: int = 0
    trades: int = 0
    candles: int = 0
    already: int = 0  # files complete from an earlier run
    without_history: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class KalshiHistoryDownload:
    """Downloads the Kalshi history of games into `out` through `http` (Kalshi's base URL)."""

    def __init__(self, http: HttpSource, out: Path, series: Sequence[str], echo: Callable[[str], None] = print):
        self.http = http
        self.out = out
        self.series = tuple(series)
        self.echo = echo
        self._cutoff: Cutoff | None = None

    def run(self, games: Sequence[RecordedGame]) -> int:
        """Every game in turn, a line each and a summary; the exit status (1 when some failed)."""
        done = skipped = failed = 0
        for number, game in enumerate(games, 1):
            head = f"[{number}/{len(games)}] {game.matchup} {game.eastern_date} (game {game.game_id})"
            if game.season_year < FIRST_SEASON:
                self.echo(f"{head}: skipped, Kalshi had no NFL game markets before the {FIRST_SEASON} season")
                skipped += 1
                continue
            try:
                tally = self.game(game)
            except (SourceError, ParseError, ValueError) as error:
                self.echo(f"{head}: FAILED: {error}")
                failed += 1
                continue
            self.echo(f"{head}: {_describe(tally)}")
            for line in tally.without_history + tally.failed:
                self.echo(f"    {line}")
            failed += bool(tally.failed)
            done += not tally.failed
        self.echo(
            f"Kalshi history in {self.out}: {done} game(s) complete, {skipped} before {FIRST_SEASON} skipped, "
            f"{failed} with failures" + (" (run the command again to resume)" if failed else "")
        )
        return 1 if failed else 0

    def cutoff(self) -> Cutoff:
        """`GET /historical/cutoff`, asked once per run."""
        if self._cutoff is None:
            body = self.http.get_json("historical/cutoff")
            try:
                self._cutoff = Cutoff(parse_time(body["market_settled_ts"]), parse_time(body["trades_created_ts"]))
            except (KeyError, TypeError, ValueError):
                raise SourceError(
                    "kalshi", "/historical/cutoff", "returned no market_settled_ts/trades_created_ts"
                ) from None
        return self._cutoff

    def game(self, game: RecordedGame) -> GameTally:
        """One game's markets, each market's trades and candles; a market's failure costs only it."""
        listing = Listing.of(game)
        window = Window.of(game)
        cutoff = self.cutoff()
        tally = GameTally()
        for series in self.series:
            event_ticker = f"{series}-{listing.event_ticker.partition('-')[2]}"
            refs = self.markets(event_ticker, cutoff)
            if not refs and event_ticker == listing.event_ticker:
                archived = game.end < cutoff.markets_settled
                refs = [MarketRef(listing.ticker(side), event_ticker, archived) for side in SIDES]
            for ref in refs:
                tally.markets += 1
                try:
                    self.candles(ref, window, tally)
                    self.trades(ref, window, cutoff, tally)
                except SourceError as error:
                    if error.status == 404:
                        tally.without_history.append(f"{ref.ticker}: no history (Kalshi does not know the market)")
                    else:
                        tally.failed.append(f"{ref.ticker}: {error}")
                except ParseError as error:
                    tally.failed.append(f"{ref.ticker}: Kalshi's answer does not parse: {error}")
        return tally

    def markets(self, event_ticker: str, cutoff: Cutoff) -> list[MarketRef]:
        """The event's markets, live or archived; the listing is saved, so a re-run asks no more."""
        saved = self.out / event_ticker / MARKETS_FILE
        if saved.exists():
            document = read_json(saved)
        else:
            document = self._listing(event_ticker)
            if not document["markets"]:
                return []
            write_json(saved, document)
        refs = []
        settled_cut = cutoff.markets_settled
        for item in document["markets"]:
            market = parse_market(item).market
            settled = item.get("settlement_ts")
            archived = document["historical"] or (bool(settled) and parse_time(settled) < settled_cut)
            refs.append(MarketRef(market.ticker, event_ticker, archived))
        return refs

    def _listing(self, event_ticker: str) -> dict[str, Any]:
        query = {"event_ticker": event_ticker, "limit": PAGE_LIMIT}
        for path, historical in (("markets", False), ("historical/markets", True)):
            markets = page_items(self.http.get_json(path, query), "markets")
            if markets:
                return {"event_ticker": event_ticker, "historical": historical, "markets": markets}
        return {"event_ticker": event_ticker, "historical": False, "markets": []}

    def candles(self, ref: MarketRef, window: Window, tally: GameTally) -> None:
        """The market's 1-minute candlesticks over `window`: one request (a game's window is a few
        hundred minutes)."""
        target = self.out / ref.event_ticker / f"{ref.ticker}{CANDLES_SUFFIX}"
        if target.exists():
            tally.already += 1
            return
        ticker = quote(ref.ticker, safe="")
        path = (
            f"historical/markets/{ticker}/candlesticks"
            if ref.historical
            else f"series/{quote(ref.series, safe='')}/markets/{ticker}/candlesticks"
        )
        query = {"start_ts": window.start, "end_ts": window.end, "period_interval": CANDLE_MINUTES}
        body = self.http.get_json(path, query)
        candles = parse_candlesticks(body)  # checked before it is kept
        write_json(target, {"ticker": ref.ticker, "source": path, **query, "candlesticks": body["candlesticks"]})
        tally.candles += len(candles)

    def trades(self, ref: MarketRef, window: Window, cutoff: Cutoff, tally: GameTally) -> None:
        """The market's trades over `window`, page by page; each page and the cursor after it are
        saved in `<ticker>.trades.partial/`, which a re-run continues from."""
        folder = self.out / ref.event_ticker
        target = folder / f"{ref.ticker}{TRADES_SUFFIX}"
        if target.exists():
            tally.already += 1
            return
        partial = folder / f"{ref.ticker}.trades.partial"
        state_file = partial / "state.json"
        state: dict[str, Any] = (
            read_json(state_file)
            if state_file.exists()
            else {"segments": trade_segments(window, cutoff), "segment": 0, "cursor": None, "pages": 0}
        )
        while state["segment"] < len(state["segments"]):
            path, min_ts, max_ts = state["segments"][state["segment"]]
            query = {"ticker": ref.ticker, "min_ts": min_ts, "max_ts": max_ts, "limit": PAGE_LIMIT}
            if state["cursor"]:
                query["cursor"] = state["cursor"]
            body = self.http.get_json(path, query)
            items = page_items(body, "trades")
            for item in items:
                parse_trade(item)  # checked before it is kept
            cursor = next_cursor(body)
            if cursor is not None and cursor == state["cursor"]:
                raise SourceError("kalshi", f"/{path}", "pagination cursor repeated")
            write_json(partial / f"page_{state['pages']:05d}.json", items)
            state = {
                **state,
                "pages": state["pages"] + 1,
                "cursor": cursor,
                "segment": state["segment"] + (cursor is None),
            }
            write_json(state_file, state)
        trades = _unique_trades(read_json(partial / f"page_{page:05d}.json") for page in range(state["pages"]))
        write_json(target, {"ticker": ref.ticker, "min_ts": window.start, "max_ts": window.end, "trades": trades})
        shutil.rmtree(partial)
        tally.trades += len(trades)


def _unique_trades(pages: Any) -> list[Mapping[str, Any]]:
    """The trades of every page once: the two segments meet at the cutoff's second, which both
    may list."""
    seen: set[str] = set()
    trades = []
    for page in pages:
        for trade in page:
            if trade["trade_id"] not in seen:
                seen.add(trade["trade_id"])
                trades.append(trade)
    return trades


def _describe(tally: GameTally) -> str:
    parts = [f"{tally.markets} market(s)", f"{tally.trades} trades", f"{tally.candles} candles"]
    if tally.already:
        parts.append(f"{tally.already} file(s) already there")
    if tally.without_history:
        parts.append(f"{len(tally.without_history)} without history")
    if tally.failed:
        parts.append(f"{len(tally.failed)} FAILED (run again to resume)")
    return ", ".join(parts)
