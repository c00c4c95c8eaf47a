"""The command line: `python src/nfl_realtime_sync.py [run|db|telegram|report] ...`.

With no sub-command it runs the daemon, so the options users already know (`--once`,
`--interval`, `--dry-run`, `--record`, `--replay`) work as they always did. `db migrate` applies
the schema; `telegram --test` checks the bot token and every chat; `report [--date YYYY-MM-DD]`
prints a day's figures from the database (read only). Settings come from the environment and
`.env`; a malformed one ends the command with one line and exit status 2.

`--replay` and `download` are served by the replay tooling, a package of its own that imports the
daemon (never the reverse): the entry script hands its runners to `main`.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from nfl_sync.config import Settings, load_settings_or_exit
from nfl_sync.domain.errors import DatabaseError
from nfl_sync.logging_setup import configure_logging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayRequest:
    """What `--replay` was asked: the recordings (summaries, folders, recorded sessions), the
    speed in game-seconds per second (None: max), and the backtest's options."""

    paths: Sequence[Path]
    speed: float | None
    kalshi_history: Path | None = None  # downloaded Kalshi history, when not beside the summaries
    report_json: Path | None = None  # where to write the report as JSON
    compare: Path | None = None  # an earlier report to compare with
    workers: int = 1  # processes
    charts: Path | None = None  # the folder for the games' charts


# Runs a replay: (settings, what was asked) -> exit status.
ReplayRunner = Callable[[Settings, ReplayRequest], int]


# Runs `download ...`: (settings, the words after `download`) -> exit status.
DownloadRunner = Callable[[Settings, Sequence[str]], int]


def _run_options(defaults: bool) -> argparse.ArgumentParser:
    """The daemon's options. The `run` command repeats them without defaults, so that an option
    given before the word `run` is not reset by it."""
    options = argparse.ArgumentParser(add_help=False, argument_default=None if defaults else argparse.SUPPRESS)
    options.add_argument("--once", action="store_true", help="run one sync cycle, deliver its alerts, and exit")
    options.add_argument(
        "--interval", type=float, metavar="S", help="seconds between cycles (default SYNC_INTERVAL, 5)"
    )
    options.add_argument("--dry-run", action="store_true", help="send alerts to the console only, never to Telegram")
    options.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default LOG_LEVEL, INFO")
    options.add_argument(
        "--record",
        metavar="DIR",
        type=Path,
        help="keep every ESPN and Kalshi response in DIR, one compressed file per UTC day (default RECORD_DIR)",
    )
    options.add_argument(
        "--replay",
        nargs="+",
        metavar="PATH",
        type=Path,
        help="replay recorded ESPN game summaries (files or folders), or sessions recorded with --record "
        "(their folders), through the whole pipeline",
    )
    options.add_argument(
        "--speed",
        metavar="N|max",
        help="replay speed: N game-seconds per second, or max (default 60)",
        default="60" if defaults else argparse.SUPPRESS,
    )
    options.add_argument(
        "--kalshi-history",
        metavar="DIR",
        type=Path,
        help="Kalshi price history for --replay (default: a kalshi_history folder beside the summaries)",
    )
    options.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="replay in N processes, each taking whole dates of games, or a share of one date's (default 1)",
        default=1 if defaults else argparse.SUPPRESS,
    )
    _backtest_options(options)
    options.add_argument(
        "--charts",
        metavar="DIR",
        type=Path,
        help="with --replay: write each game's chart to DIR/<game_id>.png",
    )
    return options


def _backtest_options(options: argparse.ArgumentParser) -> None:
    """The options of a replay used as a backtest: settings tried, and reports kept and compared."""
    options.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="replay only: override a setting by its environment name, e.g. PRICE_SPIKE_PCT=8 (repeatable)",
    )
    options.add_argument("--report-json", type=Path, metavar="FILE", help="replay only: also write the report as JSON")
    options.add_argument(
        "--compare",
        type=Path,
        metavar="FILE",
        help="replay only: print what changed from the report an earlier --report-json wrote",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nfl_realtime_sync.py",
        usage="%(prog)s [run] [options] | db migrate | telegram --test | report [--date YYYY-MM-DD] "
        "| download {espn,kalshi} ...",
        parents=[_run_options(defaults=True)],
        description="Watch live NFL games and Kalshi markets, store everything in PostgreSQL and send alerts.",
        epilog="Without a command the daemon runs. Settings come from the environment and .env (see "
        ".env.example). Exit status: 0 after a clean shutdown, 1 when --once had a failing step, 2 for a "
        "configuration error, 3 when another instance leads on the same database (--once did nothing, or "
        "the daemon lost its lease to it).",
    )
    commands = parser.add_subparsers(dest="command", metavar="{run,db,telegram,report,download}")
    commands.add_parser("run", parents=[_run_options(defaults=False)], help="run the daemon (the default)")
    db = commands.add_parser("db", help="database commands")
    db.add_subparsers(dest="db_command", required=True, metavar="{migrate}").add_parser(
        "migrate", help="apply the schema to the configured (or embedded) database and say what was done"
    )
    telegram = commands.add_parser("telegram", help="Telegram commands")
    telegram.add_argument(
        "--test",
        action="store_true",
        required=True,
        help="check the bot token (getMe) and send a test message to every TELEGRAM_CHAT_ID",
    )
    report = commands.add_parser(
        "report",
        help="print a day's sync performance, alerts, market-move statistics and current opportunities",
    )
    report.add_argument(
        "--date",
        type=_day,
        metavar="YYYY-MM-DD",
        help="the day (New York's) to report on; default today",
    )
    # Listed for --help only: `main` hands the words after `download` to the replay tooling.
    commands.add_parser(
        "download", help="save past games for backtests: ESPN summaries of a season, Kalshi price history (--help)"
    )
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.interval is not None and not (math.isfinite(args.interval) and args.interval > 0):
        parser.error("--interval must be a number > 0")
    if args.speed != "max":
        try:
            if not (math.isfinite(float(args.speed)) and float(args.speed) > 0):
                raise ValueError
        except ValueError:
            parser.error("--speed must be a positive number or max")
    if not args.replay and (args.set or args.report_json or args.compare):
        parser.error("--set, --report-json and --compare apply to --replay only")
    if args.workers < 1:
        parser.error("--workers must be 1 or more")
    if args.workers > 1 and not args.replay:
        parser.error("--workers is for --replay; the daemon runs in one process")
    return args


def main(
    argv: Sequence[str] | None = None, replay: ReplayRunner | None = None, download: DownloadRunner | None = None
) -> int:
    """The command; `replay` runs `--replay` and `download` the downloads (the entry script passes
    the replay tooling's)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["download"]:
        return run_download(words[1:], download)
    args = parse_args(words)
    if args.command == "db":
        return migrate()
    if args.command == "telegram":
        return telegram_test()
    if args.command == "report":
        return report(args.date)
    return run(args, replay)


def run(args: argparse.Namespace, replay: ReplayRunner | None) -> int:
    """The daemon (or one cycle of it, or a replay) with the command line's overrides."""
    from nfl_sync.app import run_daemon

    settings = load_settings_or_exit(args.set or ())
    overrides: dict[str, Any] = {}
    if args.interval is not None:
        overrides["sync_interval"] = args.interval
    if args.log_level:
        overrides["log_level"] = args.log_level
    if args.record is not None:
        overrides["record_dir"] = args.record.resolve()
    settings = replace(settings, **overrides)
    log_file = configure_logging(settings.log_level, settings.log_dir, _secrets(settings))
    log.info("NFL real-time sync starting (log file %s)", log_file)
    if args.replay:
        if replay is None:
            log.error("--replay needs the replay tooling: run src/nfl_realtime_sync.py")
            return 2
        request = ReplayRequest(
            args.replay,
            None if args.speed == "max" else float(args.speed),
            kalshi_history=args.kalshi_history,
            report_json=args.report_json,
            compare=args.compare,
            workers=args.workers,
            charts=args.charts,
        )
        return replay(settings, request)
    try:
        return run_daemon(settings, once=args.once, dry_run=args.dry_run)
    except DatabaseError as error:
        # Before its first step the daemon has nothing to hold writes for: one line naming the
        # database beats a traceback, and the supervisor starts it again.
        log.error("Could not start: %s (%s)", error, settings.database.describe())
        return 1


def run_download(words: Sequence[str], download: DownloadRunner | None) -> int:
    """`download ...`: the replay tooling parses its own options."""
    if download is None:
        print("download needs the replay tooling: run src/nfl_realtime_sync.py", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return download(load_settings_or_exit(), words)


def migrate() -> int:
    """Apply the schema to the configured (or embedded) database and say what was done."""
    from nfl_sync.storage.manager import NFLDBManager
    from nfl_sync.storage.migrations import apply_migrations

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings_or_exit()
    db = NFLDBManager.from_settings(settings)
    try:
        applied = apply_migrations(db)
    finally:
        db.close()
    if applied:
        print(f"Applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("Schema is up to date; nothing to apply.")
    return 0


def telegram_test() -> int:
    """getMe and a test message to every chat, with a diagnosis; exit 0 when all work."""
    from nfl_sync.alerts.service import channel_from_settings
    from nfl_sync.clock import SystemClock

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings_or_exit()
    channel = channel_from_settings(settings)
    try:
        ok = channel.test_connection(settings.telegram_parse_mode, settings.timezone, SystemClock().now(), print)
    finally:
        channel.close()
    return 0 if ok else 1


def report(day: date | None) -> int:
    """Print New York's `day` (default today) in figures from the configured (or embedded)
    database; exit 1 when the database cannot be read."""
    from nfl_sync.clock import SystemClock
    from nfl_sync.domain.calendar import eastern_date
    from nfl_sync.domain.daily_report import format_report
    from nfl_sync.storage.manager import NFLDBManager

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings_or_exit()
    now = SystemClock().now()
    day = day or eastern_date(now)
    try:
        db = NFLDBManager.from_settings(settings)
    except DatabaseError as error:  # the embedded server would not start, or the pool not open
        print(f"report: cannot open the database: {error}", file=sys.stderr)
        return 1
    try:
        figures = db.run(lambda tx: tx.analytics.daily_report(day))
    except DatabaseError as error:
        print(f"report: cannot read the database: {error}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print(format_report(figures, settings.timezone, now))
    return 0


def _secrets(settings: Settings) -> list[str]:
    """What the logs must never show: the bot token and the database password."""
    password = urlsplit(settings.database.url).password if settings.database.url else None
    # The URL holds the password percent-encoded ('p%40ss' for 'p@ss'); errors may show either.
    passwords = (password, unquote(password)) if password else ()
    return [secret for secret in (settings.telegram_bot_token, *passwords) if secret]
