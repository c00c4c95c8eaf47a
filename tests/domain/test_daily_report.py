"""The report's pure part: New York's day as bounds, and the figures as text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from nfl_sync.domain.daily_report import DailyReport, ImpactStat, Opportunity, day_bounds, format_report

NOW = datetime(2023, 9, 17, 20, 0, tzinfo=UTC)


def test_a_day_is_new_yorks_from_midnight_to_midnight_whatever_the_dst():
    start, end = day_bounds(date(2023, 9, 17))
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        datetime(2023, 9, 17, 4, tzinfo=UTC),
        datetime(2023, 9, 18, 4, tzinfo=UTC),
    )
    start, end = day_bounds(date(2023, 11, 5))  # clocks go back: 25 hours
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 25 * 3600


def test_moves_by_impact_and_opportunities_read_as_a_trader_writes_them():
    report = DailyReport(
        date(2023, 9, 17),
        sync=(),
        alerts=(),
        impacts=(
            ImpactStat("play reaction", "high", 4, Decimal("12.5"), Decimal("11"), Decimal("5.2"), Decimal("5")),
            ImpactStat("play reaction", "extreme", 2, Decimal("31.67"), Decimal("30"), Decimal("7"), Decimal("6")),
        ),
        opportunities=(
            Opportunity(
                "KXNFLGAME-23SEP17GBATL-ATL",
                "GB",
                "ATL",
                "ATL",
                Decimal("0.51"),
                Decimal("0.70"),
                Decimal("0.19"),
                datetime(2023, 9, 17, 19, 59, 55, tzinfo=UTC),
            ),
            Opportunity("KXNFLGAME-23SEP17GBATL-GB", None, None, None, None, None, None, None),
        ),
    )

    lines = format_report(report, ZoneInfo("America/Chicago"), NOW).splitlines()

    assert lines[:2] == [
        "NFL pipeline report for Sun 17 Sep 2023 (New York's day)",
        "as of 2023-09-17 15:00:00 CDT; times in America/Chicago",
    ]
    assert "  no sync steps recorded" in lines and "  no alerts recorded" in lines
    moves = lines.index("Market moves by impact level (nfl_kalshi_correlations; moves absolute)")
    assert lines[moves + 1 : moves + 4] == [
        "  kind           impact   count  mean move  median move  mean s  median s",
        "  play reaction  extreme      2      31.7%        30.0%     7.0       6.0",  # strongest first
        "  play reaction  high         4      12.5%        11.0%     5.2       5.0",
    ]
    assert lines[-3:] == [
        "  ticker                      game      side  market   ESPN       edge         price at",
        "  KXNFLGAME-23SEP17GBATL-ATL  GB @ ATL  ATL    51.0%  70.0%  +19.0 pts  17 Sep 14:59:55",
        "  KXNFLGAME-23SEP17GBATL-GB   -         -          -      -          -                -",
    ]
