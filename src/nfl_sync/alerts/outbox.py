"""Recording alerts: each event decided by the policy, rendered, and written in the caller's transaction.

`AlertOutbox.record_events` runs inside the transaction that stores the state change that
produced the events: each event is decided by `alert_policy`, rendered by `alert_templates`, and
written to nfl_alert_history as 'pending' (or 'suppressed' with the reason) under its unique key.
Either the state change and its alerts are both stored, or neither is, and detection finds the
same events again on the next cycle.

Fan-out: an outbox that knows the configured chats (Telegram in use) sends each alert to the
chats it concerns (`domain.subscriptions.recipients`, over the chats of nfl_chats that may use the
bot and the configured ones), writing one pending delivery per recipient with the alert
(`fanned_out`); an alert no chat gets is 'suppressed' with the reason `no_recipients`. Without
configured chats (the console, tests of the sender) every chat of the channel gets every alert.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from typing import Any

from nfl_sync.config import Settings
from nfl_sync.domain.alert_policy import (
    DUPLICATE,
    SEND,
    SUPPRESS,
    Decision,
    History,
    PolicyConfig,
    day_start,
    decide,
)
from nfl_sync.domain.alert_templates import render, render_raw
from nfl_sync.domain.events import ALERT_TYPES, PRIORITIES, Event
from nfl_sync.domain.markup import valid_unicode
from nfl_sync.domain.subscriptions import (
    ChatSettings,
    event_game,
    event_teams,
    no_recipients_reason,
    recipients,
)
from nfl_sync.storage.outbox import AlertRecord
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    """What became of one event: its decision and, unless it was a duplicate, its row id."""

    event: Event
    decision: Decision
    alert_id: int | None


def _jsonable(value: Any) -> Any:
    """`value` as JSON PostgreSQL accepts: Decimals, times and NaN as strings, no NUL or lone surrogate."""
    if isinstance(value, Mapping):
        return {valid_unicode(str(key)): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return valid_unicode(str(value))  # Decimal, NaN and the rest: JSON has no number for them


def policy_config(settings: Settings) -> PolicyConfig:
    """The alert policy's part of the settings."""
    return PolicyConfig(dict(settings.cooldowns), settings.daily_alert_limit, settings.quiet_hours, settings.timezone)


class AlertOutbox:
    """Decides and records alerts inside the caller's transaction; with `admin_chats` (the
    configured chats), fans each out to the chats it concerns."""

    def __init__(self, config: PolicyConfig, parse_mode: str | None, channel: str, admin_chats: Sequence[str] = ()):
        self.config = config
        self.parse_mode = parse_mode
        self.channel = channel
        self.admin_chats = tuple(admin_chats)
        self.alerts_today: int | None = None  # as of the last record_events, for the metrics

    @classmethod
    def from_settings(cls, settings: Settings, console_only: bool = False) -> AlertOutbox:
        """Messages are written for Telegram's parse mode when Telegram is in use, else as plain text."""
        telegram = settings.telegram_configured and not console_only
        return cls(
            policy_config(settings),
            settings.telegram_parse_mode if telegram else None,
            "telegram" if telegram else "console",
            settings.telegram_chat_ids if telegram else (),
        )

    def record_events(self, tx: Tx, events: Sequence[Event], now: datetime) -> list[Recorded]:
        """Decide each event at `now` and write it as 'pending' or 'suppressed' in `tx`.

        Events are decided in the order given, each seeing the ones before it. Duplicates (a key
        already recorded) are returned but not written. An event of an unknown type or priority
        is logged and left out, since writing it would fail the caller's whole transaction. With
        fan-out, an event the policy sends is written with a delivery per recipient chat, or
        suppressed when no chat gets it.
        """
        valid = [event for event in events if self._valid(event)]
        if not valid:
            return []
        history = self._history(tx, valid, now)
        fan_out = _FanOut.load(tx, valid, self.admin_chats) if self.admin_chats else None
        recorded = []
        for event in valid:
            decision = decide(event, history, now, self.config)
            chats: list[str] = []
            if decision.send and fan_out is not None:
                decision, chats = fan_out.recipients(event, now, self.config.timezone)
            history = history.after(event, decision, now)
            alert_id = None
            if decision.action != DUPLICATE:
                alert_id = tx.outbox.insert_alert(self._record(event, decision, now, fanned_out=bool(chats)))
                if alert_id is None:
                    decision = Decision(DUPLICATE, f"{DUPLICATE}: key {event.key!r} was recorded by another writer")
                elif decision.send:
                    if chats:
                        tx.outbox.add_deliveries(alert_id, chats)
                    tx.outbox.touch_alert_trigger(event.alert_type, now)
            _log_decision(event, decision)
            recorded.append(Recorded(event, decision, alert_id))
        self.alerts_today = history.alerts_today
        return recorded

    @staticmethod
    def _valid(event: Event) -> bool:
        if event.alert_type in ALERT_TYPES and event.priority in PRIORITIES:
            return True
        log.error("Alert %r dropped: unknown alert type %r or priority %r", event.key, event.alert_type, event.priority)
        return False

    def _history(self, tx: Tx, events: Sequence[Event], now: datetime) -> History:
        families = sorted({event.family for event in events if event.family is not None})
        return History(
            keys=frozenset(tx.outbox.existing_alert_keys([event.key for event in events])),
            last_alert_at=tx.outbox.last_alert_times(families, now) if families else {},
            alerts_today=sum(tx.outbox.alert_counts_since(day_start(now, self.config.timezone), now).values()),
            disabled_types=frozenset(kind for kind, row in tx.outbox.alert_triggers().items() if not row["enabled"]),
        )

    def record_direct(
        self,
        tx: Tx,
        event: Event,
        at: datetime,
        sent: Mapping[str, str | None],
        suppressed: str | None,
        every_chat: bool,
    ) -> None:
        """Record a critical alert of the direct path (`alerts.direct`) once the database is back:
        its deliveries to the chats in `sent` marked sent, and the alert closed when `every_chat`
        got it, so the sender never sends it again (it serves the chats still missing it);
        'suppressed' with the reason when the rate limit held it back. A key already recorded is
        left alone."""
        decision = Decision(SUPPRESS, suppressed) if suppressed else Decision(SEND)
        alert_id = tx.outbox.insert_alert(self._record(event, decision, at))
        if alert_id is None or not sent:
            return
        for chat_id, message_id in sent.items():
            tx.outbox.start_delivery_attempt(alert_id, chat_id)
            tx.outbox.mark_delivery_sent(alert_id, chat_id, at, message_id, "sent directly: the outbox was away")
        if every_chat:
            tx.outbox.finish_alert(alert_id)

    def message(self, event: Event) -> str:
        """The event's alert text in the outbox's parse mode."""
        try:
            return render(event, self.parse_mode, self.config.timezone)
        except (KeyError, ValueError, TypeError, ArithmeticError) as error:
            log.error("Alert %r could not be formatted (%s); it is sent with its raw fields", event.key, error)
            return render_raw(event, self.parse_mode, self.config.timezone)

    def _payload(self, event: Event) -> dict[str, Any]:
        payload = {"parse_mode": self.parse_mode, "data": _jsonable(event.fields())}
        if event.held_since is not None:  # late: a database outage held it back
            payload["held_since"] = event.held_since.isoformat()
            payload["held_seconds"] = event.held_seconds
        return payload

    def _record(self, event: Event, decision: Decision, now: datetime, fanned_out: bool = False) -> AlertRecord:
        return AlertRecord(
            alert_key=event.key,
            alert_type=event.alert_type,
            priority=event.priority,
            message=self.message(event),
            channel=self.channel,
            status="pending" if decision.send else "suppressed",
            created_at=now,
            game_id=event.game_id,
            family=event.family,
            reason=decision.reason,
            event_time=event.occurred_at,
            payload=self._payload(event),
            fanned_out=fanned_out,
        )


@dataclass(frozen=True)
class _FanOut:
    """The chats an alert may go to and the stored games' teams, read once per batch."""

    chats: tuple[ChatSettings, ...]
    game_teams: Mapping[str, frozenset[str]]

    @classmethod
    def load(cls, tx: Tx, events: Sequence[Event], admin_chats: Sequence[str]) -> _FanOut:
        """The chats that may use the bot, the configured ones being admins whether stored yet or
        not, and the teams of the games of alerts whose data names no team."""
        stored = {chat.chat_id: chat for chat in tx.chats.subscribers()}
        for chat_id in admin_chats:
            stored[chat_id] = replace(stored.get(chat_id, ChatSettings(chat_id)), is_admin=True)
        games = sorted({game for event in events if not event_teams(event) and (game := event_game(event))})
        return cls(tuple(stored.values()), tx.chats.game_teams(games) if games else {})

    def recipients(self, event: Event, now: datetime, tz: tzinfo) -> tuple[Decision, list[str]]:
        """The policy's SEND and the chats that get `event`, or a suppression when none does."""
        teams = self.game_teams.get(event_game(event) or "", frozenset())
        chats = recipients(event, self.chats, now, tz, teams)
        if not chats:
            return Decision(SUPPRESS, no_recipients_reason(event, self.chats, now, tz, teams)), []
        return Decision(SEND), chats


def _log_decision(event: Event, decision: Decision) -> None:
    if decision.send:
        log.info("Alert %s queued (%s, %s priority)", event.key, event.alert_type, event.priority)
    elif decision.action == DUPLICATE:
        log.debug("Alert %s not repeated: %s", event.key, decision.reason)
    else:
        log.info("Alert %s suppressed: %s", event.key, decision.reason)
