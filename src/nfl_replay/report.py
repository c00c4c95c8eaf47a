"""The backtest report of a replay: what its games produced, per game and in total.

`backtest_report` reads the database (the queries of `tx.backtests`), so the report
of games replayed in several processes is the same as of one; everything else is pure:
`build_report` turns those rows into a `BacktestReport`, `format_report` into text, `report_to_json`
into JSON, and `compare_reports` tells two such JSON reports apart (a run with
`--set PRICE_SPIKE_PCT=8` against the default one).

Figures on synthetic Kalshi prices are kept apart from those on real price history and labelled:
they say how the pipeline behaves on made-up prices, never how the market behaves. All times are
seconds of the replay's simulated clock (plays' wall clocks, alert and price timestamps).
"""

from __future__ import annotations

import bisect
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from nfl_sync.config import Settings
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.tx import Tx

IMPACT_LEVELS = ("low", "medium", "high", "extreme")  # weakest first, as domain.markets.impact_level grades
STATUSES = ("sent", "failed", "suppressed", "pending")
REAL, SYNTHETIC = "real", "synthetic"
# A move later than this after a play is the market answering something else.
REACTION_WINDOW = timedelta(minutes=5)
CLOCK = "simulated"
SECRET_WORDS = ("TOKEN", "PASSWORD", "KEY", "DATABASE_URL")  # overrides whose value a report must not show

Row = Mapping[str, Any]


@dataclass(frozen=True)
class ReportRows:
    """What the database holds about the games, one list per `tx.backtests` query."""

    games: Sequence[Row]  # game_id, away_team, home_team, away_score, home_score, state, plays
    alert_outcomes: Sequence[Row]  # game_id, alert_type, status, n
    alert_latencies: Sequence[Row]  # game_id, alert_type, recorded_s, sent_s (None until sent)
    correlations: Sequence[Row]  # game_id, impact_level, n, n_change, sum_abs_change_pct, n_seconds, sum_seconds_after
    measured_plays: Sequence[Row]  # game_id, play_id, wallclock, impact_level (one row per level measured)
    price_moves: Sequence[Row]  # game_id, ticker, ts, change_pct: moves of at least the spike threshold


@dataclass(frozen=True)
class RunSettings:
    """The settings a run's figures depend on, for the report and for comparing runs."""

    overridden: Mapping[str, str]  # `--set` KEY=VALUE, secrets hidden
    thresholds: Mapping[str, float]  # the effective values, by environment name
    min_spike_move: float  # dollars: PRICE_SPIKE_MIN_CENTS, the floor a spike's move must reach too
    reaction_window_s: float = REACTION_WINDOW.total_seconds()

    @property
    def spike_pct(self) -> Decimal:
        return Decimal(str(self.thresholds["PRICE_SPIKE_PCT"]))


@dataclass(frozen=True)
class Spread:
    """How a set of durations (seconds) spreads: its count, median, 95th percentile and maximum."""

    n: int
    p50: float | None
    p95: float | None
    max: float | None


@dataclass(frozen=True)
class AlertFigures:
    """One alert type: how many ended in each status, and how long after their play (for the
    alerts about a play) they were recorded and sent."""

    outcomes: Mapping[str, int]
    recorded_after_play: Spread
    sent_after_play: Spread


@dataclass(frozen=True)
class ImpactFigures:
    """One impact level: the correlations stored at it, and the market reaction time of the plays
    whose strongest measured move had it (seconds from the play to the first move of at least the
    spike threshold in the game's markets, within the reaction window)."""

    correlations: int
    mean_abs_change_pct: float | None
    mean_seconds_after: float | None
    plays: int
    reacted: int
    no_reaction: int
    median_reaction_s: float | None


@dataclass(frozen=True)
class Figures:
    alerts: Mapping[str, AlertFigures]  # by alert type
    impacts: Mapping[str, ImpactFigures]  # by impact level, weakest first


@dataclass(frozen=True)
class GameReport:
    game_id: str
    away_team: str
    home_team: str
    away_score: int | None
    home_score: int | None
    state: str
    plays: int
    prices: str  # REAL or SYNTHETIC
    figures: Figures


@dataclass(frozen=True)
class BacktestReport:
    games: Sequence[GameReport]
    totals: Mapping[str, Figures]  # by price source (REAL, SYNTHETIC), for the sources present
    games_by_prices: Mapping[str, int]
    settings: RunSettings
    clock: str = CLOCK


def run_settings(settings: Settings) -> RunSettings:
    """The effective thresholds of `settings` and what `--set` overrode in them."""
    thresholds: dict[str, float] = {
        "PRICE_SPIKE_PCT": settings.price_spike_pct,
        "PRICE_SPIKE_MIN_CENTS": settings.price_spike_min_cents,
        "BIG_PLAY_YARDS": settings.big_play_yards,
        "CORRELATION_DELAY": settings.correlation_delay,
        "SYNC_INTERVAL": settings.sync_interval,
        "DAILY_ALERT_LIMIT": settings.daily_alert_limit,
    }
    thresholds.update({f"ALERT_COOLDOWN_{kind.upper()}": s for kind, s in sorted(settings.cooldowns.items())})
    overridden = {
        name: "(hidden)" if any(word in name for word in SECRET_WORDS) else value
        for name, value in sorted(settings.overrides.items())
    }
    return RunSettings(overridden, thresholds, settings.price_spike_min_cents / 100)


def backtest_report(
    db: NFLDBManager, game_ids: Sequence[str], real_price_games: frozenset[str], settings: Settings
) -> BacktestReport:
    """The report of the games as the database holds them."""
    run = run_settings(settings)

    def read(tx: Tx) -> ReportRows:
        ask = tx.backtests
        return ReportRows(
            games=ask.games(game_ids),
            alert_outcomes=ask.alert_outcomes(game_ids),
            alert_latencies=ask.alert_latencies(game_ids),
            correlations=ask.correlations(game_ids),
            measured_plays=ask.measured_plays(game_ids),
            price_moves=ask.price_moves(game_ids, run.spike_pct, Decimal(str(settings.price_spike_min_cents)) / 100),
        )

    return build_report(db.run(read), real_price_games, run)


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`th percentile of `values` (not empty), interpolated linearly between the two
    nearest ranks (numpy's default method)."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Iterable[float | None]) -> Spread:
    known = [v for v in values if v is not None]
    if not known:
        return Spread(0, None, None, None)
    return Spread(len(known), percentile(known, 50), percentile(known, 95), max(known))


def reaction_seconds(
    wallclock: datetime, moves: Sequence[Row], move_times: Sequence[datetime], spike_pct: Decimal, window: timedelta
) -> float | None:
    """Seconds from a play to the first of its game's `moves` (sorted by time, `move_times` their
    times) after it of at least `spike_pct`, or None when there is none within `window`."""
    start = bisect.bisect_right(move_times, wallclock)
    for move in moves[start:]:
        if move["ts"] - wallclock > window:
            break
        if abs(move["change_pct"]) >= spike_pct:
            return (move["ts"] - wallclock).total_seconds()
    return None


def _by_game(rows: Iterable[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["game_id"]].append(row)
    return grouped


@dataclass
class _GameRows:
    """One game's rows, with its plays' reaction times worked out."""

    alert_outcomes: list[Row] = field(default_factory=list)
    alert_latencies: list[Row] = field(default_factory=list)
    correlations: list[Row] = field(default_factory=list)
    reactions: list[tuple[str, float | None]] = field(default_factory=list)  # (impact level, seconds)


def _game_rows(rows: ReportRows, run: RunSettings) -> dict[str, _GameRows]:
    games: dict[str, _GameRows] = defaultdict(_GameRows)
    for game_id, outcomes in _by_game(rows.alert_outcomes).items():
        games[game_id].alert_outcomes = outcomes
    for game_id, latencies in _by_game(rows.alert_latencies).items():
        games[game_id].alert_latencies = latencies
    for game_id, correlations in _by_game(rows.correlations).items():
        games[game_id].correlations = correlations
    moves = {game: sorted(m, key=lambda r: r["ts"]) for game, m in _by_game(rows.price_moves).items()}
    window = timedelta(seconds=run.reaction_window_s)
    for game_id, measured in _by_game(rows.measured_plays).items():
        strongest: dict[tuple[str, datetime], str] = {}
        for row in measured:
            key = (row["play_id"], row["wallclock"])
            level = strongest.get(key, IMPACT_LEVELS[0])
            strongest[key] = max(level, row["impact_level"], key=IMPACT_LEVELS.index)
        game_moves = moves.get(game_id, [])
        times = [m["ts"] for m in game_moves]
        for (_, wallclock), level in strongest.items():
            seconds = reaction_seconds(wallclock, game_moves, times, run.spike_pct, window)
            games[game_id].reactions.append((level, seconds))
    return games


def _mean(total: Decimal | float, n: int) -> float | None:
    return float(total) / n if n else None


def _figures(games: Sequence[_GameRows]) -> Figures:
    """The figures of `games` pooled (percentiles and means over all their alerts and plays)."""
    outcomes: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    latencies: dict[str, list[Row]] = defaultdict(list)
    correlation_rows: dict[str, list[Row]] = defaultdict(list)
    reactions: dict[str, list[float | None]] = defaultdict(list)
    for game in games:
        for row in game.alert_outcomes:
            outcomes[row["alert_type"]][row["status"]] += row["n"]
        for row in game.alert_latencies:
            latencies[row["alert_type"]].append(row)
        for row in game.correlations:
            correlation_rows[row["impact_level"]].append(row)
        for level, seconds in game.reactions:
            reactions[level].append(seconds)
    alerts = {
        kind: AlertFigures(
            outcomes[kind],
            spread(r["recorded_s"] for r in latencies[kind]),
            spread(r["sent_s"] for r in latencies[kind]),
        )
        for kind in sorted(outcomes.keys() | latencies.keys())
    }
    impacts = {}
    for level in IMPACT_LEVELS:
        rows, plays = correlation_rows[level], reactions[level]
        if not rows and not plays:
            continue
        reacted = [s for s in plays if s is not None]
        impacts[level] = ImpactFigures(
            correlations=sum(r["n"] for r in rows),
            mean_abs_change_pct=_mean(sum(r["sum_abs_change_pct"] for r in rows), sum(r["n_change"] for r in rows)),
            mean_seconds_after=_mean(sum(r["sum_seconds_after"] for r in rows), sum(r["n_seconds"] for r in rows)),
            plays=len(plays),
            reacted=len(reacted),
            no_reaction=len(plays) - len(reacted),
            median_reaction_s=percentile(reacted, 50) if reacted else None,
        )
    return Figures(alerts, impacts)


def build_report(rows: ReportRows, real_price_games: frozenset[str], run: RunSettings) -> BacktestReport:
    """The report of the games in `rows`: each game's figures, and totals per price source."""
    per_game = _game_rows(rows, run)
    games = []
    by_source: dict[str, list[_GameRows]] = defaultdict(list)
    for game in rows.games:
        source = REAL if game["game_id"] in real_price_games else SYNTHETIC
        these = per_game.get(game["game_id"], _GameRows())
        by_source[source].append(these)
        games.append(
            GameReport(
                game_id=game["game_id"],
                away_team=game["away_team"],
                home_team=game["home_team"],
                away_score=game["away_score"],
                home_score=game["home_score"],
                state=game["state"],
                plays=game["plays"],
                prices=source,
                figures=_figures([these]),
            )
        )
    sources = [s for s in (REAL, SYNTHETIC) if by_source[s]]
    return BacktestReport(
        games=games,
        totals={s: _figures(by_source[s]) for s in sources},
        games_by_prices={s: len(by_source[s]) for s in sources},
        settings=run,
    )


def report_to_json(report: BacktestReport) -> str:
    """The report as JSON (what `--report-json` writes and `--compare` reads)."""
    return json.dumps(asdict(report), indent=2)


PRICE_LABELS = {
    REAL: "REAL Kalshi prices (recorded history)",
    SYNTHETIC: "SYNTHETIC Kalshi prices: the pipeline on made-up prices, not the market's behaviour",
}


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _spread_text(s: Spread) -> str:
    return "-" if not s.n else f"{_number(s.p50)}/{_number(s.p95)}/{_number(s.max)}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Aligned columns: the first to the left, the others to the right."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        indent
        + "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in [header, *rows]
    ]


def _figures_text(figs: Figures) -> list[str]:
    if not figs.alerts:
        lines = ["  alerts: none"]
    else:
        lines = _table(
            ["alerts", *STATUSES, "recorded after play s p50/p95/max", "sent after play s p50/p95/max"],
            [
                [kind, *(str(a.outcomes.get(s, 0)) for s in STATUSES)]
                + [_spread_text(a.recorded_after_play), _spread_text(a.sent_after_play)]
                for kind, a in figs.alerts.items()
            ],
        )
    if not figs.impacts:
        return [*lines, "  correlations: none"]
    return lines + _table(
        [
            "impact",
            "correlations",
            "mean |change| %",
            "mean s after",
            "plays",
            "reacted",
            "no reaction",
            "median reaction s",
        ],
        [
            [
                level,
                str(i.correlations),
                _number(i.mean_abs_change_pct, 2),
                _number(i.mean_seconds_after),
                str(i.plays),
                str(i.reacted),
                str(i.no_reaction),
                _number(i.median_reaction_s),
            ]
            for level, i in figs.impacts.items()
        ],
    )


def format_report(report: BacktestReport) -> str:
    """The report as the replay prints it at its end: one block per game, then the totals."""
    run = report.settings
    overridden = ", ".join(f"{k}={v}" for k, v in run.overridden.items()) or "none"
    lines = [
        "",
        f"Backtest report: {len(report.games)} game(s); all times in seconds of the {report.clock} clock "
        "(the replay's), from the play's wall clock",
        f"Settings overridden (--set): {overridden}",
        "Thresholds: " + ", ".join(f"{k}={v:g}" for k, v in run.thresholds.items()),
        f"Market reaction: the first move of a game's market of >= {run.spike_pct}% (and >= "
        f"${run.min_spike_move:.2f}) between two stored prices, within {run.reaction_window_s:g} s after the "
        "play; plays graded by their strongest measured move",
    ]
    for game in report.games:
        lines += [
            "",
            f"{game.away_team} {game.away_score} @ {game.home_team} {game.home_score} ({game.state}), "
            f"{game.plays} plays  [game {game.game_id}]  prices: {game.prices.upper()}",
            *_figures_text(game.figures),
        ]
    for source, figs in report.totals.items():
        lines += [
            "",
            f"Total over {report.games_by_prices[source]} game(s) with {PRICE_LABELS[source]}",
            *_figures_text(figs),
        ]
    return "\n".join(lines)


def read_report(path: Path) -> dict[str, Any]:
    """A report `--report-json` wrote. Raises ValueError when the file holds something else."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the report {path}: {error}") from None
    if not isinstance(report, dict) or not {"games", "totals", "settings"} <= report.keys():
        raise ValueError(f"{path} is not a backtest report (--report-json writes one)")
    return report


def compare_reports(base: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs from the `base` report in the `new` one (both as `report_to_json` writes them):
    settings, then per price source the alerts by type and status, the correlations and the
    reaction times by impact level."""
    lines = []
    for key in ("overridden", "thresholds"):
        old, now = base["settings"][key], new["settings"][key]
        lines += [
            f"  {key} {name}: {old.get(name, '-')} -> {now.get(name, '-')}"
            for name in sorted(old.keys() | now.keys())
            if old.get(name) != now.get(name)
        ]
    if [g["game_id"] for g in base["games"]] != [g["game_id"] for g in new["games"]]:
        lines.append("  the runs replayed different games: their totals are not comparable one to one")
    for source in [s for s in (REAL, SYNTHETIC) if s in base["totals"] or s in new["totals"]]:
        old, now = base["totals"].get(source, {}), new["totals"].get(source, {})
        changes = _alert_changes(old.get("alerts", {}), now.get("alerts", {})) + _impact_changes(
            old.get("impacts", {}), now.get("impacts", {})
        )
        if changes:
            lines += [f"  {source.upper()} prices:", *changes]
    return lines or ["  no differences"]


def _change(label: str, old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    text = f"    {label}: {'-' if old is None else old} -> {'-' if new is None else new}"
    if isinstance(old, int | float) and isinstance(new, int | float):
        text += f" ({new - old:+g})"
    return [text]


def _alert_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = []
    for kind in sorted(old.keys() | new.keys()):
        before, after = old.get(kind, {}).get("outcomes", {}), new.get(kind, {}).get("outcomes", {})
        for status in STATUSES:
            lines += _change(f"{kind} alerts {status}", before.get(status, 0), after.get(status, 0))
    return lines


IMPACT_FIGURES = ("correlations", "mean_abs_change_pct", "plays", "reacted", "no_reaction", "median_reaction_s")


def _impact_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = []
    for level in [lv for lv in IMPACT_LEVELS if lv in old or lv in new]:
        before, after = old.get(level, {}), new.get(level, {})
        for name in IMPACT_FIGURES:
            lines += _change(
                f"{level} impact {name.replace('_', ' ')}", _rounded(before.get(name)), _rounded(after.get(name))
            )
    return lines


def _rounded(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value
