"""Game charts as PNG: a `ChartSpec` (domain/game_chart.py) drawn with matplotlib, and
`chart_png(db, game_id)` for the final-score alert's photo, `/chart` and replays.

Drawn on matplotlib's Agg canvas, never pyplot: no GUI backend, no global figure registry, so a
chart can be drawn on any thread (the alert sender's) and nothing outlives the call. The picture is
1080 px wide and 1350 high (Telegram shows a 4:5 photo full width on a phone) with fonts sized
for that width.
"""

from __future__ import annotations

import io
import logging

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nfl_sync.domain.game_chart import ChartSpec, chart_spec
from nfl_sync.storage.manager import NFLDBManager

log = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX, DPI = 1080, 1350, 150
WIN_COLOR, PRICE_COLOR, SCORE_COLOR, PLAY_COLOR = "#1f4e9c", "#e07b00", "#1a7f37", "#b3261e"
# Marker labels: points above (or below) the marker, and the room one needs on the chart (minutes
# of game, percentage points) before the next label is left out rather than drawn over it.
LABEL_OFFSET, LABEL_ROOM_X, LABEL_ROOM_Y = 14, 9.0, 6.0
LABEL_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}
# (marker kind, colour, shape, legend label)
MARKER_STYLES = (("score", SCORE_COLOR, "o", "score"), ("play", PLAY_COLOR, "X", "turnover / big play"))


def build_figure(spec: ChartSpec) -> Figure:
    """The chart as a matplotlib figure (tests read the plotted values back from it)."""
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    figure.suptitle(f"{spec.title}\n", fontsize=17, fontweight="bold")
    axes.set_title(spec.subtitle, fontsize=10, color="#555555")
    axes.plot(spec.win_probability.x, spec.win_probability.y, color=WIN_COLOR, lw=2.2, label=spec.win_probability.label)
    if spec.price.x:
        axes.plot(spec.price.x, spec.price.y, color=PRICE_COLOR, lw=1.6, alpha=0.9, label=spec.price.label)
    for x, name in spec.quarters:
        axes.axvline(x, color="#999999", lw=0.8, ls="--")
        axes.text(x + 1, 1.5, name, ha="left", va="bottom", fontsize=11, color="#555555")
    placed: list[tuple[float, float]] = []  # where labels went, to keep the next ones off them
    for kind, color, shape, label in MARKER_STYLES:
        chosen = [m for m in spec.markers if m.kind == kind]
        if not chosen:
            continue
        xs, ys = [m.x for m in chosen], [m.y for m in chosen]
        axes.scatter(xs, ys, color=color, marker=shape, s=60, zorder=3, label=label)
        for i, marker in enumerate(chosen):
            offset = LABEL_OFFSET if i % 2 == 0 else -LABEL_OFFSET - 4  # above and below by turns
            spot = (marker.x, marker.y + offset / 4)
            if any(abs(spot[0] - x) < LABEL_ROOM_X and abs(spot[1] - y) < LABEL_ROOM_Y for x, y in placed):
                continue  # a label there already: the marker stays, its text would be unreadable
            placed.append(spot)
            axes.annotate(
                marker.label,
                (marker.x, marker.y),
                xytext=(0, offset),
                textcoords="offset points",
                ha="center",
                fontsize=10,
                color=color,
                bbox=LABEL_BOX,  # legible over the lines
            )
    for note in spec.annotations:
        axes.annotate(
            note.label,
            (note.x, note.y),
            xytext=(8, 0),
            textcoords="offset points",
            fontsize=10,
            fontweight="bold",
            color=PRICE_COLOR,
            va="center",
        )
    axes.set_ylim(-2, 104)  # a line at 0 or 100 % stays visible
    axes.set_yticks(range(0, 101, 20))
    axes.set_ylabel("%  /  ¢", fontsize=12)
    axes.set_xlabel("minutes since kickoff", fontsize=12)
    axes.tick_params(labelsize=11)
    axes.grid(True, alpha=0.3)
    figure.legend(loc="outside lower center", ncol=2, fontsize=10, frameon=False)
    return figure


def render_png(spec: ChartSpec) -> bytes:
    """The chart as PNG bytes, WIDTH_PX x HEIGHT_PX."""
    buffer = io.BytesIO()
    build_figure(spec).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def chart_png(db: NFLDBManager, game_id: str) -> bytes | None:
    """A game's chart as PNG, None when the game is unknown or has no play to place yet."""
    data = db.run(lambda tx: tx.analytics.game_chart_data(game_id))
    spec = chart_spec(data) if data is not None else None
    return render_png(spec) if spec is not None else None
