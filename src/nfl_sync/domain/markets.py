"""Pure detection of market events: price spikes, and how a market reacted to a play.

A significant play schedules a `PendingCorrelation` holding its game's prices as of the play; a
poll `delay` seconds later resolves it into `Correlation` rows and, for a strong move, a
`market_reaction` event. A price spike is linked to the plays of its game in the minutes before.
Nothing here does I/O or reads a clock: the loop passes `now` and the snapshots it polled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.events import AlertType, Event, MarketReactionData, PriceMoveData, Priority
from nfl_sync.domain.models import Correlation, Game, KalshiMarket, MarketSnapshot, Play

# Kalshi's statuses of a market that still trades (or will): the rest are closed or settled.
TRADING_STATUSES = frozenset(("initialized", "inactive", "active"))
SPIKE_WINDOW_SECONDS = 60
SNAPSHOT_HEARTBEAT = timedelta(seconds=60)  # store an unchanged price at least this often
STRONG_IMPACT = ("high", "extreme")


def change_pct(before: Decimal | None, after: Decimal | None) -> Decimal | None:
    """Relative change in percent, None when it cannot be computed."""
    if before is None or after is None or before == 0:
        return None
    return ((after - before) / before * 100).quantize(Decimal("0.01"))


def impact_level(pct: Decimal | None) -> str:
    """Impact classes of the absolute relative move: >20 extreme, 10-20 high, 5-10 medium, else low."""
    size = abs(pct) if pct is not None else Decimal(0)
    if size > 20:
        return "extreme"
    if size >= 10:
        return "high"
    if size >= 5:
        return "medium"
    return "low"


def worth_storing(snap: MarketSnapshot, last_stored: MarketSnapshot | None) -> bool:
    """A snapshot whose quote changed, or the first in a minute: not 12 identical rows a minute."""
    if last_stored is None or snap.ts - last_stored.ts >= SNAPSHOT_HEARTBEAT:
        return True
    quote = (snap.yes_bid, snap.yes_ask, snap.last_price, snap.volume)
    return quote != (last_stored.yes_bid, last_stored.yes_ask, last_stored.last_price, last_stored.volume)


def no_longer_trading(known: Iterable[str], listed: Iterable[KalshiMarket]) -> set[str]:
    """The markets done with, among the `known` ones and a poll's `listed` markets: listed with a
    status past trading (closed, settled), or known and left out of the listing (which holds the
    open markets only). A market listed again later is simply new again."""
    listed = list(listed)
    trading = {m.ticker for m in listed if m.status in TRADING_STATUSES}
    return {m.ticker for m in listed if m.ticker not in trading} | {t for t in known if t not in trading}


def detect_price_spikes(
    previous: Mapping[str, MarketSnapshot],
    snapshots: Iterable[MarketSnapshot],
    threshold_pct: Decimal,
    min_move: Decimal,
    recent_plays: Callable[[str], Sequence[Play]] = lambda game_id: (),
) -> list[Event]:
    """A `kalshi_price` event per market whose mid moved more than `threshold_pct` since the last
    snapshot (and by at least `min_move` dollars, so one-cent wiggles in cheap markets are not
    spikes). The plays of the market's game in the minutes before (`recent_plays(game_id)`, asked
    only for the markets that moved) are attached for context.
    Markets of one Kalshi event share a key per minute, so the outbox keeps the first of them.
    """
    events = []
    for snap in snapshots:
        old = previous.get(snap.ticker)
        if old is None:
            continue
        before, after = old.mid, snap.mid
        pct = change_pct(before, after)
        if pct is None or before is None or after is None or abs(pct) < threshold_pct or abs(after - before) < min_move:
            continue
        window = int(snap.ts.timestamp()) // SPIKE_WINDOW_SECONDS
        plays = list(recent_plays(snap.game_id or ""))
        data = PriceMoveData(
            ticker=snap.ticker,
            price_before=before,
            price_after=after,
            change_pct=pct,
            game_id=snap.game_id,
            volume=snap.volume,
            seconds=(snap.ts - old.ts).total_seconds(),
            recent_plays=tuple(p.text for p in plays[-3:]),
        )
        # Keyed by event: both sides of a game-winner market move together and are one piece of news.
        event = snap.event_ticker or snap.ticker
        events.append(
            Event(
                AlertType.KALSHI_PRICE,
                f"price:{event}:{window}",
                Priority.MEDIUM,
                snap.ts,
                data,
                snap.game_id,
                family=f"price:{event}",
            )
        )
    return events


def plays_before(plays: Sequence[Play], at: datetime, minutes: float = 2) -> list[Play]:
    """The plays whose wall clock falls in the `minutes` before `at` (the context of a move)."""
    start = at - timedelta(minutes=minutes)
    return [p for p in plays if p.wallclock is not None and start <= p.wallclock <= at]


@dataclass(frozen=True)
class PendingCorrelation:
    """A significant play whose market reaction is measured `delay` seconds after detection."""

    play: Play
    detected_at: datetime
    due_at: datetime
    before: Mapping[str, MarketSnapshot] = field(default_factory=dict)  # ticker -> price at the play


def prices_at_play(
    play: Play, latest: Iterable[MarketSnapshot], history: Callable[[str], Iterable[MarketSnapshot]]
) -> dict[str, MarketSnapshot]:
    """Each market's price as of the play: the newest of its `history` at the play's wall clock,
    else its `latest` snapshot."""
    before = {}
    for snap in latest:
        seen = [s for s in history(snap.ticker) if play.wallclock is None or s.ts <= play.wallclock]
        before[snap.ticker] = seen[-1] if seen else snap
    return before


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(str(round(delta.total_seconds(), 3)))


def resolve_correlations(
    due: Sequence[PendingCorrelation],
    snapshots: Sequence[MarketSnapshot],
    games: Mapping[str, Game],
    now: datetime,
) -> tuple[list[Correlation], list[Event]]:
    """The due plays' market moves (as of `snapshots`) and the market reactions they make."""
    latest = {s.ticker: s for s in snapshots}
    correlations: list[Correlation] = []
    reactions: list[Event] = []
    for job in due:
        rows = []
        for ticker, before in job.before.items():
            after = latest.get(ticker)
            if after is None:
                continue
            pct = change_pct(before.mid, after.mid)
            moment = job.play.wallclock or job.detected_at
            rows.append(
                Correlation(
                    game_id=job.play.game_id,
                    play_id=job.play.play_id,
                    ticker=ticker,
                    event_type=job.play.significance[0],
                    price_before=before.mid,
                    price_after=after.mid,
                    change_pct=pct,
                    impact_level=impact_level(pct),
                    seconds_after=_seconds(after.ts - moment),
                    play_time=job.play.wallclock,
                    created_at=now,
                )
            )
        correlations.extend(rows)
        reactions.extend(market_reaction_events(job.play, games.get(job.play.game_id), rows, now))
    return correlations, reactions


def spike_correlations(
    spikes: Sequence[Event], recent: Callable[[str], Sequence[Play]], now: datetime
) -> list[Correlation]:
    """Link each price spike to the plays of its game in the minutes before it."""
    rows = []
    for spike in spikes:
        data = spike.data
        if not isinstance(data, PriceMoveData):
            continue
        for play in recent(data.game_id or ""):
            rows.append(
                Correlation(
                    game_id=play.game_id,
                    play_id=play.play_id,
                    ticker=data.ticker,
                    event_type="price_spike",
                    price_before=data.price_before,
                    price_after=data.price_after,
                    change_pct=data.change_pct,
                    impact_level=impact_level(data.change_pct),
                    seconds_after=_seconds(now - (play.wallclock or now)),
                    play_time=play.wallclock,
                    created_at=now,
                )
            )
    return rows


def market_reaction_events(play: Play, game: Game | None, rows: Sequence[Correlation], now: datetime) -> list[Event]:
    """One `market_reaction` alert per play, for its biggest high or extreme market move."""
    strong = [(r, r.change_pct) for r in rows if r.impact_level in STRONG_IMPACT and r.change_pct is not None]
    if not strong:
        return []
    top, _ = max(strong, key=lambda pair: abs(pair[1]))
    data = MarketReactionData(
        ticker=top.ticker,
        impact_level=top.impact_level,
        game_id=top.game_id,
        play_id=top.play_id,
        event_type=top.event_type,
        price_before=top.price_before,
        price_after=top.price_after,
        change_pct=top.change_pct,
        seconds_after=top.seconds_after,
        play_time=top.play_time,
        play_text=play.text,
        tags=tuple(play.significance),
        period=play.period,
        clock=play.clock,
        home_team=game.home_team if game is not None else None,
        away_team=game.away_team if game is not None else None,
    )
    priority = Priority.HIGH if top.impact_level == "extreme" else Priority.MEDIUM
    return [
        Event(AlertType.MARKET_REACTION, f"reaction:{play.game_id}:{play.play_id}", priority, now, data, play.game_id)
    ]
