"""The `report` command's day: its bounds, its figures as typed records, and their text.

A day is New York's (the NFL's, see `calendar.py`), from midnight to midnight whatever the DST;
times are shown in the zone the user configured. The records are filled by read-only SQL
(`storage/analytics.py`); everything here is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from nfl_sync.domain.calendar import EASTERN


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """New York's `day` as [start, end): 23, 24 or 25 hours long."""
    start = datetime.combine(day, time(0), EASTERN)
    end = datetime.combine(day + timedelta(days=1), time(0), EASTERN)
    return start, end


@dataclass(frozen=True)
class SyncStat:
    """One lane's (or source's) steps of the day, from nfl_data_sync_log."""

    sync_type: str
    runs: int
    failures: int
    mean_ms: Decimal | None
    p95_ms: Decimal | None
    last_run: datetime | None
    last_failure: datetime | None = None


@dataclass(frozen=True)
class AlertCount:
    """Alerts of one type recorded that day with one outcome (sent, suppressed, failed, pending)."""

    alert_type: str
    status: str
    count: int


@dataclass(frozen=True)
class ImpactStat:
    """Market moves of one kind at one impact level: `kind` is 'play reaction' (a significant
    play's market, measured after it) or 'price spike' (the plays linked to a spike). Moves are
    absolute percentages, reaction times seconds from the play."""

    kind: str
    impact_level: str
    count: int
    mean_move_pct: Decimal | None
    median_move_pct: Decimal | None
    mean_seconds: Decimal | None
    median_seconds: Decimal | None


@dataclass(frozen=True)
class Opportunity:
    """A game-winner market's price against ESPN's win probability (v_nfl_kalshi_opportunities)."""

    ticker: str
    away_team: str | None
    home_team: str | None
    team: str | None
    market_prob: Decimal | None
    espn_prob: Decimal | None
    edge: Decimal | None
    price_time: datetime | None


@dataclass(frozen=True)
class DailyReport:
    day: date
    sync: tuple[SyncStat, ...]
    alerts: tuple[AlertCount, ...]
    impacts: tuple[ImpactStat, ...]
    opportunities: tuple[Opportunity, ...]


IMPACT_ORDER = ("extreme", "high", "medium", "low")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], empty: str, left: int = 1) -> list[str]:
    """Columns padded to their widest cell: the first `left` (names) left-aligned, the figures
    right-aligned; `empty` alone when there are no rows."""
    rows = [list(row) for row in rows]
    if not rows:
        return [f"  {empty}"]
    widths = [max(len(row[i]) for row in [list(header), *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return ("  " + "  ".join(padded)).rstrip()

    return [line(header), *(line(row) for row in rows)]


def _num(value: Decimal | None, places: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{places}f}"


def _pct(value: Decimal | None) -> str:
    """A 0-1 probability as a percentage: 0.545 -> '54.5%'."""
    return "-" if value is None else f"{value * 100:.1f}%"


def _points(value: Decimal | None) -> str:
    """A 0-1 difference as signed percentage points: -0.2 -> '-20.0 pts'."""
    return "-" if value is None else f"{value * 100:+.1f} pts"


def _when(moment: datetime | None, tz: tzinfo) -> str:
    return "-" if moment is None else moment.astimezone(tz).strftime("%d %b %H:%M:%S")


def format_report(report: DailyReport, tz: tzinfo, now: datetime) -> str:
    """The report as plain text for a terminal, times in `tz`."""
    lines = [
        f"NFL pipeline report for {report.day:%a %d %b %Y} (New York's day)",
        f"as of {now.astimezone(tz):%Y-%m-%d %H:%M:%S %Z}; times in {tz}",
        "",
        "Sync performance (nfl_data_sync_log)",
    ]
    lines += _table(
        ("lane", "runs", "failed", "failed %", "mean ms", "p95 ms", "last run", "last failure"),
        (
            (
                s.sync_type,
                f"{s.runs:,}",
                f"{s.failures:,}",
                f"{100 * s.failures / s.runs:.1f}" if s.runs else "-",
                _num(s.mean_ms, 1),
                _num(s.p95_ms, 1),
                _when(s.last_run, tz),
                _when(s.last_failure, tz),
            )
            for s in report.sync
        ),
        "no sync steps recorded",
    )
    lines += ["", "Alerts by type and outcome (nfl_alert_history)"]
    statuses = sorted({a.status for a in report.alerts})
    by_type: dict[str, dict[str, int]] = {}
    for count in report.alerts:
        by_type.setdefault(count.alert_type, {})[count.status] = count.count
    lines += _table(
        ("type", *statuses, "total"),
        (
            (kind, *(f"{counts.get(s, 0):,}" for s in statuses), f"{sum(counts.values()):,}")
            for kind, counts in sorted(by_type.items())
        ),
        "no alerts recorded",
    )
    lines += ["", "Market moves by impact level (nfl_kalshi_correlations; moves absolute)"]
    impacts = sorted(report.impacts, key=lambda i: (i.kind, IMPACT_ORDER.index(i.impact_level)))
    lines += _table(
        ("kind", "impact", "count", "mean move", "median move", "mean s", "median s"),
        (
            (
                i.kind,
                i.impact_level,
                f"{i.count:,}",
                _num(i.mean_move_pct, 1) + "%",
                _num(i.median_move_pct, 1) + "%",
                _num(i.mean_seconds, 1),
                _num(i.median_seconds, 1),
            )
            for i in impacts
        ),
        "no correlations recorded",
        left=2,
    )
    lines += ["", "Current opportunities (v_nfl_kalshi_opportunities; edge = ESPN - market)"]
    lines += _table(
        ("ticker", "game", "side", "market", "ESPN", "edge", "price at"),
        (
            (
                o.ticker,
                f"{o.away_team} @ {o.home_team}" if o.away_team and o.home_team else "-",
                o.team or "-",
                _pct(o.market_prob),
                _pct(o.espn_prob),
                _points(o.edge),
                _when(o.price_time, tz),
            )
            for o in report.opportunities
        ),
        "none (no live game-winner market with ESPN's win probability)",
        left=3,
    )
    return "\n".join(lines)
