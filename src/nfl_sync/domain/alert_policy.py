"""Pure alert policy: is an event sent, suppressed (and why), or a duplicate of one already decided?

`decide(event, history, now, config)` has no clock and does no I/O: the shell loads a `History`
snapshot from the database (the keys already recorded, when each cooldown family last had an
alert go out, how many alerts went out since midnight in the configured zone, the alert types
switched off) and passes `now`. Within one batch the shell folds each decision back into the
snapshot with `History.after`, so two events of one cycle see each other.

Rules, in order; the first that applies is the recorded reason:

1. duplicate: the key was decided before. Nothing is written: the first decision is the record.
2. disabled: the alert type is switched off in nfl_alert_triggers.
3. cooldown: the event has a family and the family had an alert go out less than the type's
   cooldown ago. `score` and `significant_play` are never cooled down, whatever their family:
   each is a new play, and a repeat of the same play is caught by its key.
4. quiet_hours: inside the optional quiet hours (in the configured zone) only high priority goes
   out.
5. daily_limit: once the day's alerts (every priority, counted since local midnight) reach the
   limit, only high priority goes out. A limit of 0 means no limit.

Delivery pacing is here too, shared by the sender and the fake Bot API: Telegram's flood limits
as data (`FloodLimits`) and a token bucket that is given the time rather than reading a clock
(`Allowance`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, tzinfo
from typing import TYPE_CHECKING

from nfl_sync.domain.models import Event

if TYPE_CHECKING:
    from nfl_sync.config import Settings

SEND = "send"
SUPPRESS = "suppress"
DUPLICATE = "duplicate"

DISABLED = "disabled"
COOLDOWN = "cooldown"
QUIET_HOURS = "quiet_hours"
DAILY_LIMIT = "daily_limit"

HIGH = "high"
PRIORITIES = ("high", "medium", "low")
NEVER_COOLED_DOWN = frozenset({"score", "significant_play"})


@dataclass(frozen=True)
class PolicyConfig:
    """The alert policy's settings (see config.py for where each comes from)."""

    cooldowns: Mapping[str, int]  # seconds per alert type; a missing type has no cooldown
    daily_limit: int
    quiet_hours: tuple[time, time] | None
    timezone: tzinfo

    @classmethod
    def from_settings(cls, settings: Settings) -> PolicyConfig:
        return cls(dict(settings.cooldowns), settings.daily_alert_limit, settings.quiet_hours, settings.timezone)


@dataclass(frozen=True)
class History:
    """What the policy needs to know about alerts already decided (an immutable snapshot)."""

    keys: frozenset[str] = frozenset()
    last_alert_at: Mapping[str, datetime] = field(default_factory=dict)  # family -> last alert that went out
    alerts_today: int = 0
    disabled_types: frozenset[str] = frozenset()

    def after(self, event: Event, decision: Decision, now: datetime) -> History:
        """This snapshot once `decision` about `event` has been recorded at `now`."""
        keys = self.keys | {event.key}
        if not decision.send:
            return replace(self, keys=keys)
        last = dict(self.last_alert_at)
        if event.family is not None:
            last[event.family] = now
        return replace(self, keys=keys, last_alert_at=last, alerts_today=self.alerts_today + 1)


@dataclass(frozen=True)
class Decision:
    action: str  # SEND / SUPPRESS / DUPLICATE
    reason: str | None = None  # "<rule>: <detail>" for SUPPRESS and DUPLICATE

    @property
    def send(self) -> bool:
        return self.action == SEND

    @property
    def rule(self) -> str | None:
        return self.reason.split(":", 1)[0] if self.reason else None


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's flood limits as token buckets: rates in messages per second, and the bursts
    allowed above them. Groups (and channels) also have a per-minute limit."""

    overall_rate: float = 30.0
    overall_burst: float = 30
    per_chat_rate: float = 1.0
    per_chat_burst: float = 5
    group_rate: float = 20 / 60
    group_burst: float = 5


# What Telegram tolerates (the Bot FAQ: ~30/s overall, 1/s per chat, 20/min per group, short
# bursts allowed); the fake Bot API enforces it.
TELEGRAM_FLOOD_LIMITS = FloodLimits()
# What the sender aims for: the same rates with smaller bursts, so it never earns a 429, while a
# quiet chat still gets a touchdown and its extra point at once.
SEND_PACING = FloodLimits(overall_burst=20, per_chat_burst=3, group_burst=3)


def is_group_chat(chat_id: str) -> bool:
    """Groups and channels have negative ids or @usernames; private chats have positive ids."""
    return chat_id.startswith(("-", "@"))


class Allowance:
    """One token bucket on the caller's clock readings (seconds, monotonic).

    `wait(now)` says how long until one message may go, without spending anything, so a sender
    that decides not to wait loses nothing; `take(now)` spends one token. The sender paces with
    it, and the fake Bot API refuses with it (Telegram answers 429 rather than queueing).
    """

    def __init__(self, rate: float, burst: float, now: float):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now

    def wait(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.wait(now)
        self.tokens -= 1


def chat_allowances(chat_id: str, limits: FloodLimits, now: float) -> list[Allowance]:
    """The buckets one chat's messages must pass besides the overall one: per chat, and per
    group for groups and channels."""
    allowances = [Allowance(limits.per_chat_rate, limits.per_chat_burst, now)]
    if is_group_chat(chat_id):
        allowances.append(Allowance(limits.group_rate, limits.group_burst, now))
    return allowances


def day_start(now: datetime, tz: tzinfo) -> datetime:
    """Midnight at the start of `now`'s day in zone `tz` (the daily limit's day)."""
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def in_quiet_hours(now: datetime, quiet_hours: tuple[time, time] | None, tz: tzinfo) -> bool:
    """Whether `now` falls in [start, end) local time; a window may wrap past midnight."""
    if quiet_hours is None:
        return False
    start, end = quiet_hours
    local = now.astimezone(tz).time().replace(tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def decide(event: Event, history: History, now: datetime, config: PolicyConfig) -> Decision:
    """Whether `event` is alerted at `now`, given what was alerted before."""
    if event.key in history.keys:
        return Decision(DUPLICATE, f"{DUPLICATE}: key {event.key!r} was already decided")
    if event.alert_type in history.disabled_types:
        return Decision(SUPPRESS, f"{DISABLED}: {event.alert_type} alerts are switched off in nfl_alert_triggers")
    cooldown = config.cooldowns.get(event.alert_type, 0)
    last = history.last_alert_at.get(event.family) if event.family is not None else None
    if cooldown > 0 and last is not None and event.alert_type not in NEVER_COOLED_DOWN:
        age = (now - last).total_seconds()
        if age < cooldown:
            return Decision(SUPPRESS, f"{COOLDOWN}: {event.family} alerted {age:.0f} s ago (cooldown {cooldown} s)")
    if event.priority == HIGH:
        return Decision(SEND)
    if in_quiet_hours(now, config.quiet_hours, config.timezone):
        start, end = config.quiet_hours
        return Decision(SUPPRESS, f"{QUIET_HOURS}: {start:%H:%M}-{end:%H:%M}, only high priority goes out")
    if config.daily_limit > 0 and history.alerts_today >= config.daily_limit:
        return Decision(SUPPRESS, f"{DAILY_LIMIT}: {history.alerts_today} alerts today, limit {config.daily_limit}")
    return Decision(SEND)
