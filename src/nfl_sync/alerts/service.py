"""What the daemon holds: the outbox and its sender thread together, built from the settings.

`build_notifier(settings, db, clock)` gives an `AlertService`: `record(tx, events, now)` in the
daemon's transactions, `wake()` after each commit, a sender thread that drains, and
`close(flush_seconds)`. Telegram is used when configured; otherwise `ConsoleChannel` (stdout and
the log) takes the same outbox. Critical system alerts the outbox could not take go to the channel
directly (`deliver_directly`, see `alerts.direct`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from nfl_sync.alerts.channel import Channel
from nfl_sync.alerts.charts import chart_png
from nfl_sync.alerts.console import ConsoleChannel
from nfl_sync.alerts.direct import DirectAlerts
from nfl_sync.alerts.outbox import AlertOutbox, Recorded
from nfl_sync.alerts.sender import DrainReport, TelegramNotifier
from nfl_sync.alerts.telegram import TelegramChannel
from nfl_sync.clock import Clock
from nfl_sync.config import Settings
from nfl_sync.domain.errors import DatabaseError
from nfl_sync.domain.events import Event, system_event
from nfl_sync.logging_setup import redact
from nfl_sync.metrics import Metrics
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)


def _console_reason(settings: Settings) -> str:
    if not settings.telegram_enabled:
        return "TELEGRAM_ENABLED is false"
    missing = [
        name
        for name, value in (
            ("TELEGRAM_BOT_TOKEN", settings.telegram_bot_token),
            ("TELEGRAM_CHAT_ID", settings.telegram_chat_ids),
        )
        if not value
    ]
    return f"{' and '.join(missing)} not set"


def channel_from_settings(settings: Settings, console_only: bool = False) -> Channel:
    """Telegram when it is configured and enabled (and not `console_only`), else the console."""
    if console_only:
        return ConsoleChannel("dry run")
    token = settings.telegram_bot_token
    if settings.telegram_configured and token:
        return TelegramChannel(token, settings.telegram_chat_ids, settings.telegram_api_base_url)
    return ConsoleChannel(_console_reason(settings))


class AlertService:
    """The outbox and its sender together: `record` inside the daemon's transactions, `wake`
    after they commit, and a sender thread that drains the outbox when woken (and at least every
    `idle_seconds`, for retries and paused channels), so pacing and backoff never hold up a sync
    cycle. `close` stops the thread and delivers what it can within a time limit."""

    def __init__(
        self,
        outbox: AlertOutbox,
        notifier: TelegramNotifier,
        *,
        metrics: Metrics | None = None,
        drain_seconds: float = 5.0,
        idle_seconds: float = 5.0,
    ):
        self.outbox = outbox
        self.notifier = notifier
        self.metrics = metrics
        self.drain_seconds = drain_seconds
        self.idle_seconds = idle_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._failure: str | None = None
        notifier.on_channel_down = self._record_channel_down
        self.direct = DirectAlerts(outbox, notifier.channel, notifier.db, notifier.route)

    def record(self, tx: Tx, events: Sequence[Event], now: datetime) -> list[Recorded]:
        """`AlertOutbox.record_events` in the caller's transaction; call `wake` after the commit."""
        recorded = self.outbox.record_events(tx, events, now)
        if self.metrics is not None:
            for item in recorded:
                outcome = "queued" if item.decision.send else item.decision.rule or item.decision.action
                self.metrics.alerts.labels(item.event.alert_type, outcome).inc()
            if self.outbox.alerts_today is not None:
                self.metrics.alerts_today.set(self.outbox.alerts_today)
        return recorded

    def wake(self) -> None:
        """Have the sender deliver what is pending now (starting it on first use). Any thread."""
        with self._start_lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._run, name="alert-sender", daemon=True)
                self._thread.start()
        self._wake.set()

    def deliver_directly(self, events: Sequence[Event], now: datetime) -> None:
        """Critical system alerts that could not be recorded (the database is away): sent straight
        to the channel by the sender thread, recorded in the outbox once the database is back."""
        if self.direct.offer(events, now):
            self.wake()

    def describe(self) -> str:
        return self.notifier.channel.description

    def pending_count(self) -> int:
        """Alerts recorded but not yet delivered (or given up on)."""
        return self.notifier.db.run(lambda tx: tx.outbox.pending_alert_count(self.notifier.games))

    def health_checks(self) -> dict[str, Callable[[], None]]:
        return {"alerts": self._check}

    def channel_problems(self) -> list[str]:
        """What keeps alerts from their chats for good or for long (for /healthz): chats that
        refuse the bot (blocked, not found), or the channel down for its outage rounds."""
        notifier = self.notifier
        problems = [f"chat {chat}: {error}" for chat, error in sorted(notifier.broken_chats.items())]
        return problems + ([notifier.channel_down] if notifier.channel_down else [])

    def close(self, flush_seconds: float = 5.0) -> None:
        """Stop the sender, deliver what is pending within about `flush_seconds`, release the
        channel. A sender still stuck in a request after that is left to die with the process:
        what it did not mark stays in the outbox for the next start."""
        started = time.monotonic()
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(flush_seconds)
            if self._thread.is_alive():
                log.warning(
                    "Alert sender still busy after %.0f s; pending alerts stay queued for the next start", flush_seconds
                )
                return
        try:
            self._direct_round()
            if not self.notifier.db.available:
                log.warning("The database is unavailable; pending alerts stay queued for the next start")
                return
            # The alerts only: a chart upload could hold the shutdown past the supervisor's patience.
            left = max(0.0, flush_seconds - (time.monotonic() - started))
            self._observe(self.notifier.drain(left, photos=False))
        except DatabaseError as error:
            log.warning("Could not deliver the pending alerts (%s); they stay queued for the next start", error)
        finally:
            self.notifier.close()

    def _check(self) -> None:
        problem = self._failure or "; ".join(self.channel_problems()) or self.notifier.problem
        if problem:
            raise RuntimeError(f"alert delivery: {problem}")
        if self._thread is not None and not self._thread.is_alive() and not self._stopping.is_set():
            raise RuntimeError("alert delivery: the sender thread has stopped")

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.idle_seconds)
            self._wake.clear()
            if self._stopping.is_set():
                return
            self._direct_round()
            try:
                report = self.notifier.drain(self.drain_seconds)
                self._failure = None
            except DatabaseError as error:  # the outbox is away: the direct path speaks meanwhile
                self._failure = str(error)
                log.warning("Alert sender: %s; retrying in %.0f s", error, self.idle_seconds)
                continue
            except Exception as error:  # a bug must not kill the sender; it retries
                self._failure = redact(f"{type(error).__name__}: {error}")
                log.exception("Alert sender failed; retrying in %.0f s", self.idle_seconds)
                continue
            self._observe(report)
            if report.backlog:
                # More is pending: go on soon, but not in a busy loop while the channel rests.
                self._stopping.wait(min(1.0, self.idle_seconds))
                self._wake.set()

    def _record_channel_down(self, message: str) -> None:
        """The channel-down message in the outbox too: in the history, and delivered once the
        channel is back (the console and the log had it at once)."""
        now = self.notifier.clock.now()
        event = system_event("critical", "alerts", message, now, f"down:{now.isoformat()}")
        try:
            self.notifier.db.run(lambda tx: self.record(tx, [event], now))
        except Exception:  # the database may be down as well; the log and console have it
            log.exception("Could not record the channel-down alert")

    def _direct_round(self) -> None:
        """Send the alerts of the direct path, and record them once the outbox answers."""
        if not len(self.direct):
            return
        try:
            self.direct.send()
            self.direct.record()
        except DatabaseError as error:
            log.info("Critical alerts sent directly are recorded when the database is back (%s)", error)
        except Exception:  # the direct path must never stop the sender
            log.exception("The direct path for critical alerts failed")

    def _observe(self, report: DrainReport) -> None:
        if self.metrics is not None:
            for (alert_type, outcome), count in report.outcomes.items():
                self.metrics.alerts.labels(alert_type, outcome).inc(count)


def register_admin_chats(settings: Settings, db: NFLDBManager, now: datetime) -> None:
    """At start-up, when Telegram is in use: the chats of TELEGRAM_CHAT_ID are the admins (a chat
    no longer listed stops being one), and TELEGRAM_ALLOW_NEW_CHATS says whether other chats may
    subscribe. A repeat changes nothing."""
    if settings.telegram_configured:
        db.run(lambda tx: tx.chats.configure_access(settings.telegram_chat_ids, settings.telegram_allow_new_chats, now))


def build_notifier(
    settings: Settings,
    db: NFLDBManager,
    clock: Clock | None = None,
    *,
    console_only: bool = False,
    metrics: Metrics | None = None,
    may_send: Callable[[], bool] = lambda: True,
    games: Sequence[str] | None = None,
) -> AlertService:
    """The daemon's alert service from the settings: Telegram when configured (the console when
    not, or when `console_only`), the policy from the settings, pacing on `clock`, sending only
    while `may_send()` (the leader lease), and only the alerts of `games` (and of no game) when
    given."""
    channel = channel_from_settings(settings, console_only)
    return AlertService(
        AlertOutbox.from_settings(settings, console_only),
        TelegramNotifier(
            db,
            channel,
            clock=clock,
            parse_mode=settings.telegram_parse_mode,
            timezone=settings.timezone,
            may_send=may_send,
            # Charts follow final scores on Telegram; a console cannot show them.
            chart=partial(chart_png, db) if channel.name == TelegramChannel.name else None,
            games=games,
        ),
        metrics=metrics,
    )
