"""The direct path: critical system alerts sent straight to the channel when the outbox is away.

Every alert travels through the database outbox, so when the database is the problem (down,
read-only, locked) nobody would hear of it. A critical system alert that could not be recorded
is handed here instead: deduplicated by key, rate-limited (one per family per
`FAMILY_COOLDOWN`, at most `BURST` per `BURST_WINDOW`), sent to every chat of the channel by the
sender thread, and recorded in the outbox once the database answers again: as sent (with its
deliveries, so the sender never sends it again), as suppressed when the rate limit held it back,
or as pending when the channel failed too, for the sender to deliver like any other alert.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nfl_sync.alerts.channel import Channel, ChatMoved, DeliveryError
from nfl_sync.alerts.outbox import AlertOutbox
from nfl_sync.domain.events import AlertType, Event
from nfl_sync.logging_setup import redact
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)

FAMILY_COOLDOWN = timedelta(minutes=5)
BURST = 5
BURST_WINDOW = timedelta(minutes=10)
REMEMBERED_KEYS = 1_000


@dataclass
class DirectAlert:
    """One critical alert on the direct path, and what became of it."""

    event: Event
    at: datetime
    message: str
    sent: dict[str, str | None] = field(default_factory=dict)  # chat id -> message id
    suppressed: str | None = None  # why the rate limit held it back


class DirectAlerts:
    """Critical alerts the outbox could not take. `offer` from any thread; `send` and `record`
    from the sender thread (or after it stopped)."""

    def __init__(
        self, outbox: AlertOutbox, channel: Channel, db: NFLDBManager, route: Callable[[str], str] = lambda chat: chat
    ):
        self.outbox = outbox
        self.channel = channel
        self.db = db
        self.route = route  # a configured chat -> where it moved (the sender's stored routes)
        self._lock = threading.Lock()
        self._queue: list[DirectAlert] = []
        self._seen: deque[str] = deque(maxlen=REMEMBERED_KEYS)
        self._sent_at: deque[datetime] = deque()
        self._family_at: dict[str, datetime] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def unsent(self) -> int:
        """Queued alerts some chat still misses (the rate limit's left out)."""
        chats = set(self.channel.chat_ids)
        with self._lock:
            return sum(1 for item in self._queue if item.suppressed is None and not chats <= set(item.sent))

    def offer(self, events: Sequence[Event], now: datetime) -> bool:
        """Queue the critical system alerts among `events` for the channel; True when one was."""
        queued = False
        with self._lock:
            for event in events:
                if event.alert_type != AlertType.SYSTEM or event.key in self._seen:
                    continue
                self._seen.append(event.key)
                item = DirectAlert(event, now, self.outbox.message(event), suppressed=self._rate_limit(event, now))
                self._queue.append(item)
                if item.suppressed:
                    log.error("Critical alert %s not sent directly: %s", event.key, item.suppressed)
                queued = queued or item.suppressed is None
        return queued

    def _rate_limit(self, event: Event, now: datetime) -> str | None:
        while self._sent_at and now - self._sent_at[0] >= BURST_WINDOW:
            self._sent_at.popleft()
        family = event.family or event.key
        last = self._family_at.get(family)
        if last is not None and now - last < FAMILY_COOLDOWN:
            return f"direct path: {family} alerted {(now - last).total_seconds():.0f} s ago"
        if len(self._sent_at) >= BURST:
            return f"direct path: {BURST} critical alerts in {BURST_WINDOW.total_seconds() / 60:.0f} minutes"
        self._family_at[family] = now
        self._sent_at.append(now)
        return None

    def send(self) -> None:
        """Send every queued alert to the chats still missing it; a chat that fails is tried again
        on the next call (or left to the outbox once the database is back)."""
        with self._lock:
            due = [item for item in self._queue if item.suppressed is None]
        parse_mode = self.outbox.parse_mode
        for item in due:
            for chat_id in self.channel.chat_ids:
                if chat_id in item.sent:
                    continue
                try:
                    item.sent[chat_id] = self._send(self.route(chat_id), item.message, parse_mode)
                except DeliveryError as error:
                    log.error("Critical alert %s not sent to chat %s: %s", item.event.key, chat_id, redact(str(error)))
                    continue
                log.warning("Critical alert %s sent straight to chat %s (the outbox is away)", item.event.key, chat_id)

    def _send(self, target: str, message: str, parse_mode: str | None) -> str | None:
        """Send to `target`, or to the supergroup it became (the sender stores that route)."""
        try:
            return self.channel.send(target, message, parse_mode)
        except ChatMoved as error:
            return self.channel.send(error.new_chat_id, message, parse_mode)

    def record(self) -> None:
        """Write what the direct path did into the outbox; kept for later while the database is
        still away (raises its DatabaseError)."""
        with self._lock:
            items = list(self._queue)
        if not items:
            return
        chats = set(self.channel.chat_ids)

        def write(tx: Tx) -> None:
            for item in items:
                self.outbox.record_direct(tx, item.event, item.at, item.sent, item.suppressed, set(item.sent) >= chats)

        self.db.run(write)
        with self._lock:
            self._queue = [item for item in self._queue if item not in items]
        log.info("Recorded %d critical alerts of the direct path in the outbox", len(items))
