"""Pure rendering of alert events into Telegram message text, escaped for the parse mode used.

`render(event, parse_mode, tz)` returns the text to send with `parse_mode` "HTML", "MarkdownV2"
or None (plain text, for the console). Every interpolated value goes through the parse mode's
escaping, so a team, a player or a play text holding `-`, `.`, `(`, `!`, `<` or `&` can never
make Telegram answer "can't parse entities". A message never exceeds `BODY_LIMIT` (Telegram's
4096 minus room for the resend notice): the longest value is shortened until it fits. Times are
shown in the zone `tz`.

Templates read `Event.fields()`, the fields of the event's data record (`events.py`); only starred
fields are required, the others are left out of the message when None:

- score: home_team*, away_team*, home_score*, away_score*, scoring_team, points, scoring_type,
  period, clock, play_text; `final` (True on the final-score alert); `correction` (True when
  the score went down) with previous_home_score, previous_away_score; `status` (final_ot on a
  final in overtime; suspended, postponed, canceled or resumed on a game stopped short or resumed).
- significant_play: play_text*, home_team, away_team, home_score, away_score, team, yards,
  tags (classifier tags: touchdown, interception, fumble_lost, turnover_on_downs, safety,
  big_play ...), period, clock; `correction` (True when an alerted turnover was taken back).
- injury: player*, status*, position, team, injury, previous_status, return_date; `starter` (True
  for a player first on his team's depth chart), and the team's game: opponent, home, kickoff.
- kalshi_price: ticker*, price_before*, price_after*, title, subtitle, line, change_pct, volume,
  seconds, home_team, away_team, home_score, away_score, period, clock, linked_plays (each a
  mapping: impact_level*, measured, text, period, clock, tags).
- market_reaction: ticker*, impact_level*, price_before, price_after, change_pct, seconds_after,
  play_text, tags, home_team, away_team, period, clock.
- system: level* (critical / warning / info), component*, message*.
- edge: ticker*, team*, market_price*, espn_probability*, edge_points*, home_team, away_team,
  home_score, away_score, period, clock, title, yes_bid, yes_ask, spread, bid_size, ask_size,
  probability_source.

Prices are Decimal dollars between 0 and 1 (shown in cents), `change_pct` a Decimal percent
(15.6 means +15.6 %), volumes Decimal contracts. Numbers may also arrive as strings (a payload
read back from JSON); they are read with `Decimal(str(value))`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from nfl_sync.domain.events import Event
from nfl_sync.domain.markup import BODY_LIMIT, Markup, clean, markup, text_length

# --- value formatting ----------------------------------------------------------------------


def _present(value: Any) -> bool:
    """Whether a text value would show anything (blank text is left out with its label)."""
    return value is not None and clean(value) != ""


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _cents(price: Any) -> str:
    cents = (_decimal(price) * 100).quantize(Decimal("0.1")).normalize()
    return f"{cents:f}¢"


def _percent(value: Any) -> str:
    return f"{_decimal(value):+.1f}%"


def _count(value: Any) -> str:
    return f"{_decimal(value):,.0f}"


def _quarter(period: Any) -> str:
    number = int(period)
    if number <= 4:
        return f"Q{number}"
    return "OT" if number == 5 else f"{number - 4}OT"


def _game_clock(data: Mapping[str, Any]) -> str | None:
    """'Q3 - 8:24' from period and clock, or None when the period is unknown."""
    if data.get("period") is None:
        return None
    quarter = _quarter(data["period"])
    return f"{quarter} - {clean(data['clock'])}" if _present(data.get("clock")) else quarter


def _local_time(moment: datetime, tz: tzinfo) -> str:
    """'Tue Nov 24, 1:05 PM EST': built by hand because %-I is not portable."""
    local = moment.astimezone(tz)
    hour = local.hour % 12 or 12
    return f"{local:%a %b} {local.day}, {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}"


def _matchup(data: Mapping[str, Any]) -> str | None:
    """'KC 21 @ BUF 17' (away @ home), without scores when they are unknown."""
    away, home = data.get("away_team"), data.get("home_team")
    if not away or not home:
        return None
    if data.get("away_score") is None or data.get("home_score") is None:
        return f"{clean(away)} @ {clean(home)}"
    return f"{clean(away)} {data['away_score']} @ {clean(home)} {data['home_score']}"


def _price_move(data: Mapping[str, Any]) -> str | None:
    if data.get("price_before") is None or data.get("price_after") is None:
        return None
    move = f"{_cents(data['price_before'])} → {_cents(data['price_after'])}"
    return f"{move} ({_percent(data['change_pct'])})" if data.get("change_pct") is not None else move


# --- templates: each returns its lines, already formatted; None lines are left out ----------

Lines = list[str | None]

_SCORE_TYPES = {
    "TD": "touchdown",
    "FG": "field goal",
    "SF": "safety",
    "XP": "extra point",
    "2PT": "two-point conversion",
}


# Headers of a game stopped short or resumed (ScoreData.status).
_STATUS_HEADERS = {
    "suspended": ("⏸️", "GAME SUSPENDED"),
    "postponed": ("📅", "GAME POSTPONED"),
    "canceled": ("🚫", "GAME CANCELED"),
    "resumed": ("▶️", "GAME RESUMED"),
}


def _score(data: Mapping[str, Any], m: Markup) -> Lines:
    status = str(data.get("status") or "")
    if data.get("final"):
        header = "🏁 " + m.bold("FINAL SCORE (OT)" if status == "final_ot" else "FINAL SCORE")
    elif status in _STATUS_HEADERS:
        emoji, title = _STATUS_HEADERS[status]
        header = emoji + " " + m.bold(title)
    elif data.get("correction"):
        header = "⚠️ " + m.bold("SCORE CORRECTION")
    else:
        header = "🏈 " + m.bold("SCORE UPDATE")
    lines: Lines = [header, "", m.bold(_matchup(data))]
    if data.get("correction") and data.get("previous_away_score") is not None:
        previous = {**data, "away_score": data["previous_away_score"], "home_score": data.get("previous_home_score")}
        lines.append(m.text(f"Was: {_matchup(previous)}"))
    if _present(data.get("scoring_team")) and data.get("points"):
        points = int(data["points"])
        how = _SCORE_TYPES.get(str(data.get("scoring_type") or ""))
        scored = f"{clean(data['scoring_team'])} score {points} point{'s' if points != 1 else ''}!"
        lines.append("🎯 " + m.text(f"{scored} ({how})" if how else scored))
    clock = _game_clock(data)
    lines.append("⏱️ " + m.text(clock) if clock else None)
    lines.append("📝 " + m.italic(data["play_text"]) if _present(data.get("play_text")) else None)
    return lines


# First matching tag names the play; turnovers outrank scores, which outrank yardage.
_PLAY_HEADLINES = (
    ("interception", "🔄", "INTERCEPTION"),
    ("fumble_lost", "🔄", "FUMBLE LOST"),
    ("turnover_on_downs", "🔄", "TURNOVER ON DOWNS"),
    ("safety", "🛡️", "SAFETY"),
    ("touchdown", "🏈", "TOUCHDOWN"),
    ("big_play", "⚡", "BIG PLAY"),
)


def _play_headline(tags: Any) -> tuple[str, str]:
    present = set(tags or ())
    for tag, emoji, title in _PLAY_HEADLINES:
        if tag in present:
            return emoji, title
    return "⚡", "SIGNIFICANT PLAY"


def _significant_play(data: Mapping[str, Any], m: Markup) -> Lines:
    emoji, title = ("⚠️", "TURNOVER REVERSED") if data.get("correction") else _play_headline(data.get("tags"))
    matchup, clock = _matchup(data), _game_clock(data)
    situation = " · ".join(part for part in (matchup, clock) if part)
    gain = None
    if data.get("yards") is not None:
        yards = int(data["yards"])
        gain = f"{yards} yard{'s' if abs(yards) != 1 else ''}"
        gain = f"{clean(data['team'])}: {gain}" if _present(data.get("team")) else gain
    return [
        emoji + " " + m.bold(title),
        "",
        m.text(situation) if situation else None,
        "📏 " + m.text(gain) if gain else None,
        "📝 " + m.italic(data["play_text"]) if _present(data["play_text"]) else None,
    ]


def _injury(data: Mapping[str, Any], m: Markup, tz: tzinfo) -> Lines:
    player = clean(data["player"])
    role = [clean(data["position"])] if _present(data.get("position")) else []
    if data.get("starter"):
        role.append("starter")
    name = m.bold(player) + (" " + m.text(f"({', '.join(role)})") if role else "")
    status = clean(data["status"])
    if _present(data.get("previous_status")):
        status = f"{clean(data['previous_status'])} → {status}"
    return [
        "🚑 " + m.bold("STARTER INJURY" if data.get("starter") else "INJURY UPDATE"),
        "",
        name,
        m.text(f"Team: {clean(data['team'])}") if _present(data.get("team")) else None,
        m.text(f"Game: {_injury_game(data, tz)}") if _present(data.get("opponent")) else None,
        m.text(f"Status: {status}"),
        m.text(f"Injury: {clean(data['injury'])}") if _present(data.get("injury")) else None,
        m.text(f"Expected return: {clean(data['return_date'])}") if _present(data.get("return_date")) else None,
    ]


# A linked play's text is cut to this many characters: five of them must leave the message room.
_LINKED_PLAY_TEXT = 160


def _question(data: Mapping[str, Any]) -> str | None:
    """'Los Angeles R at Dallas: winner? — Los Angeles R': Kalshi's title, and its subtitle (the
    YES side) unless the title is just that side: the subtitle itself, or Kalshi's game-winner
    title '<side> wins'."""
    title = clean(data["title"]) if _present(data.get("title")) else ""
    subtitle = clean(data["subtitle"]) if _present(data.get("subtitle")) else ""
    said = title.rstrip("?").casefold()
    if subtitle and said not in (subtitle.casefold(), f"{subtitle} wins".casefold()):
        return f"{title} — {subtitle}" if title else subtitle
    return title or None


def _linked_play(play: Mapping[str, Any]) -> str:
    """'Q3 - 8:24 · interception · impact high: J.Love pass ... INTERCEPTED'; a play whose own
    reaction is not measured yet is linked by time, with the move's level."""
    level = ("impact " if play.get("measured") else "by time, move ") + clean(play["impact_level"])
    tags = ", ".join(clean(tag).replace("_", " ") for tag in play.get("tags") or ())
    head = " · ".join(part for part in (_game_clock(play), tags, level) if part)
    text = clean(play.get("text") or "")
    if len(text) > _LINKED_PLAY_TEXT:
        text = text[: _LINKED_PLAY_TEXT - 1] + "…"
    return f"• {head}: {text}" if text else f"• {head}"


def _injury_game(data: Mapping[str, Any], tz: tzinfo) -> str:
    """'GB @ ATL, kickoff Sun Sep 17, 1:00 PM EDT' (away @ home), or 'vs ATL' when the side is unknown."""
    team, opponent, home = clean(data.get("team") or ""), clean(data["opponent"]), data.get("home")
    game = f"vs {opponent}"
    if team and home is not None:
        game = f"{opponent} @ {team}" if home else f"{team} @ {opponent}"
    kickoff = data.get("kickoff")
    if kickoff is None:
        return game
    moment = kickoff if isinstance(kickoff, datetime) else datetime.fromisoformat(str(kickoff))
    return f"{game}, kickoff {_local_time(moment, tz)}"


def _kalshi_price(data: Mapping[str, Any], m: Markup) -> Lines:
    rising = _decimal(data["price_after"]) >= _decimal(data["price_before"])
    seconds = f" in {_count(data['seconds'])} s" if data.get("seconds") is not None else ""
    situation = " · ".join(part for part in (_matchup(data), _game_clock(data)) if part)
    question = _question(data)
    plays = data.get("linked_plays") or ()
    lines: Lines = [
        ("📈 " if rising else "📉 ") + m.bold("KALSHI PRICE MOVEMENT"),
        "",
        m.bold(question) if question else None,
        m.text(f"Line: {clean(data['line'])}") if _present(data.get("line")) else None,
        "🏟️ " + m.text(situation) if situation else None,
        m.text(f"Price: {_price_move(data)}{seconds}"),
        m.text(f"Volume: {_count(data['volume'])} contracts") if data.get("volume") is not None else None,
    ]
    if plays:
        lines.append(m.text("Linked plays:"))
        lines.extend(m.text(_linked_play(play)) for play in plays)
    lines.append(m.text("Ticker:") + " " + m.code(data["ticker"]))
    return lines


def _market_reaction(data: Mapping[str, Any], m: Markup) -> Lines:
    level = clean(data["impact_level"]).upper()
    emoji = "🔥" if level == "EXTREME" else "⚡"
    situation = " · ".join(part for part in (_matchup(data), _game_clock(data)) if part)
    move = _price_move(data)
    if move and data.get("seconds_after") is not None:
        move = f"{move} within {_count(data['seconds_after'])} s"
    return [
        emoji + " " + m.bold(f"MARKET REACTION: {level}"),
        "",
        m.text(situation) if situation else None,
        "📝 " + m.italic(data["play_text"]) if _present(data.get("play_text")) else None,
        m.text(f"Price: {move}") if move else None,
        m.text("Ticker:") + " " + m.code(data["ticker"]),
    ]


def _probability(value: Any) -> str:
    return f"{_decimal(value) * 100:.1f}%"


def _edge(data: Mapping[str, Any], m: Markup) -> Lines:
    situation = " · ".join(part for part in (_matchup(data), _game_clock(data)) if part)
    quote = None
    if data.get("yes_bid") is not None and data.get("yes_ask") is not None:
        quote = f"bid {_cents(data['yes_bid'])} / ask {_cents(data['yes_ask'])}"
        if data.get("spread") is not None:
            quote += f", spread {_cents(data['spread'])}"
    depth = None
    if data.get("bid_size") is not None or data.get("ask_size") is not None:
        sizes = [
            f"{_count(data[key])} at the {side}"
            for key, side in (("bid_size", "bid"), ("ask_size", "ask"))
            if data.get(key) is not None
        ]
        depth = "Top of book: " + ", ".join(sizes) + " (contracts)"
    source = f" ({clean(data['probability_source'])})" if _present(data.get("probability_source")) else ""
    return [
        "💰 " + m.bold(f"EDGE: {clean(data['team'])} CHEAP VS ESPN"),
        "",
        m.text(situation) if situation else None,
        m.bold(data["title"]) if _present(data.get("title")) else None,
        m.text(f"Kalshi: {_cents(data['market_price'])}" + (f" ({quote})" if quote else "")),
        m.text(f"ESPN win probability: {_probability(data['espn_probability'])}{source}"),
        m.text(f"Edge: {_decimal(data['edge_points']):+.1f} points"),
        m.text(depth) if depth else None,
        m.text("Ticker:") + " " + m.code(data["ticker"]),
    ]


_SYSTEM_HEADERS = {"critical": ("🚨", "SYSTEM CRITICAL"), "warning": ("⚠️", "SYSTEM WARNING")}


def _system(data: Mapping[str, Any], m: Markup) -> Lines:
    emoji, title = _SYSTEM_HEADERS.get(str(data["level"]).lower(), ("ℹ️", "SYSTEM NOTICE"))
    return [emoji + " " + m.bold(title), "", m.text(f"Component: {clean(data['component'])}"), m.text(data["message"])]


# Keys a message cannot be written without (see the module docstring).
_REQUIRED = {
    "score": ("home_team", "away_team", "home_score", "away_score"),
    "significant_play": ("play_text",),
    "injury": ("player", "status"),
    "kalshi_price": ("ticker", "price_before", "price_after"),
    "market_reaction": ("ticker", "impact_level"),
    "system": ("level", "component", "message"),
    "edge": ("ticker", "team", "market_price", "espn_probability", "edge_points"),
}

_TEMPLATES: dict[str, Callable[[Mapping[str, Any], Markup], Lines]] = {
    "score": _score,
    "significant_play": _significant_play,
    "kalshi_price": _kalshi_price,
    "market_reaction": _market_reaction,
    "system": _system,
    "edge": _edge,
}


# Bounds that keep the field names of a raw listing well inside BODY_LIMIT.
_RAW_FIELDS = 40
_RAW_KEY_LENGTH = 60


# Templates that show a time of their own (in the zone the alerts are read in).
_ZONED_TEMPLATES: dict[str, Callable[[Mapping[str, Any], Markup, tzinfo], Lines]] = {"injury": _injury}


def _raw_fields(event: Event) -> Callable[[Mapping[str, Any], Markup], Lines]:
    """A template listing the event's fields as they are, for data no template can format."""

    def template(data: Mapping[str, Any], m: Markup) -> Lines:
        fields: Lines = [m.text(f"{key}: {value}") for key, value in sorted(data.items())]
        return ["🔔 " + m.bold(f"{event.alert_type.upper()} ALERT"), "", *fields]

    return template


def _render_once(
    event: Event,
    data: Mapping[str, Any],
    m: Markup,
    tz: tzinfo,
    template: Callable[[Mapping[str, Any], Markup], Lines],
) -> str:
    lines = template(data, m)
    lines.append("🕒 " + m.text(_local_time(event.occurred_at, tz)))
    if event.held_since is not None:
        late = f"first seen {_local_time(event.held_since, tz)}, {event.held_seconds:.0f} s late"
        lines.append("⏳ " + m.italic(f"Delayed by a database outage ({late})"))
    return "\n".join(line for line in lines if line is not None)


def render(event: Event, parse_mode: str | None, tz: tzinfo) -> str:
    """The message for `event` in `parse_mode`, at most `BODY_LIMIT` characters long.

    Raises ValueError for an unknown alert type or parse mode, and KeyError when a required
    data key is missing.
    """
    template: Callable[[Mapping[str, Any], Markup], Lines]
    if event.alert_type in _ZONED_TEMPLATES:
        zoned = _ZONED_TEMPLATES[event.alert_type]
        template = lambda data, m: zoned(data, m, tz)  # noqa: E731
    elif event.alert_type in _TEMPLATES:
        template = _TEMPLATES[event.alert_type]
    else:
        raise ValueError(f"no template for alert type {event.alert_type!r}")
    m = markup(parse_mode)
    data = event.fields()
    missing = [key for key in _REQUIRED[event.alert_type] if data.get(key) is None]
    if missing:
        raise KeyError(f"{event.alert_type} alert {event.key!r} lacks {', '.join(missing)}")
    return _fit(event, data, m, tz, template)


def render_raw(event: Event, parse_mode: str | None, tz: tzinfo) -> str:
    """The event's fields listed as they are, escaped and within `BODY_LIMIT`: what is sent when
    `render` fails on malformed data, because a plain alert beats a lost one. Never raises for
    data; ValueError only for an unknown parse mode."""
    fields = [(key, value) for key, value in event.fields().items() if value is not None][:_RAW_FIELDS]
    data = {key[:_RAW_KEY_LENGTH]: value if isinstance(value, str) else str(value) for key, value in fields}
    return _fit(event, data, markup(parse_mode), tz, _raw_fields(event))


def _fit(
    event: Event, data: dict[str, Any], m: Markup, tz: tzinfo, template: Callable[[Mapping[str, Any], Markup], Lines]
) -> str:
    """The rendered message, its longest text value shortened until it fits `BODY_LIMIT`.

    Cutting the raw value (rather than the rendered message) can never split an escape sequence
    or a tag. Each round removes at least the excess from one value, so it ends; a message whose
    fixed text alone is too long would be a template bug.
    """
    text = _render_once(event, data, m, tz, template)
    while text_length(text) > BODY_LIMIT:
        key = max((k for k, v in data.items() if isinstance(v, str)), key=lambda k: len(data[k]), default=None)
        if key is None or len(data[key]) <= 1:
            raise ValueError(f"{event.alert_type} alert {event.key!r} cannot fit in {BODY_LIMIT} characters")
        excess = text_length(text) - BODY_LIMIT
        data[key] = data[key][: max(0, len(data[key]) - excess - 1)] + "…"
        text = _render_once(event, data, m, tz, template)
    return text
