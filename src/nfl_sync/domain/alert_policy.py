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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, tzinfo
from decimal import Decimal

from nfl_sync.domain.events import AlertType, Event, Priority

SEND = "send"
SUPPRESS = "suppress"
DUPLICATE = "duplicate"

DISABLED = "disabled"
COOLDOWN = "cooldown"
QUIET_HOURS = "quiet_hours"
DAILY_LIMIT = "daily_limit"

NEVER_COOLED_DOWN = frozenset({AlertType.SCORE, AlertType.SIGNIFICANT_PLAY})


@dataclass(frozen=True)
class PolicyConfig:
    """The alert policy's settings (the outbox builds it from the daemon's settings)."""

    cooldowns: Mapping[str, int]  # seconds per alert type; a missing type has no cooldown
    daily_limit: int
    quiet_hours: tuple[time, time] | None
    timezone: tzinfo


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


def edge_priority(points: Decimal, threshold: Decimal) -> Priority:
    """An edge twice the alert threshold (30 points by default) is high priority, so quiet hours
    and the daily limit do not hold it back; a smaller one is medium."""
    return Priority.HIGH if points >= 2 * threshold else Priority.MEDIUM


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
    if event.priority == Priority.HIGH:
        return Decision(SEND)
    if config.quiet_hours is not None and in_quiet_hours(now, config.quiet_hours, config.timezone):
        start, end = config.quiet_hours
        return Decision(SUPPRESS, f"{QUIET_HOURS}: {start:%H:%M}-{end:%H:%M}, only high priority goes out")
    if config.daily_limit > 0 and history.alerts_today >= config.daily_limit:
        return Decision(SUPPRESS, f"{DAILY_LIMIT}: {history.alerts_today} alerts today, limit {config.daily_limit}")
    return Decision(SEND)
