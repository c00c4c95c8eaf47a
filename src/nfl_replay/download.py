"""The `download` command: past games saved for backtests, so `--replay DIR` can replay them.

    download espn --season 2025 --weeks 1-18 --out DIR     ESPN summaries of a season's games
    download kalshi --games DIR                             Kalshi prices of those games, into
                                                            DIR/kalshi_history (or --out)

The entry script hands `run_download` to the daemon's command line, as it hands `--replay`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from nfl_replay.espn_download import REGULAR_SEASON, SeasonDownload
from nfl_replay.kalshi_download import KalshiHistoryDownload
from nfl_replay.price_history import HISTORY_FOLDER
from nfl_replay.runner import find_games
from nfl_sync.clock import Clock, SystemClock
from nfl_sync.config import Settings
from nfl_sync.domain.backoff import RetryPolicy
from nfl_sync.sources.http import HttpSource
from nfl_sync.sources.kalshi.client import KalshiClient
from nfl_sync.sources.limits import RateLimiter, per_second


def parse_weeks(text: str) -> list[int]:
    """`1-18`, `3` or `1,4,9-11` as the list of weeks."""
    weeks: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise argparse.ArgumentTypeError(f"weeks must look like 1-18 or 1,3,5, got {text!r}") from None
        if not 1 <= low <= high <= 25:
            raise argparse.ArgumentTypeError(f"weeks must be between 1 and 25, in order, got {part!r}")
        weeks.extend(range(low, high + 1))
    return sorted(set(weeks))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nfl_realtime_sync.py download",
        description="Save past games for backtests; then replay them with --replay DIR. Both downloads are "
        "resumable: run the same command again after an interruption.",
    )
    sources = parser.add_subparsers(dest="source", required=True, metavar="{espn,kalshi}")
    espn = sources.add_parser("espn", help="ESPN summaries of a season's finished games, as summary_<id>.json")
    espn.add_argument("--season", type=int, required=True, help="the season's year (2024 for the 2024-25 season)")
    espn.add_argument(
        "--weeks", type=parse_weeks, default=parse_weeks("1-18"), help="e.g. 1-18 or 1,3,5 (default 1-18)"
    )
    espn.add_argument(
        "--season-type", type=int, default=REGULAR_SEASON, choices=(1, 2, 3), help="1 pre, 2 regular (default), 3 post"
    )
    espn.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the summaries")
    kalshi = sources.add_parser(
        "kalshi", help="Kalshi trades and 1-minute candlesticks of the games' markets (2025 season on)"
    )
    kalshi.add_argument(
        "--games", type=Path, nargs="+", required=True, metavar="PATH", help="summary files or folders of them"
    )
    kalshi.add_argument(
        "--out", type=Path, metavar="DIR", help=f"history folder (default: {HISTORY_FOLDER} in the --games folder)"
    )
    kalshi.add_argument(
        "--series", help="comma-separated Kalshi series (default KALSHI_SERIES: game winner, spread, total)"
    )
    return parser


def run_download(settings: Settings, words: Sequence[str], clock: Clock | None = None) -> int:
    """The command; returns the exit status (2 for bad arguments or games that do not load)."""
    parser = build_parser()
    args = parser.parse_args(words)
    clock = clock or SystemClock()
    if args.source == "espn":
        espn = HttpSource(
            "espn",
            settings.espn_base_url,
            clock=clock,
            timeout=settings.http_timeout,
            retry=RetryPolicy(max_tries=settings.http_max_tries, deadline=settings.http_deadline),
            limiter=RateLimiter(
                per_second(settings.espn_rate_per_second) + ((settings.espn_rate_per_minute, 60.0),), clock
            ),
        )
        try:
            return SeasonDownload(espn, args.out).run(args.season, args.weeks, args.season_type)
        finally:
            espn.close()
    out = args.out
    if out is None:
        if len(args.games) != 1 or not args.games[0].is_dir():
            parser.error("--out is needed unless --games is one folder")
        out = args.games[0] / HISTORY_FOLDER
    try:
        games = find_games(args.games)
    except (FileNotFoundError, ValueError) as error:
        print(f"download kalshi: {error}")
        return 2
    series = [s.strip() for s in args.series.split(",") if s.strip()] if args.series else settings.kalshi_series
    client = KalshiClient(settings, clock)  # its token bucket keeps to KALSHI_READS_PER_SECOND
    try:
        return KalshiHistoryDownload(client.http, out, series).run(games)
    finally:
        client.close()
