"""Pure event detection: (what we knew, what a source shows now) -> events and the new knowledge.

Nothing here does I/O or reads a clock: the loop passes `now`. Every event carries the key that
makes it alert at most once, so the same detection run twice (a restart, a repeated response)
yields the same keys and the outbox drops the repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from nfl_sync.domain.models import Event, Game, Injury, MarketSnapshot, Play

# Tags of plays that deserve their own alert; scores are alerted as `score` events.
ALERT_TAGS = frozenset({"interception", "fumble_lost", "turnover_on_downs", "safety", "big_play"})
TURNOVER_TAGS = frozenset({"interception", "fumble_lost", "turnover_on_downs"})
ALERT_INJURY_STATUSES = frozenset({"out"})
SPIKE_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class GameState:
    """What detection remembers about one game between cycles (restored from the database)."""

    game_id: str
    home_team: str
    away_team: str
    home_score: int | None
    away_score: int | None
    state: str
    last_play_id: str | None = None
    known_play_ids: frozenset[str] = frozenset()
    # Known plays that already had a significance: ESPN can reveal one late (a turnover on downs
    # is only known once the drive's result is), and that late news must still alert.
    significant_ids: frozenset[str] = frozenset()
    alerted_total: int = 0  # points total of the newest score already alerted (or baselined)
    revision: int = 0  # corrections so far; part of score keys so a re-scored total alerts again
    pending_lower: tuple[int, int] | None = None  # a lower (away, home) score seen once, unconfirmed


@dataclass(frozen=True)
class GameUpdate:
    events: tuple[Event, ...]
    state: GameState
    new_plays: tuple[Play, ...] = ()
    significant: tuple[Play, ...] = ()  # plays significant for the first time: measure their market reaction


def _total(home: int | None, away: int | None) -> int:
    return (home or 0) + (away or 0)


def needs_play_by_play(prev: GameState | None, game: Game) -> bool:
    """Whether the game's play-by-play must be fetched this cycle."""
    if game.state == "pre":
        return False
    if prev is None:
        return True  # first sight of a started game: store its plays as the baseline
    return (
        (game.home_score, game.away_score) != (prev.home_score, prev.away_score)
        or game.state != prev.state
        or (game.last_play_id is not None and game.last_play_id != prev.last_play_id)
    )


def baseline(game: Game, plays: Sequence[Play] = ()) -> GameState:
    """Knowledge of a game first seen now: everything already happened is history, not news."""
    return GameState(
        game_id=game.game_id,
        home_team=game.home_team,
        away_team=game.away_team,
        home_score=game.home_score,
        away_score=game.away_score,
        state=game.state,
        last_play_id=game.last_play_id,
        known_play_ids=frozenset(p.play_id for p in plays),
        significant_ids=frozenset(p.play_id for p in plays if p.significance),
        alerted_total=_total(game.home_score, game.away_score),
    )


def score_key(game_id: str, revision: int, away: int | None, home: int | None) -> str:
    return f"score:{game_id}:{revision}:{away or 0}-{home or 0}"


def detect_game(prev: GameState | None, game: Game, plays: Sequence[Play] | None, now: datetime) -> GameUpdate:
    """Compare a game's new snapshot (and its plays, when fetched this cycle) with what we knew.

    Returns the events, the new state and the plays not seen before. Yields a `score` event per
    score change (from the scoring plays when we have them, from the
    scoreboard otherwise), a correction when a lower score is seen on two polls in a row, a
    final-score event, and a
    `significant_play` event per turnover, safety or long gain: for a new play, or for a known
    play whose significance ESPN reveals later (a turnover on downs once the drive has ended).
    Plays that arrive late or out of order are new as long as their id is new.
    """
    if prev is None:
        return GameUpdate((), baseline(game, plays or ()), ())
    events: list[Event] = []
    revision = prev.revision
    alerted_total = prev.alerted_total
    known = prev.known_play_ids
    new_plays: list[Play] = []
    new_total = _total(game.home_score, game.away_score)
    prev_total = _total(prev.home_score, prev.away_score)
    scores_known = game.home_score is not None and game.away_score is not None

    pending_lower = None
    if scores_known and new_total < prev_total:
        lower = (game.away_score, game.home_score)
        if prev.pending_lower == lower:
            revision += 1
            alerted_total = new_total
            events.append(_correction(game, prev, revision, now))
        else:
            # One stale response (a CDN cache) must not retract a score: wait for a second poll
            # and keep the scores we had meanwhile.
            pending_lower = lower
            scores_known = False
            game = replace(game, home_score=prev.home_score, away_score=prev.away_score)

    significant_ids = prev.significant_ids
    significant: list[Play] = []
    if plays is not None:
        ordered = sorted(plays, key=lambda p: p.sequence_number)
        new_plays = [p for p in ordered if p.play_id not in known]
        new_ids = {p.play_id for p in new_plays}
        before = (0, 0)
        for play in ordered:
            after = (play.away_score, play.home_score)
            if play.significance and play.play_id not in significant_ids:
                significant.append(play)
                if ALERT_TAGS.intersection(play.significance):
                    events.append(_significant_play(game, play, now))
            if play.play_id in new_ids and None not in after and after != before and _total(*after) > alerted_total:
                events.append(_score_from_play(game, play, before, revision, now))
                alerted_total = _total(*after)
            if None not in after:
                before = after
        known = known | new_ids
        significant_ids = significant_ids | {p.play_id for p in significant}

    if scores_known and new_total > alerted_total:
        events.append(_score_from_scoreboard(game, prev, revision, now))
        alerted_total = new_total

    if game.state == "post" and prev.state != "post":
        events.append(
            Event("score", f"final:{game.game_id}", "high", now, game.game_id, data=_score_data(game, final=True))
        )

    state = GameState(
        game_id=game.game_id,
        home_team=game.home_team,
        away_team=game.away_team,
        home_score=game.home_score if game.home_score is not None else prev.home_score,
        away_score=game.away_score if game.away_score is not None else prev.away_score,
        state="post" if prev.state == "post" else game.state,
        last_play_id=game.last_play_id or prev.last_play_id,
        known_play_ids=known,
        significant_ids=significant_ids,
        alerted_total=alerted_total,
        revision=revision,
        pending_lower=pending_lower,
    )
    return GameUpdate(tuple(events), state, tuple(new_plays), tuple(significant))


def _score_data(game: Game, **extra) -> dict:
    data = {
        "game_id": game.game_id,
        "home_team": game.home_team,
        "away_team": game.away_team,
        "home_score": game.home_score,
        "away_score": game.away_score,
        "period": game.period,
        "clock": game.clock,
    }
    data.update(extra)
    return data


def _scorer(game: Game, before: tuple[int, int], after: tuple[int, int]) -> tuple[str | None, int]:
    """Which team scored and how many points, from (away, home) scores before and after."""
    away_delta, home_delta = after[0] - before[0], after[1] - before[1]
    if home_delta > 0 and away_delta <= 0:
        return game.home_team, home_delta
    if away_delta > 0 and home_delta <= 0:
        return game.away_team, away_delta
    return None, away_delta + home_delta


def _score_from_play(game: Game, play: Play, before: tuple[int, int], revision: int, now: datetime) -> Event:
    after = (play.away_score, play.home_score)
    team, points = _scorer(game, before, after)
    data = _score_data(
        game,
        home_score=play.home_score,
        away_score=play.away_score,
        period=play.period,
        clock=play.clock,
        scoring_team=team,
        points=points,
        play_id=play.play_id,
        play_text=play.text,
        scoring_type=play.scoring_type,
        play_type=play.type,
    )
    return Event(
        "score", score_key(game.game_id, revision, *after), "high", play.wallclock or now, game.game_id, data=data
    )


def _score_from_scoreboard(game: Game, prev: GameState, revision: int, now: datetime) -> Event:
    before = (prev.away_score or 0, prev.home_score or 0)
    after = (game.away_score or 0, game.home_score or 0)
    team, points = _scorer(game, before, after)
    data = _score_data(game, scoring_team=team, points=points, play_text=game.last_play_text, play_id=game.last_play_id)
    return Event("score", score_key(game.game_id, revision, *after), "high", now, game.game_id, data=data)


def _correction(game: Game, prev: GameState, revision: int, now: datetime) -> Event:
    data = _score_data(game, correction=True, previous_home_score=prev.home_score, previous_away_score=prev.away_score)
    key = (
        f"correction:{game.game_id}:{revision}:{prev.away_score}-{prev.home_score}>{game.away_score}-{game.home_score}"
    )
    return Event("score", key, "high", now, game.game_id, data=data)


def _significant_play(game: Game, play: Play, now: datetime) -> Event:
    tags = tuple(play.significance)
    priority = "high" if TURNOVER_TAGS.intersection(tags) or "safety" in tags or "touchdown" in tags else "medium"
    data = {
        "game_id": game.game_id,
        "home_team": game.home_team,
        "away_team": game.away_team,
        "home_score": play.home_score,
        "away_score": play.away_score,
        "period": play.period,
        "clock": play.clock,
        "team": play.team,
        "play_id": play.play_id,
        "play_text": play.text,
        "play_type": play.type,
        "yards": play.yards,
        "tags": tags,
    }
    return Event(
        "significant_play",
        f"play:{game.game_id}:{play.play_id}",
        priority,
        play.wallclock or now,
        game.game_id,
        data=data,
    )


# --- Kalshi prices -------------------------------------------------------------------------


def change_pct(before: Decimal | None, after: Decimal | None) -> Decimal | None:
    """Relative change in percent, None when it cannot be computed."""
    if before is None or after is None or before == 0:
        return None
    return ((after - before) / before * 100).quantize(Decimal("0.01"))


def impact_level(pct: Decimal | None) -> str:
    """The seed's impact classes on the absolute relative move: >20 extreme, 10-20 high, 5-10 medium."""
    size = abs(pct) if pct is not None else Decimal(0)
    if size > 20:
        return "extreme"
    if size >= 10:
        return "high"
    if size >= 5:
        return "medium"
    return "low"


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
        if pct is None or abs(pct) < threshold_pct or abs(after - before) < min_move:
            continue
        window = int(snap.ts.timestamp()) // SPIKE_WINDOW_SECONDS
        plays = list(recent_plays(snap.game_id or ""))
        data = {
            "ticker": snap.ticker,
            "game_id": snap.game_id,
            "price_before": before,
            "price_after": after,
            "change_pct": pct,
            "volume": snap.volume,
            "seconds": (snap.ts - old.ts).total_seconds(),
            "recent_plays": [p.text for p in plays[-3:]],
        }
        # Keyed by event: both sides of a game-winner market move together and are one piece of news.
        event = snap.event_ticker or snap.ticker
        events.append(
            Event(
                "kalshi_price",
                f"price:{event}:{window}",
                "medium",
                snap.ts,
                snap.game_id,
                family=f"price:{event}",
                data=data,
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


def market_reaction_events(play: Play, game: Game | None, rows: Sequence[dict], now: datetime) -> list[Event]:
    """One `market_reaction` alert per play, for its biggest high or extreme market move."""
    strong = [r for r in rows if r["impact_level"] in ("high", "extreme") and r["change_pct"] is not None]
    if not strong:
        return []
    top = max(strong, key=lambda r: abs(r["change_pct"]))
    data = dict(top)
    data.update({"play_text": play.text, "tags": tuple(play.significance), "period": play.period, "clock": play.clock})
    if game is not None:
        data.update({"home_team": game.home_team, "away_team": game.away_team})
    priority = "high" if top["impact_level"] == "extreme" else "medium"
    return [Event("market_reaction", f"reaction:{play.game_id}:{play.play_id}", priority, now, play.game_id, data=data)]


# --- injuries ------------------------------------------------------------------------------


def injury_events(new_injuries: Iterable[Injury], teams_in_play: frozenset[str] | None, now: datetime) -> list[Event]:
    """An `injury` event per newly reported "Out", for teams on the current slate."""
    events = []
    for injury in new_injuries:
        if injury.status.lower() not in ALERT_INJURY_STATUSES:
            continue
        if teams_in_play is not None and injury.team not in teams_in_play:
            continue
        player_key = injury.player_id or injury.player
        day = (injury.reported_at or now).date().isoformat()
        data = {
            "player": injury.player,
            "position": injury.position,
            "team": injury.team,
            "status": injury.status,
            "injury": injury.injury,
            "return_date": injury.return_date,
            "reported_at": injury.reported_at,
        }
        events.append(
            Event(
                "injury",
                f"injury:{player_key}:{injury.status.lower()}:{day}",
                "medium",
                now,
                injury.game_id,
                family=f"injury:{player_key}",
                data=data,
            )
        )
    return events


def system_event(level: str, component: str, message: str, now: datetime, key_suffix: str) -> Event:
    """A message about the pipeline itself; critical ones are high priority."""
    priority = "high" if level == "critical" else "medium"
    return Event(
        "system",
        f"system:{component}:{key_suffix}",
        priority,
        now,
        family=f"system:{component}",
        data={"level": level, "component": component, "message": message},
    )
