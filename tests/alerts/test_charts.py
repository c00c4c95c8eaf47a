"""The game chart as drawn: the figure's lines are the spec's series (read back before rendering),
its markers and reaction labels are there, and the PNG is 1080 px wide, 1350 high; `chart_png`
draws a stored game and has nothing for a game without plays."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from matplotlib.image import imread

from factories import game
from nfl_sync.alerts.charts import HEIGHT_PX, WIDTH_PX, build_figure, chart_png, render_png
from nfl_sync.domain.game_chart import ChartGame, ChartPlay, GameChartData, PricePoint, Reaction, chart_spec

KICKOFF = datetime(2023, 9, 17, 17, 0, tzinfo=UTC)


def spec():
    plays = tuple(
        ChartPlay(
            f"p{n}",
            1 + n // 4,
            KICKOFF + timedelta(minutes=5 * n),
            n == 3,
            7 if n >= 3 else 0,
            0,
            ("touchdown",) if n == 3 else ("interception",) if n == 5 else (),
            None,
            Decimal(str(0.5 - n / 50)),
        )
        for n in range(8)
    )
    prices = tuple(PricePoint(KICKOFF + timedelta(minutes=2 * n), Decimal(str(0.52 - n / 100))) for n in range(10))
    game = ChartGame("g", "GB", "ATL", 24, 25, "final", KICKOFF)
    return chart_spec(GameChartData(game, plays, prices, (Reaction("p3", Decimal("0.45"), Decimal("0.27")),)))


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_the_figure_plots_the_spec():
    chart = spec()
    figure = build_figure(chart)
    axes = figure.axes[0]
    win, price = axes.get_lines()[:2]
    assert (tuple(win.get_xdata()), tuple(win.get_ydata())) == (chart.win_probability.x, chart.win_probability.y)
    assert (tuple(price.get_xdata()), tuple(price.get_ydata())) == (chart.price.x, chart.price.y)
    assert tuple(price.get_ydata())[:2] == (52.0, 51.0)
    texts = {t.get_text() for t in axes.texts}
    assert {"GB 7 – 0 ATL", "INT", "-18¢", "Q2"} <= texts
    assert [t.get_text() for t in figure.legends[0].get_texts()][:2] == [
        "ESPN: ATL win probability",
        "Kalshi: ATL to win (¢)",
    ]


def test_the_png_is_phone_sized():
    png = render_png(spec())
    assert png_size(png) == (WIDTH_PX, HEIGHT_PX) == (1080, 1350)
    assert 30_000 < len(png) < 1_000_000
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (1350, 1080)
    assert pixels.std() > 0.05  # something is drawn, not a blank canvas


def test_chart_png_of_a_stored_game(db):
    assert chart_png(db, "401547417") is None  # unknown
    db.run(lambda tx: tx.games.upsert_game(game()))
    assert chart_png(db, "401547417") is None  # no play yet
