"""Alert delivery: the transactional outbox, the sender that drains it, and its channels.

Recording (`AlertOutbox.record_events`) runs inside the caller's transaction, the one that
stores the state change that produced the events: each event is decided by `alert_policy`,
rendered by `alert_templates`, and written to nfl_alert_history as 'pending' (or 'suppressed'
with the reason) under its unique key. Either the state change and its alerts are both stored,
or neither is, and detection finds the same events again on the next cycle.

Sending (`TelegramNotifier.drain`) delivers pending alerts in id order to every chat of the
channel and closes each alert as 'sent' (Telegram's message id kept) or 'failed'. Deliveries are
tracked per chat in nfl_alert_deliveries, so a restart resends only to the chats still missing.

Crash guarantee: at-least-once per chat, and any copy that might repeat an earlier one says so.
Before each request the attempt is counted and committed; a delivery still 'pending' with
attempts > 0 is "in doubt" (the process stopped, or the request failed, after it may have
reached Telegram). Its next send carries the resend notice ("you may already have this alert").
So:
- stopped before the attempt is counted: the alert is sent once, normally, after the restart;
- stopped after it is counted but before the request: sent once after the restart, labelled;
- stopped after Telegram accepted but before the 'sent' mark: the chat gets a second copy,
  labelled as a possible repeat (Telegram has no idempotency key, so this window cannot close);
- stopped after the 'sent' mark: never sent again.
A delivery in doubt 30 times (crashes, timeouts, 5xx) is marked failed, so a poison message
cannot loop forever.

Retries: network errors, timeouts and 5xx are retried with exponential backoff, 3 attempts a
round; after a failed round the channel rests 30 s and the alert stays pending (with every alert
after it, so the order holds) until the next round, up to 10 rounds; a 429 waits its
retry_after and is not counted; 403 and 400 are permanent ('failed' with
Telegram's description), except that a 400 "can't parse entities" is resent once as plain text,
recorded as a note, because a plain alert beats a lost one. Sends are paced under Telegram's
flood limits (`alert_policy.SEND_PACING`). `drain` never runs past its time budget: what is left stays pending
for the next call.

Channels: `TelegramChannel` (python-telegram-bot on one asyncio loop in a dedicated thread) or,
when Telegram is not configured or disabled, `ConsoleChannel` (stdout and the log) through the
same outbox. The bot token is redacted from every log record and stored error.

The daemon holds an `AlertService` (`build_notifier(settings, db, clock)`): `record(tx, events,
now)` in its transactions, `wake()` after each commit, a sender thread that drains, and
`close(flush_seconds)`. `TelegramNotifier.drain` can also be called directly, e.g. once per cycle.

`python src/telegram_notifier.py --test` checks the token (getMe) and sends a test message to
every configured chat, with a diagnosis of what is wrong.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter
from telegram.request import HTTPXRequest

from nfl_sync.clock import Clock, SystemClock
from nfl_sync.config import DEFAULT_TELEGRAM_API_BASE_URL, Settings
from nfl_sync.domain.alert_policy import DUPLICATE, Decision, History, PolicyConfig, day_start, decide
from nfl_sync.domain.alert_templates import render, render_raw, to_plain, valid_unicode, with_resend_notice
from nfl_sync.domain.backoff import RetryPolicy
from nfl_sync.domain.events import ALERT_TYPES, PRIORITIES, AlertType, Event, Priority, SystemData
from nfl_sync.domain.pacing import SEND_PACING, Allowance, FloodLimits, chat_allowances
from nfl_sync.logging_setup import redact, register_secret
from nfl_sync.storage.manager import AlertRecord, NFLDBManager, Tx

if TYPE_CHECKING:
    from nfl_sync.metrics import Metrics

log = logging.getLogger(__name__)

# Opt in to PTB's announced timedelta periods (RetryAfter.retry_after); otherwise PTB 22 warns
# on every 429 it parses. `_retry_after_seconds` reads either form.
os.environ.setdefault("PTB_TIMEDELTA", "true")

MAX_ATTEMPTS = 3  # per round; a failed round rests the channel OUTAGE_PAUSE_SECONDS
GIVE_UP_ATTEMPTS = 10 * MAX_ATTEMPTS  # about six minutes of outage, or ten crashes mid-send
# After the channel is found down (token rejected, or a delivery out of attempts), wait this long
# before trying again, so an outage does not burn every pending alert's attempts in a row.
UNAVAILABLE_PAUSE_SECONDS = 60.0
OUTAGE_PAUSE_SECONDS = 30.0


# --- recording: the outbox ------------------------------------------------------------------


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
    """Decides and records alerts inside the caller's transaction."""

    def __init__(self, config: PolicyConfig, parse_mode: str | None, channel: str):
        self.config = config
        self.parse_mode = parse_mode
        self.channel = channel
        self.alerts_today: int | None = None  # as of the last record_events, for the metrics

    @classmethod
    def from_settings(cls, settings: Settings, console_only: bool = False) -> AlertOutbox:
        """Messages are written for Telegram's parse mode when Telegram is in use, else as plain text."""
        telegram = settings.telegram_configured and not console_only
        return cls(
            policy_config(settings),
            settings.telegram_parse_mode if telegram else None,
            "telegram" if telegram else "console",
        )

    def record_events(self, tx: Tx, events: Sequence[Event], now: datetime) -> list[Recorded]:
        """Decide each event at `now` and write it as 'pending' or 'suppressed' in `tx`.

        Events are decided in the order given, each seeing the ones before it. Duplicates (a key
        already recorded) are returned but not written. An event of an unknown type or priority
        is logged and left out, since writing it would fail the caller's whole transaction.
        """
        valid = [event for event in events if self._valid(event)]
        if not valid:
            return []
        history = self._history(tx, valid, now)
        recorded = []
        for event in valid:
            decision = decide(event, history, now, self.config)
            history = history.after(event, decision, now)
            alert_id = None
            if decision.action != DUPLICATE:
                alert_id = tx.insert_alert(self._record(event, decision, now))
                if alert_id is None:
                    decision = Decision(DUPLICATE, f"{DUPLICATE}: key {event.key!r} was recorded by another writer")
                elif decision.send:
                    tx.touch_alert_trigger(event.alert_type, now)
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
            keys=frozenset(tx.existing_alert_keys([event.key for event in events])),
            last_alert_at=tx.last_alert_times(families) if families else {},
            alerts_today=sum(tx.alert_counts_since(day_start(now, self.config.timezone)).values()),
            disabled_types=frozenset(kind for kind, row in tx.alert_triggers().items() if not row["enabled"]),
        )

    def _message(self, event: Event) -> str:
        try:
            return render(event, self.parse_mode, self.config.timezone)
        except (KeyError, ValueError, TypeError, ArithmeticError) as error:
            log.error("Alert %r could not be formatted (%s); it is sent with its raw fields", event.key, error)
            return render_raw(event, self.parse_mode, self.config.timezone)

    def _record(self, event: Event, decision: Decision, now: datetime) -> AlertRecord:
        return AlertRecord(
            alert_key=event.key,
            alert_type=event.alert_type,
            priority=event.priority,
            message=self._message(event),
            channel=self.channel,
            status="pending" if decision.send else "suppressed",
            created_at=now,
            game_id=event.game_id,
            family=event.family,
            reason=decision.reason,
            event_time=event.occurred_at,
            payload={"parse_mode": self.parse_mode, "data": _jsonable(event.fields())},
        )


def _log_decision(event: Event, decision: Decision) -> None:
    if decision.send:
        log.info("Alert %s queued (%s, %s priority)", event.key, event.alert_type, event.priority)
    elif decision.action == DUPLICATE:
        log.debug("Alert %s not repeated: %s", event.key, decision.reason)
    else:
        log.info("Alert %s suppressed: %s", event.key, decision.reason)


# --- channels -------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A send did not go through. The message is safe to log and store (no token)."""


class RetryLater(DeliveryError):
    """Flood control (429): not delivered; wait `retry_after` seconds. Not a counted attempt."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class ChannelUnavailable(DeliveryError):
    """The channel cannot send at all (the token is rejected); nothing was delivered."""


class TransientFailure(DeliveryError):
    """Network error, timeout or 5xx: retried; the message may have been delivered anyway."""


BLOCKED = "blocked"
CHAT_NOT_FOUND = "chat_not_found"
PARSE_ERROR = "parse_error"
MIGRATED = "migrated"
BAD_REQUEST = "bad_request"


class PermanentFailure(DeliveryError):
    """Telegram refused the message for good (403, 400); `reason` says which kind."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class Channel(Protocol):
    name: str
    chat_ids: tuple[str, ...]
    description: str  # for the start-up log line
    paced: bool  # whether sends must stay under Telegram's flood limits

    def send(self, chat_id: str, text: str, parse_mode: str | None) -> str | None:
        """Deliver `text`; return the message id (None when the channel has none) or raise DeliveryError."""

    def test_connection(self, parse_mode: str | None, tz: tzinfo, now: datetime, out: Callable[[str], None]) -> bool:
        """Check the channel end to end, telling `out` what works and what is wrong."""

    def close(self) -> None:
        """Release the channel's resources."""


class ConsoleChannel:
    """Alerts printed to stdout and logged, when Telegram is not in use (`reason` says why)."""

    name = "console"
    chat_ids = ("console",)
    paced = False  # no flood limits on a terminal

    def __init__(self, reason: str, stream: TextIO | None = None):
        self.reason = reason
        self.description = f"the console ({reason})"
        self._stream = stream

    def send(self, chat_id: str, text: str, parse_mode: str | None) -> str | None:
        plain = to_plain(text, parse_mode)
        stream = self._stream or sys.stdout
        block = f"{'-' * 40}\n{plain}"
        try:
            print(block, file=stream, flush=True)
        except UnicodeEncodeError:  # a console that cannot show emoji (Windows code pages)
            encoding = stream.encoding or "ascii"
            print(block.encode(encoding, "replace").decode(encoding), file=stream, flush=True)
        log.info("Alert (console; Telegram not in use: %s): %s", self.reason, plain.replace("\n", " | "))
        return None

    def test_connection(self, parse_mode: str | None, tz: tzinfo, now: datetime, out: Callable[[str], None]) -> bool:
        out(f"✗ Telegram is not in use: {self.reason}. Alerts go to the console and the log.")
        return False

    def close(self) -> None:
        """Nothing to release."""


def _retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after  # a timedelta under PTB_TIMEDELTA, else int seconds
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _classify(error: BaseException, timeout: float) -> DeliveryError:
    """PTB's exceptions as delivery outcomes. Order matters: BadRequest and TimedOut are
    NetworkErrors, RetryAfter, Forbidden, InvalidToken and ChatMigrated are not."""
    if isinstance(error, concurrent.futures.TimeoutError):
        return TransientFailure(f"no answer from Telegram within {timeout:.0f} s")
    text = redact(str(error)) or type(error).__name__
    if isinstance(error, RetryAfter):
        return RetryLater(text, _retry_after_seconds(error))
    if isinstance(error, Forbidden):
        return PermanentFailure(text, BLOCKED)
    if isinstance(error, InvalidToken):
        return ChannelUnavailable(text)
    if isinstance(error, ChatMigrated):
        return PermanentFailure(
            f"the group is now the supergroup {error.new_chat_id}: put that id in TELEGRAM_CHAT_ID", MIGRATED
        )
    if isinstance(error, BadRequest):
        lowered = text.lower()
        reason = (
            PARSE_ERROR
            if "parse entities" in lowered
            else CHAT_NOT_FOUND
            if "chat not found" in lowered
            else BAD_REQUEST
        )
        return PermanentFailure(text, reason)
    return TransientFailure(text)


_DIAGNOSES = {
    BLOCKED: "the bot was blocked by the user or removed from the chat (403): unblock it, or add it back to the group",
    CHAT_NOT_FOUND: (
        "chat not found (400): check TELEGRAM_CHAT_ID, and send /start to the bot from that chat "
        "(or add the bot to the group) first"
    ),
    PARSE_ERROR: "Telegram rejected the message formatting (a bug in alert_templates)",
}


class TelegramChannel:
    """Telegram through python-telegram-bot, for a synchronous caller.

    One asyncio loop in a dedicated thread owns the `Bot` and its keep-alive connections; `send`
    submits coroutines to it with `run_coroutine_threadsafe` and waits, so any thread may send.
    (A `Bot` used from several `asyncio.run` calls fails: its connection pool belongs to the
    first loop.) The first call runs `getMe`; `close` shuts the bot and the loop down.
    """

    name = "telegram"

    def __init__(
        self,
        token: str,
        chat_ids: Sequence[str],
        base_url: str = DEFAULT_TELEGRAM_API_BASE_URL,
        *,
        timeout: float = 10.0,
    ):
        if not chat_ids:
            raise ValueError("TelegramChannel needs at least one chat id")
        register_secret(token)  # before the Bot exists: it logs its URL, token included
        self.chat_ids = tuple(chat_ids)
        self.paced = True
        self.description = f"Telegram ({len(self.chat_ids)} chat{'s' if len(self.chat_ids) != 1 else ''})"
        self.base_url = base_url
        self.timeout = timeout
        self._closed = False
        request = HTTPXRequest(
            connection_pool_size=8,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
        )
        self._bot = Bot(token, base_url=base_url, request=request)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="telegram-loop", daemon=True)
        self._thread.start()

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        # The wait covers getMe and the send, each bounded by the HTTP timeouts, plus slack.
        limit = self.timeout * 3
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(limit)
        except BaseException as error:
            future.cancel()
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            raise _classify(error, limit) from None

    async def _send(self, chat_id: str, text: str, parse_mode: str | None) -> int:
        await self._bot.initialize()  # getMe, once
        message = await self._bot.send_message(chat_id=chat_id, text=text, parse_mode=parse_mode)
        return message.message_id

    async def _identity(self) -> str:
        await self._bot.initialize()
        return f"@{self._bot.username} (id {self._bot.id})"

    def send(self, chat_id: str, text: str, parse_mode: str | None) -> str | None:
        return str(self._call(self._send(chat_id, text, parse_mode)))

    def test_connection(self, parse_mode: str | None, tz: tzinfo, now: datetime, out: Callable[[str], None]) -> bool:
        out(f"Bot API: {redact(self.base_url)}")
        try:
            out(f"✓ Token accepted (getMe): bot {self._call(self._identity())}")
        except ChannelUnavailable as error:
            out(f"✗ The bot token was rejected ({error}): check TELEGRAM_BOT_TOKEN, as @BotFather gave it")
            return False
        except DeliveryError as error:
            out(f"✗ Cannot reach the Bot API ({error}): check the network, a proxy, or TELEGRAM_API_BASE_URL")
            return False
        message = f"Test message in {parse_mode or 'plain text'}: KC -3.5 @ BUF (o/u 47.5)! <b>&</b> works."
        event = Event(
            AlertType.SYSTEM, "telegram-test", Priority.LOW, now, SystemData("info", "telegram --test", message)
        )
        text = render(event, parse_mode, tz)
        ok = True
        for chat_id in self.chat_ids:
            try:
                out(f"✓ Chat {chat_id}: test message delivered (message id {self.send(chat_id, text, parse_mode)})")
            except PermanentFailure as error:
                ok = False
                out(f"✗ Chat {chat_id}: {_DIAGNOSES.get(error.reason, str(error))} [{error}]")
            except DeliveryError as error:
                ok = False
                out(f"✗ Chat {chat_id}: not delivered ({error}); try again later")
        return ok

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._bot.shutdown())
        except DeliveryError as error:
            log.warning("Telegram client did not shut down cleanly: %s", error)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=self.timeout)
            if not self._thread.is_alive():
                self._loop.close()


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
    if settings.telegram_configured:
        return TelegramChannel(settings.telegram_bot_token, settings.telegram_chat_ids, settings.telegram_api_base_url)
    return ConsoleChannel(_console_reason(settings))


# --- sending: pacing and the drain ---------------------------------------------------------


class ChatRateLimiter:
    """The sender's pacing: buckets overall, per chat and per group (`alert_policy.SEND_PACING`).
    `delay` is the wait before a chat's next message, `take` counts the message as it goes."""

    def __init__(self, clock: Clock, limits: FloodLimits = SEND_PACING):
        self.clock = clock
        self.limits = limits
        self._overall = Allowance(limits.overall_rate, limits.overall_burst, clock.monotonic())
        self._per_chat: dict[str, list[Allowance]] = {}

    def _allowances(self, chat_id: str) -> list[Allowance]:
        if chat_id not in self._per_chat:
            self._per_chat[chat_id] = chat_allowances(chat_id, self.limits, self.clock.monotonic())
        return [self._overall, *self._per_chat[chat_id]]

    def delay(self, chat_id: str) -> float:
        now = self.clock.monotonic()
        return max(allowance.wait(now) for allowance in self._allowances(chat_id))

    def take(self, chat_id: str) -> None:
        now = self.clock.monotonic()
        for allowance in self._allowances(chat_id):
            allowance.take(now)


@dataclass
class DrainReport:
    """What one `drain` did, counted per chat delivery."""

    sent: int = 0
    failed: int = 0
    retries: int = 0  # transient failures retried
    rate_limited: int = 0  # 429s received
    backlog: bool = False  # stopped with alerts still pending (time budget, 429 pause, outage)
    outcomes: Counter = field(default_factory=Counter)  # (alert type, "sent" / "failed") -> deliveries

    def count(self, alert_type: str, outcome: str) -> None:
        self.outcomes[(alert_type, outcome)] += 1
        if outcome == "sent":
            self.sent += 1
        else:
            self.failed += 1


class TelegramNotifier:
    """Drains the outbox to a channel, in id order, one delivery at a time. Thread-safe."""

    def __init__(
        self,
        db: NFLDBManager,
        channel: Channel,
        *,
        clock: Clock | None = None,
        limiter: ChatRateLimiter | None = None,
        retry: RetryPolicy = RetryPolicy(max_tries=MAX_ATTEMPTS, initial=1.0, maximum=8.0),
        rng: Callable[[], float] = random.random,
        parse_mode: str | None = "HTML",
        timezone: tzinfo | None = None,
        batch_size: int = 100,
    ):
        self.db = db
        self.channel = channel
        self.clock = clock or SystemClock()
        self.limiter = limiter or ChatRateLimiter(self.clock)
        self.retry = retry
        self.rng = rng
        self.parse_mode = parse_mode  # of test messages; alerts carry their own
        self.timezone = timezone or datetime.now().astimezone().tzinfo
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._resume_at = float("-inf")  # monotonic time before which the channel is left alone
        self._retry_at: dict[tuple[int, str], float] = {}  # backoff of deliveries that failed
        self.problem: str | None = None  # why deliveries are failing, until one succeeds

    @classmethod
    def from_settings(
        cls, settings: Settings, db: NFLDBManager, clock: Clock | None = None, console_only: bool = False
    ) -> TelegramNotifier:
        return cls(
            db,
            channel_from_settings(settings, console_only),
            clock=clock,
            parse_mode=settings.telegram_parse_mode,
            timezone=settings.timezone,
        )

    def drain(self, max_seconds: float = 3.0) -> DrainReport:
        """Deliver pending alerts, oldest first, for at most about `max_seconds`.

        Stops early, leaving the rest pending for the next call, when the budget would be
        exceeded by a wait (pacing, backoff, a 429's retry_after) or the channel is paused.
        """
        report = DrainReport()
        deadline = self.clock.monotonic() + max_seconds
        with self._lock:
            while True:
                batch = self.db.run(lambda tx: tx.pending_alerts(self.batch_size))
                if not batch:
                    return report
                for alert in batch:
                    if not self._deliver(alert, deadline, report):
                        report.backlog = True
                        return report

    def test_connection(self, out: Callable[[str], None] = print) -> bool:
        return self.channel.test_connection(self.parse_mode, self.timezone, self.clock.now(), out)

    def close(self) -> None:
        """Wait for a running drain, then release the channel."""
        with self._lock:
            self.channel.close()

    def _deliver(self, alert: dict, deadline: float, report: DrainReport) -> bool:
        """Deliver `alert` to every chat still missing it; False when the drain must stop."""
        deliveries = self.db.run(lambda tx: tx.alert_deliveries(alert["id"]))
        for chat_id in self.channel.chat_ids:
            row = deliveries.get(chat_id)
            if row is not None and row["status"] != "pending":
                continue
            if not self._deliver_to(alert, chat_id, row["attempts"] if row else 0, deadline, report):
                return False
        status = self.db.run(lambda tx: tx.finish_alert(alert["id"]))
        if status == "failed":
            log.error("Alert %s (%s) reached no chat", alert["alert_key"], alert["alert_type"])
        return True

    def _wait(self, until: float, deadline: float) -> bool:
        """Sleep until monotonic `until`, unless that is past `deadline` (then False)."""
        wait = until - self.clock.monotonic()
        if wait <= 0:
            return True
        if self.clock.monotonic() + wait > deadline:
            return False
        self.clock.sleep(wait)
        return True

    def _deliver_to(self, alert: dict, chat_id: str, attempts: int, deadline: float, report: DrainReport) -> bool:
        """Deliver one alert to one chat until it is settled (True), or stop the drain (False)
        when a wait would pass the deadline or the channel is unavailable."""
        alert_id = alert["id"]
        key = (alert_id, chat_id)
        text, parse_mode = alert["message"], (alert["payload"] or {}).get("parse_mode")
        note = None
        while True:
            if attempts >= GIVE_UP_ATTEMPTS:
                # A long outage, or a message that crashes the process mid-send: stop resending it.
                error = f"gave up after {attempts} attempts whose outcome is unknown"
                self.db.run(lambda tx: tx.mark_delivery_failed(alert_id, chat_id, error))
                report.count(alert["alert_type"], "failed")
                log.error("Alert %s not delivered to chat %s: %s", alert_id, chat_id, error)
                return True
            if not self._wait(max(self._resume_at, self._retry_at.get(key, float("-inf"))), deadline):
                return False
            if self.channel.paced and not self._wait(self.clock.monotonic() + self.limiter.delay(chat_id), deadline):
                return False
            outgoing = with_resend_notice(text, parse_mode) if attempts > 0 else text
            attempts = self.db.run(lambda tx: tx.start_delivery_attempt(alert_id, chat_id))
            if self.channel.paced:
                self.limiter.take(chat_id)
            try:
                message_id = self.channel.send(chat_id, outgoing, parse_mode)
            except RetryLater as error:
                attempts -= 1
                self.db.run(lambda tx: tx.cancel_delivery_attempt(alert_id, chat_id, str(error)))
                report.rate_limited += 1
                self._resume_at = max(self._resume_at, self.clock.monotonic() + error.retry_after)
                log.warning("Telegram flood control: waiting %.0f s before alert %s", error.retry_after, alert_id)
            except ChannelUnavailable as error:
                self.db.run(lambda tx: tx.cancel_delivery_attempt(alert_id, chat_id, str(error)))
                self._resume_at = self.clock.monotonic() + UNAVAILABLE_PAUSE_SECONDS
                self.problem = f"{self.channel.name} unavailable: {error}"
                log.error(
                    "Telegram unavailable (%s): alerts stay pending; retrying in %.0f s",
                    error,
                    UNAVAILABLE_PAUSE_SECONDS,
                )
                return False
            except PermanentFailure as error:
                if error.reason == PARSE_ERROR and parse_mode is not None:
                    attempts -= 1
                    self.db.run(lambda tx: tx.cancel_delivery_attempt(alert_id, chat_id, str(error)))
                    log.error(
                        "Alert %s: Telegram rejected its %s (%s); resending as plain text", alert_id, parse_mode, error
                    )
                    note = f"sent as plain text: {error}"
                    text, parse_mode = to_plain(text, parse_mode), None
                    continue
                self.db.run(lambda tx: tx.mark_delivery_failed(alert_id, chat_id, str(error)))
                report.count(alert["alert_type"], "failed")
                log.error("Alert %s not delivered to chat %s: %s", alert_id, chat_id, error)
                return True
            except TransientFailure as error:
                self.db.run(lambda tx: tx.record_delivery_error(alert_id, chat_id, str(error)))
                if attempts % MAX_ATTEMPTS == 0:
                    # A round of attempts failed: the channel looks down. Rest it and keep the alert
                    # (and the ones after it, in order) pending: a score must outlive an outage.
                    self._retry_at.pop(key, None)
                    self.problem = f"deliveries failing: {error}"
                    self._resume_at = self.clock.monotonic() + OUTAGE_PAUSE_SECONDS
                    log.error(
                        "Alert %s to chat %s failed %d times (%s); pausing deliveries %.0f s",
                        alert_id,
                        chat_id,
                        attempts,
                        error,
                        OUTAGE_PAUSE_SECONDS,
                    )
                    return False
                report.retries += 1
                in_round = attempts % MAX_ATTEMPTS
                backoff = self.retry.wait(in_round, error, self.rng)
                self._retry_at[key] = self.clock.monotonic() + backoff
                log.warning(
                    "Alert %s to chat %s failed (%s); attempt %d of %d in %.1f s",
                    alert_id,
                    chat_id,
                    error,
                    in_round + 1,
                    MAX_ATTEMPTS,
                    backoff,
                )
            else:
                self.db.run(lambda tx: tx.mark_delivery_sent(alert_id, chat_id, self.clock.now(), message_id, note))
                self._retry_at.pop(key, None)
                report.count(alert["alert_type"], "sent")
                self.problem = None
                log.info(
                    "Alert %s (%s) delivered to chat %s (message %s)",
                    alert_id,
                    alert["alert_type"],
                    chat_id,
                    message_id,
                )
                return True


# --- what the daemon holds ------------------------------------------------------------------


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

    def describe(self) -> str:
        return self.notifier.channel.description

    def pending_count(self) -> int:
        """Alerts recorded but not yet delivered (or given up on)."""
        return self.notifier.db.pending_alert_count()

    def health_checks(self) -> dict[str, Callable[[], None]]:
        return {"alerts": self._check}

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
            self._observe(self.notifier.drain(max(0.0, flush_seconds - (time.monotonic() - started))))
        finally:
            self.notifier.close()

    def _check(self) -> None:
        problem = self._failure or self.notifier.problem
        if problem is not None:
            raise RuntimeError(f"alert delivery: {problem}")
        if self._thread is not None and not self._thread.is_alive() and not self._stopping.is_set():
            raise RuntimeError("alert delivery: the sender thread has stopped")

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.idle_seconds)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                report = self.notifier.drain(self.drain_seconds)
                self._failure = None
            except Exception as error:  # a dead database must not kill the sender; it retries
                self._failure = redact(f"{type(error).__name__}: {error}")
                log.exception("Alert sender failed; retrying in %.0f s", self.idle_seconds)
                continue
            self._observe(report)
            if report.backlog:
                # More is pending: go on soon, but not in a busy loop while the channel rests.
                self._stopping.wait(min(1.0, self.idle_seconds))
                self._wake.set()

    def _observe(self, report: DrainReport) -> None:
        if self.metrics is not None:
            for (alert_type, outcome), count in report.outcomes.items():
                self.metrics.alerts.labels(alert_type, outcome).inc(count)


def build_notifier(
    settings: Settings,
    db: NFLDBManager,
    clock: Clock | None = None,
    *,
    console_only: bool = False,
    metrics: Metrics | None = None,
) -> AlertService:
    """The daemon's alert service from the settings: Telegram when configured (the console when
    not, or when `console_only`), the policy from the settings, pacing on `clock`."""
    return AlertService(
        AlertOutbox.from_settings(settings, console_only),
        TelegramNotifier.from_settings(settings, db, clock, console_only),
        metrics=metrics,
    )
