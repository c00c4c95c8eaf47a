"""What the bot answers, as text escaped for the parse mode: short, and readable on a phone.

Pure: each function takes the facts (a chat's settings, games, the daemon's state) and returns
the message. No reply names a setting, a host, a token or an error text: a chat sees what it
follows, the games and whether the daemon keeps up, never how it is configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from decimal import Decimal

from nfl_sync.domain.alert_templates import _cents, _game_clock, _local_time
from nfl_sync.domain.commands import CHOOSABLE_TYPES, COMMANDS, GameLine
from nfl_sync.domain.markup import Markup
from nfl_sync.domain.subscriptions import ChatSettings
from nfl_sync.domain.teams import resolve


@dataclass(frozen=True)
class LaneState:
    """A lane as the health monitor sees it: its last success, failed steps in a row, throttled."""

    name: str
    last_success: datetime | None
    failures: int
    throttled: bool


@dataclass(frozen=True)
class DaemonStatus:
    """What `/status` shows: the /healthz verdict and status word (never its reason: it may
    quote an upstream's error), the heartbeat's last success, each lane, pending alerts."""

    healthy: bool
    status: str
    last_cycle: datetime | None
    live_games: int
    lanes: tuple[LaneState, ...]
    pending_alerts: int | None


def _team(abbr: str) -> str:
    team = resolve(abbr)
    return f"{abbr} ({team.name})" if team is not None else abbr


def _teams(abbrs: Iterable[str]) -> str:
    return ", ".join(_team(abbr) for abbr in sorted(abbrs))


def help_text(m: Markup) -> str:
    lines = [m.bold("🏈 NFL alerts bot"), ""]
    lines += [f"/{name} {m.text('- ' + description)}" for name, description in COMMANDS]
    lines += ["", m.italic("Teams: DAL, Cowboys, Dallas, niners, Bucs, G-Men ... all work.")]
    return "\n".join(lines)


def welcome(m: Markup, chat: ChatSettings) -> str:
    follows = _teams(chat.teams) if chat.teams else "every team"
    return "\n".join(
        [
            m.bold("✅ Subscribed."),
            m.text(f"You get alerts for {follows}."),
            m.text("Pick teams with /follow DAL PHI; /help lists everything."),
        ]
    )


def refused(m: Markup) -> str:
    return m.text("Sorry, this bot is private: it only talks to the chats its owner set up. 🙏")


def start_first(m: Markup) -> str:
    return m.text("Send /start first to subscribe this chat.")


def slow_down(m: Markup) -> str:
    return m.text("🐢 Slow down: too many commands. Try again in a minute.")


def unknown_command(m: Markup) -> str:
    return m.text("I don't know that command. /help lists what I can do.")


def following(m: Markup, chat: ChatSettings) -> str:
    if not chat.teams:
        return m.text("You follow every team. Narrow it with /follow DAL PHI.")
    return m.text(f"You follow: {_teams(chat.teams)}.")


def unknown_teams(m: Markup, words: Sequence[str]) -> str:
    return m.text(f"❓ No team called {', '.join(repr(word) for word in words)}. Try DAL, Cowboys or Dallas.")


def follow_usage(m: Markup) -> str:
    return m.text("Name the teams: /follow DAL PHI (or Cowboys, Eagles ...).")


def followed(m: Markup, chat: ChatSettings, unknown: Sequence[str]) -> str:
    lines = [following(m, chat)]
    if unknown:
        lines.append(unknown_teams(m, unknown))
    return "\n".join(lines)


def alert_types(m: Markup, chat: ChatSettings, unknown: Sequence[str] = ()) -> str:
    lines = [m.bold("Alert types")]
    for alert_type in CHOOSABLE_TYPES:
        on = chat.alert_types is None or alert_type.value in chat.alert_types
        lines.append(f"{'🔔' if on else '🔕'} " + m.code(alert_type.value) + " " + m.text("on" if on else "off"))
    if unknown:
        lines.append(m.text(f"❓ Unknown: {', '.join(unknown)}"))
    lines.append(m.italic("Switch: /alerts off kalshi_price, /alerts on all"))
    return "\n".join(lines)


def _clock_text(moment: time) -> str:
    return moment.strftime("%H:%M")


def quiet_hours(m: Markup, hours: tuple[time, time] | None, tz: tzinfo, now: datetime) -> str:
    if hours is None:
        return m.text("🔔 No quiet hours: alerts come at any time.")
    start, end = hours
    zone = now.astimezone(tz).tzname()
    return m.text(
        f"🌙 Quiet from {_clock_text(start)} to {_clock_text(end)} ({zone}); scores and urgent news still come."
    )


def quiet_usage(m: Markup) -> str:
    return m.text("Use /quiet 23:00-07:00, or /quiet off.")


def muted(m: Markup, until: datetime, tz: tzinfo) -> str:
    return m.text(f"🔕 Muted until {_local_time(until, tz)}. /unmute ends it.")


def muted_game(m: Markup, game: GameLine) -> str:
    return m.text(f"🔕 Muted {game.away_team} @ {game.home_team} until it ends. Other games still alert.")


def mute_usage(m: Markup) -> str:
    return m.text("Use /mute 2h, /mute 30m, /mute game or /mute game DAL.")


def no_current_game(m: Markup, teams: Iterable[str]) -> str:
    names = ", ".join(sorted(teams))
    if names:
        return m.text(f"No game of {names} is on or coming today.")
    return m.text("Which game? Say /mute game DAL (or follow a team first).")


def unmuted(m: Markup) -> str:
    return m.text("🔔 Unmuted: alerts are back, for every game.")


def _probability(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('1'))}%"


def _game_line(m: Markup, game: GameLine, tz: tzinfo) -> str:
    if game.away_score is not None and game.home_score is not None and game.state != "pre":
        head = f"{game.away_team} {game.away_score} @ {game.home_team} {game.home_score}"
    else:
        head = f"{game.away_team} @ {game.home_team}"
    if game.state == "in":
        when = _game_clock({"period": game.period, "clock": game.clock}) or "live"
    elif game.state == "post":
        when = "Final" if game.status.startswith("final") else game.status.replace("_", " ")
    else:
        when = _local_time(game.start_time, tz) if game.start_time is not None else "scheduled"
    details = []
    prices = " / ".join(
        f"{team} {_cents(game.prices[team])}" for team in (game.away_team, game.home_team) if team in game.prices
    )
    if prices:
        details.append(f"Kalshi {prices}")
    if game.home_win_pct is not None and game.state == "in":
        details.append(f"ESPN {game.home_team} {_probability(game.home_win_pct)}")
    line = ("🔴 " if game.state == "in" else "") + m.bold(head) + " " + m.text(f"· {when}")
    return line + ("\n   " + m.text(" · ".join(details)) if details else "")


def games(m: Markup, lines: Sequence[GameLine], tz: tzinfo) -> str:
    if not lines:
        return m.text("No games today.")
    return "\n".join(_game_line(m, game, tz) for game in lines)


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def status(m: Markup, state: DaemonStatus, now: datetime) -> str:
    head = "✅ Running" if state.healthy else f"⚠️ {state.status.capitalize()}"
    lines = [
        m.bold(head),
        m.text(f"Last scoreboard poll: {_ago(state.last_cycle, now)} · live games: {state.live_games}"),
    ]
    for lane in state.lanes:
        if lane.failures:
            word = f"{lane.failures} failed in a row"
        elif lane.throttled:
            word = "slowed after errors"
        else:
            word = "ok"
        icon = "✅" if word == "ok" else "⚠️"
        lines.append(m.text(f"{icon} {lane.name}: {word} (last success {_ago(lane.last_success, now)})"))
    if state.pending_alerts is not None:
        lines.append(m.text(f"Alerts waiting to be sent: {state.pending_alerts}"))
    return "\n".join(lines)


def no_chart(m: Markup) -> str:
    return m.text("📊 No chart for that game yet: it needs some plays first.")
