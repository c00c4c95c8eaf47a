"""Pure detection of market events: price spikes, and how a market reacted to a play.

A significant play schedules a `PendingCorrelation` holding its game's prices as of the play; a
poll `delay` seconds later resolves it into `Correlation` rows and, for a strong move, a
`market_reaction` event. A price spike is linked to the plays of its game in the minutes before.

The order within one poll: the play reactions that came due are resolved first, then the spikes
are detected, so a spike's alert lists each linked play with its own measured impact when it has
one; a play too recent to be measured yet (its reaction is read `delay` seconds after it) is
listed at once as a candidate linked by time, with the move's impact level. The alert never
waits for a measurement; the measurement is stored when it comes due, as for any play.
Nothing here does I/O or reads a clock: the loop passes `now` and the snapshots it polled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.events import AlertType, Event, LinkedPlay, MarketReactionData, PriceMoveData, Priority
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


def is_spike(before: Decimal, after: Decimal, threshold_pct: Decimal, min_cents: Decimal) -> bool:
    """Whether a move from `before` to `after` (dollars) is a spike: at least `threshold_pct`
    percent of the price before AND at least `min_cents` cents. Both tests are exact Decimal
    arithmetic (no rounded percentage), so a move exactly at a threshold counts. The floor keeps
    half-cent wiggles of a cheap market's mid quiet; the percentage keeps a 1-cent step of a
    60-cent market quiet."""
    if before <= 0:
        return False
    cents = abs(after - before) * 100
    return cents >= threshold_pct * before and cents >= min_cents


def _number(value: Decimal) -> str:
    """7.50 -> '7.5', 70 -> '70' (never '7E+1')."""
    return f"{value.normalize():f}"


def market_line(market: KalshiMarket) -> str | None:
    """The line a spread or total market prices, as a bettor writes it: a spread market's YES
    side "TB wins by over 7.5 points" is "TB −7.5", a total's "over 68.5 points" is "Over 68.5";
    a half or quarter market is prefixed with its segment ("1H NO −7.5"). The line is Kalshi's
    `floor_strike` (the ticker's suffix is only rounded), the team the ticker's; None for a game
    winner market or when either is missing."""
    if market.line is None:
        return None
    if market.market_kind == "spread" and market.team:
        text = f"{market.team} {'−' if market.line >= 0 else '+'}{_number(abs(market.line))}"
    elif market.market_kind == "total":
        text = f"Over {_number(market.line)}"
    else:
        return None
    return f"{market.segment} {text}" if market.segment else text


MAX_LINKED_PLAYS = 5


def linked_plays(
    plays: Sequence[Play], ticker: str, move_impact: str, measured: Mapping[tuple[str, str], str]
) -> tuple[LinkedPlay, ...]:
    """The newest MAX_LINKED_PLAYS of `plays` (its game's plays in the window before the move),
    oldest first. A play whose own reaction on `ticker` is in `measured` ((play id, ticker) ->
    impact level) carries that level; the others are candidates linked by time, labelled with
    the move's `move_impact`."""
    linked = []
    for play in [p for p in plays if not p.is_administrative][-MAX_LINKED_PLAYS:]:
        level = measured.get((play.play_id, ticker))
        linked.append(
            LinkedPlay(
                play_id=play.play_id,
                text=play.text,
                impact_level=level or move_impact,
                measured=level is not None,
                period=play.period,
                clock=play.clock,
                tags=tuple(play.significance),
            )
        )
    return tuple(linked)


def _no_plays(game_id: str) -> Sequence[Play]:
    return ()


@dataclass(frozen=True)
class MoveContext:
    """What a price alert says beside the move, as the Kalshi lane knows it at the poll: the
    markets (ticker -> market) and games (game id -> game) of the poll, the plays of a game in
    the minutes before (`recent_plays(game_id)`, asked only for the markets that moved), and the
    play reactions measured so far ((play id, ticker) -> impact level)."""

    markets: Mapping[str, KalshiMarket] = field(default_factory=dict)
    games: Mapping[str, Game] = field(default_factory=dict)
    recent_plays: Callable[[str], Sequence[Play]] = _no_plays
    measured: Mapping[tuple[str, str], str] = field(default_factory=dict)


def detect_price_spikes(
    previous: Mapping[str, MarketSnapshot],
    snapshots: Iterable[MarketSnapshot],
    threshold_pct: Decimal,
    min_cents: Decimal,
    context: MoveContext | None = None,
) -> list[Event]:
    """A `kalshi_price` event per market whose mid moved past both thresholds (`is_spike`) since
    the last snapshot, saying what the market asks, its game's score and clock, and the plays of
    the game in the minutes before (`linked_plays`).
    Markets of one Kalshi event share a key per minute, so the outbox keeps the first of them.
    """
    context = context or MoveContext()
    events = []
    for snap in snapshots:
        old = previous.get(snap.ticker)
        if old is None:
            continue
        before, after = old.mid, snap.mid
        if before is None or after is None or not is_spike(before, after, threshold_pct, min_cents):
            continue
        pct = change_pct(before, after)
        window = int(snap.ts.timestamp()) // SPIKE_WINDOW_SECONDS
        market = context.markets.get(snap.ticker)
        game = context.games.get(snap.game_id or "")
        plays = list(context.recent_plays(snap.game_id or ""))
        data = PriceMoveData(
            ticker=snap.ticker,
            price_before=before,
            price_after=after,
            change_pct=pct,
            game_id=snap.game_id,
            volume=snap.volume,
            seconds=(snap.ts - old.ts).total_seconds(),
            title=market.title if market else None,
            subtitle=market.subtitle if market else None,
            line=market_line(market) if market else None,
            home_team=game.home_team if game else None,
            away_team=game.away_team if game else None,
            home_score=game.home_score if game else None,
            away_score=game.away_score if game else None,
            period=game.period if game else None,
            clock=game.clock if game else None,
            linked_plays=linked_plays(plays, snap.ticker, impact_level(pct), context.measured),
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
