"""Sending: the sender drains the outbox to a channel, paced, retried, and safe across crashes.

`TelegramNotifier.drain` delivers pending alerts, scores first, then high priority, each in id
order (`OutboxRepository.next_pending_alert`), to every chat of the channel and closes each alert as
'sent' (Telegram's message id kept) or 'failed'. Deliveries are tracked per chat in
nfl_alert_deliveries, so a restart resends only to the chats still missing. The chats of an alert
are the channel's (the configured ones), or, for an alert the outbox fanned out to its subscribers
(`fanned_out`), the chats it wrote deliveries for.

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
cannot loop forever. A request that never left (DNS failure, connection refused: `NotSent`) is no
attempt: it never counts towards that limit, and never carries the resend notice.

Two senders on one database (a takeover, see `storage/lease.py`) never take the same alert: each
alert is claimed with `SELECT ... FOR NO KEY UPDATE SKIP LOCKED` in a transaction held while it is
delivered, and closed in it. Only the leader sends at all (`may_send`, read before every alert and
every request).

Retries: timeouts, cut connections and 5xx are retried with exponential backoff, 3 attempts a
round, and so are requests that never left; after a failed round the channel rests 30 s and the
alert stays pending (with every alert after it, so the order holds) until the next round. After 10
rounds in a row without a delivery a critical message says the channel is down (in the log and on
the console, the channel itself being down, and in the outbox through `on_channel_down`); an
alert in doubt is then given up, one that was never sent stays pending for as long as the outage
lasts. A 429 waits its retry_after and is not counted; 403 and 400 are permanent ('failed' with
Telegram's description, and the chat marked broken in `broken_chats` until a delivery to it
succeeds), except that a 400 "can't parse entities" is resent once as plain text, recorded as
a note, because a plain alert beats a lost one, and a group that became a supergroup is followed
to its new id at once (recorded in nfl_alert_chat_routes, so later alerts and restarts use it).
Sends are paced under Telegram's flood limits (`pacing.SEND_PACING`). `drain` never runs past its
time budget: what is left stays pending for the next call.

Game charts (with `chart`, the daemon's Telegram sender): the final-score alert goes out as text,
exactly as any alert, and its delivery to a chat queues the game's chart for that chat in the
same transaction (nfl_alert_photos). Photos are sent only when no alert is pending, so a chart
never delays a text alert, and rendering one (on this thread, never a lane's) or failing to
never stops one. A photo is at most once per chat: marked 'sending' before its upload, it is not
tried again after a crash or an answer in doubt; only an upload that never reached Telegram (a
429, no connection) goes back to the queue. The caption is the final line ("GB 24 @ ATL 25 — final").
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar

from nfl_sync.alerts.channel import (
    BLOCKED,
    CHAT_NOT_FOUND,
    PARSE_ERROR,
    Channel,
    ChannelUnavailable,
    ChatMoved,
    DeliveryError,
    NotSent,
    PermanentFailure,
    RetryLater,
    TransientFailure,
)
from nfl_sync.alerts.console import ConsoleChannel
from nfl_sync.clock import Clock, SystemClock
from nfl_sync.domain.backoff import RetryPolicy
from nfl_sync.domain.game_chart import ChartGame, final_line
from nfl_sync.domain.markup import to_plain, with_resend_notice
from nfl_sync.domain.pacing import SEND_PACING, Allowance, FloodLimits, chat_allowances
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.outbox import OutboxRepository
from nfl_sync.storage.photos import PhotoRepository
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # per round; a failed round rests the channel OUTAGE_PAUSE_SECONDS
OUTAGE_ROUNDS = 10  # failed rounds in a row (about six minutes) before the channel is reported down
GIVE_UP_ATTEMPTS = OUTAGE_ROUNDS * MAX_ATTEMPTS  # in-doubt attempts, or ten crashes mid-send
# After the channel is found down (token rejected, or a delivery out of attempts), wait this long
# before trying again, so an outage does not burn every pending alert's attempts in a row.
UNAVAILABLE_PAUSE_SECONDS = 60.0
OUTAGE_PAUSE_SECONDS = 30.0
SEND_RETRY = RetryPolicy(max_tries=MAX_ATTEMPTS, initial=1.0, maximum=8.0)
T = TypeVar("T")


class ChatRateLimiter:
    """The sender's pacing: buckets overall, per chat and per group (`pacing.SEND_PACING`).
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
    """Drains the outbox to a channel, scores and high priority first, one delivery at a time.
    Thread-safe."""

    def __init__(
        self,
        db: NFLDBManager,
        channel: Channel,
        *,
        clock: Clock | None = None,
        limiter: ChatRateLimiter | None = None,
        retry: RetryPolicy = SEND_RETRY,
        rng: Callable[[], float] = random.random,
        parse_mode: str | None = "HTML",
        timezone: tzinfo | None = None,
        may_send: Callable[[], bool] = lambda: True,
        chart: Callable[[str], bytes | None] | None = None,
        games: Sequence[str] | None = None,
    ):
        self.db = db
        self.games = games  # the games whose alerts this sender serves (and alerts of no game); None: all
        self.chart = chart  # a game's chart as PNG, sent after its final-score alert; None: no charts
        self.channel = channel
        self.clock = clock or SystemClock()
        self.limiter = limiter or ChatRateLimiter(self.clock)
        self.retry = retry
        self.rng = rng
        self.parse_mode = parse_mode  # of test messages; alerts carry their own
        self.timezone: tzinfo = timezone or datetime.now().astimezone().tzinfo or UTC
        self._lock = threading.Lock()
        self._resume_at = float("-inf")  # monotonic time before which the channel is left alone
        self._retry_at: dict[tuple[int, str], float] = {}  # backoff of deliveries that failed
        self.problem: str | None = None  # why deliveries are failing, until one succeeds
        self.may_send = may_send  # False while this instance is not the leader
        # Told once per outage when the channel is down (OUTAGE_ROUNDS failed rounds in a row).
        self.on_channel_down: Callable[[str], None] | None = None
        self.channel_down: str | None = None
        self.broken_chats: dict[str, str] = {}  # chat -> why it fails for good, until it works
        self._routes: dict[str, str] | None = None  # configured chat -> where it moved (loaded once)
        self._unsent: dict[tuple[int, str], int] = {}  # tries of a delivery that never left
        self._failed_rounds = 0  # in a row, since the last delivery
        self._failing_since: float | None = None

    def _outbox(self, statement: Callable[..., T], *args: Any) -> T:
        """One outbox statement in a transaction of its own; its arguments are bound now."""
        return self.db.run(lambda tx: statement(tx.outbox, *args))

    def drain(self, max_seconds: float = 3.0, *, photos: bool = True) -> DrainReport:
        """Deliver pending alerts, scores and high priority first, for at most about `max_seconds`.

        Stops early, leaving the rest pending for the next call, when the budget would be
        exceeded by a wait (pacing, backoff, a 429's retry_after) or the channel is paused. With
        `photos`, the queued charts follow once no alert is pending (not in a shutdown's flush).
        """
        report = DrainReport()
        deadline = self.clock.monotonic() + max_seconds
        with self._lock:
            if self._routes is None:
                self._routes = self._load_routes()
            # One alert at a time, claimed afresh after the pacing wait: a score recorded during
            # the drain goes next, also one recorded while the pacing was waited out.
            while self._outbox(OutboxRepository.next_pending_alert, self.games) is not None:
                pacing = self._pacing_delay()
                if not self.may_send() or (pacing > 0 and not self._wait(self.clock.monotonic() + pacing, deadline)):
                    report.backlog = True
                    return report
                with self.db.transaction() as claim:
                    alert = claim.outbox.claim_next_pending_alert(self.games)
                    # None: another sender holds every pending alert (a takeover under way).
                    if alert is None or not self._deliver(alert, claim, deadline, report):
                        report.backlog = True
                        return report
            if photos:
                self._send_photos(deadline)
            return report

    def route(self, chat_id: str) -> str:
        """Where alerts for a configured chat go: the supergroup it became, once known."""
        return (self._routes or {}).get(chat_id, chat_id)

    def _load_routes(self) -> dict[str, str]:
        routes = self._outbox(OutboxRepository.chat_routes)
        for chat_id, target in routes.items():
            if chat_id in self.channel.chat_ids:
                log.warning("Alerts for chat %s go to %s, the supergroup Telegram moved it to", chat_id, target)
        return routes

    def _pacing_delay(self) -> float:
        """Seconds until some chat may get its next message (0 for an unpaced channel)."""
        if not self.channel.paced or not self.channel.chat_ids:
            return 0.0
        return min(self.limiter.delay(chat_id) for chat_id in self.channel.chat_ids)

    def test_connection(self, out: Callable[[str], None] = print) -> bool:
        return self.channel.test_connection(self.parse_mode, self.timezone, self.clock.now(), out)

    def close(self) -> None:
        """Wait for a running drain, then release the channel."""
        with self._lock:
            self.channel.close()

    def _deliver(self, alert: dict, claim: Tx, deadline: float, report: DrainReport) -> bool:
        """Deliver `alert` (held by the `claim` transaction) to every chat still missing it, then
        close it in that transaction; False when the drain must stop."""
        deliveries = self._outbox(OutboxRepository.alert_deliveries, alert["id"])
        # A fanned-out alert goes to the chats the outbox wrote its deliveries for; any other
        # (recorded without subscriptions, or by the direct path) to every configured chat.
        chats = list(deliveries) if alert["fanned_out"] else self.channel.chat_ids
        # The configured chats first: a subscriber's flood wait must not hold the admins' alert.
        chats = sorted(chats, key=lambda chat_id: chat_id not in self.channel.chat_ids)
        for chat_id in chats:
            row = deliveries.get(chat_id)
            if row is not None and row["status"] != "pending":
                continue
            if not self._deliver_to(alert, chat_id, row["attempts"] if row else 0, deadline, report):
                return False
        status = claim.outbox.finish_alert(alert["id"])
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
                self._fail(alert, chat_id, f"gave up after {attempts} attempts whose outcome is unknown", report)
                return True
            if not self._wait(max(self._resume_at, self._retry_at.get(key, float("-inf"))), deadline):
                return False
            if self.channel.paced and not self._wait(self.clock.monotonic() + self.limiter.delay(chat_id), deadline):
                return False
            if not self.may_send():
                return False
            outgoing = with_resend_notice(text, parse_mode) if attempts > 0 else text
            attempts = self._outbox(OutboxRepository.start_delivery_attempt, alert_id, chat_id)
            if self.channel.paced:
                self.limiter.take(chat_id)
            target = self.route(chat_id)
            try:
                message_id = self.channel.send(target, outgoing, parse_mode)
            except RetryLater as error:
                attempts -= 1
                self._outbox(OutboxRepository.cancel_delivery_attempt, alert_id, chat_id, str(error))
                report.rate_limited += 1
                self._resume_at = max(self._resume_at, self.clock.monotonic() + error.retry_after)
                log.warning("Telegram flood control: waiting %.0f s before alert %s", error.retry_after, alert_id)
            except ChannelUnavailable as error:
                self._outbox(OutboxRepository.cancel_delivery_attempt, alert_id, chat_id, str(error))
                self._resume_at = self.clock.monotonic() + UNAVAILABLE_PAUSE_SECONDS
                self.problem = f"{self.channel.name} unavailable: {error}"
                log.error(
                    "Telegram unavailable (%s): alerts stay pending; retrying in %.0f s",
                    error,
                    UNAVAILABLE_PAUSE_SECONDS,
                )
                return False
            except ChatMoved as error:
                attempts -= 1
                self._outbox(OutboxRepository.cancel_delivery_attempt, alert_id, chat_id, str(error))
                if error.new_chat_id == target:  # never seen; but it must not loop
                    self._fail(alert, chat_id, str(error), report)
                    return True
                self._follow(chat_id, target, error.new_chat_id)
                note = f"sent to the supergroup {error.new_chat_id}"
                continue
            except NotSent as error:
                attempts -= 1
                self._outbox(OutboxRepository.cancel_delivery_attempt, alert_id, chat_id, str(error))
                tries = self._unsent[key] = self._unsent.get(key, 0) + 1
                if tries % MAX_ATTEMPTS == 0:
                    self._rest(alert_id, chat_id, tries, error)
                    return False
                self._back_off(key, tries, error, report)
            except PermanentFailure as error:
                if error.reason == PARSE_ERROR and parse_mode is not None:
                    attempts -= 1
                    self._outbox(OutboxRepository.cancel_delivery_attempt, alert_id, chat_id, str(error))
                    log.error(
                        "Alert %s: Telegram rejected its %s (%s); resending as plain text", alert_id, parse_mode, error
                    )
                    note = f"sent as plain text: {error}"
                    text, parse_mode = to_plain(text, parse_mode), None
                    continue
                self._fail(alert, chat_id, str(error), report)
                # A subscriber that blocked the bot is its own business; a configured chat is the daemon's.
                if error.reason in (BLOCKED, CHAT_NOT_FOUND) and chat_id in self.channel.chat_ids:
                    self.broken_chats[chat_id] = str(error)
                return True
            except TransientFailure as error:
                self._outbox(OutboxRepository.record_delivery_error, alert_id, chat_id, str(error))
                if attempts % MAX_ATTEMPTS == 0:
                    self._rest(alert_id, chat_id, attempts, error)
                    return False
                self._back_off(key, attempts, error, report)
            else:
                self._mark_sent(alert, chat_id, message_id, note)
                self._retry_at.pop(key, None)
                self._unsent.pop(key, None)
                report.count(alert["alert_type"], "sent")
                self._delivered(chat_id)
                log.info(
                    "Alert %s (%s) delivered to chat %s (message %s)",
                    alert_id,
                    alert["alert_type"],
                    chat_id,
                    message_id,
                )
                return True

    def _mark_sent(self, alert: dict, chat_id: str, message_id: str | None, note: str | None) -> None:
        """The delivery is sent; a final score's chart is queued for the chat in the same transaction."""
        data = (alert["payload"] or {}).get("data") or {}
        photo = self.chart is not None and alert["alert_type"] == "score" and data.get("final")

        def write(tx: Tx) -> None:
            tx.outbox.mark_delivery_sent(alert["id"], chat_id, self.clock.now(), message_id, note)
            if photo:
                tx.photos.queue(alert["id"], chat_id, data["game_id"], _final_caption(data))

        self.db.run(write)

    def _send_photos(self, deadline: float) -> None:
        """Send the queued charts, each at most once, while no alert is pending and time is left."""
        if self.chart is None:
            return
        charts: dict[str, bytes | None] = {}  # by game, drawn once for all its chats
        while (photo := self._photo(PhotoRepository.next_pending)) is not None:
            if self.clock.monotonic() >= deadline:
                return  # a chart never holds the next drain's alerts past its budget
            alert_id, chat_id = photo["alert_id"], photo["chat_id"]
            if self._outbox(OutboxRepository.next_pending_alert, self.games) is not None or not self.may_send():
                return
            if not self._wait(self._resume_at, deadline):
                return
            if self.channel.paced and not self._wait(self.clock.monotonic() + self.limiter.delay(chat_id), deadline):
                return
            if not self._photo(PhotoRepository.claim, alert_id, chat_id):
                continue
            if photo["game_id"] not in charts:
                charts[photo["game_id"]] = self._draw(photo["game_id"])
            png = charts[photo["game_id"]]
            if png is None:
                self._settle_photo(alert_id, chat_id, error="no chart could be drawn")
                continue
            if self.channel.paced:
                self.limiter.take(chat_id)
            try:
                message_id = self.channel.send_photo(self.route(chat_id), png, photo["caption"])
            except (RetryLater, NotSent, ChannelUnavailable) as error:
                # Telegram did not take it: queued again, tried in a later drain.
                self._photo(PhotoRepository.release, alert_id, chat_id, str(error))
                if isinstance(error, RetryLater):
                    self._resume_at = max(self._resume_at, self.clock.monotonic() + error.retry_after)
                log.warning("Chart of alert %s to chat %s not sent (%s); queued again", alert_id, chat_id, error)
                return
            except DeliveryError as error:  # refused, or in doubt: never repeated
                self._settle_photo(alert_id, chat_id, error=str(error))
                log.error("Chart of alert %s to chat %s not delivered: %s", alert_id, chat_id, error)
            else:
                self._settle_photo(alert_id, chat_id, message_id=message_id)
                log.info("Chart of alert %s delivered to chat %s (message %s)", alert_id, chat_id, message_id)

    def _photo(self, statement: Callable[..., T], *args: Any) -> T:
        """One nfl_alert_photos statement in a transaction of its own."""
        return self.db.run(lambda tx: statement(tx.photos, *args))

    def _draw(self, game_id: str) -> bytes | None:
        """The game's chart, None when there is nothing to draw or drawing fails (a chart is
        never worth stopping the sender for)."""
        assert self.chart is not None
        try:
            return self.chart(game_id)
        except Exception:
            log.exception("The chart of game %s could not be drawn", game_id)
            return None

    def _settle_photo(
        self, alert_id: int, chat_id: str, message_id: str | None = None, error: str | None = None
    ) -> None:
        self._photo(PhotoRepository.settle, alert_id, chat_id, self.clock.now(), message_id, error)

    def _fail(self, alert: dict, chat_id: str, error: str, report: DrainReport) -> None:
        self._outbox(OutboxRepository.mark_delivery_failed, alert["id"], chat_id, error)
        report.count(alert["alert_type"], "failed")
        log.error("Alert %s not delivered to chat %s: %s", alert["id"], chat_id, error)

    def _back_off(self, key: tuple[int, str], tries: int, error: Exception, report: DrainReport) -> None:
        """Schedule the next try of a delivery within its round of MAX_ATTEMPTS."""
        report.retries += 1
        in_round = tries % MAX_ATTEMPTS
        backoff = self.retry.wait(in_round, error, self.rng)
        self._retry_at[key] = self.clock.monotonic() + backoff
        log.warning(
            "Alert %s to chat %s failed (%s); attempt %d of %d in %.1f s",
            key[0],
            key[1],
            error,
            in_round + 1,
            MAX_ATTEMPTS,
            backoff,
        )

    def _rest(self, alert_id: int, chat_id: str, tries: int, error: Exception) -> None:
        """A round of tries failed: the channel looks down. Rest it and keep the alert (and the
        ones after it, in order) pending: a score must outlive an outage."""
        now = self.clock.monotonic()
        self._retry_at.pop((alert_id, chat_id), None)
        self.problem = f"deliveries failing: {error}"
        self._resume_at = now + OUTAGE_PAUSE_SECONDS
        if self._failing_since is None:
            self._failing_since = now
        self._failed_rounds += 1
        log.error(
            "Alert %s to chat %s failed %d times (%s); pausing deliveries %.0f s",
            alert_id,
            chat_id,
            tries,
            error,
            OUTAGE_PAUSE_SECONDS,
        )
        if self._failed_rounds == OUTAGE_ROUNDS:
            minutes = (now - self._failing_since) / 60
            self._report_down(
                f"{self.channel.description} is down: {OUTAGE_ROUNDS} rounds of deliveries failed in "
                f"{minutes:.0f} min (last: {error}). Alerts wait, in order, and go out once it is back."
            )

    def _report_down(self, message: str) -> None:
        """Say the channel is down where it can be seen: the log, the console (the channel itself
        cannot carry it) and `on_channel_down` (the daemon records it in the outbox)."""
        self.channel_down = message
        log.critical(message)
        if self.channel.name != ConsoleChannel.name:
            ConsoleChannel("the alert channel is down").send("console", f"CRITICAL: {message}", None)
        if self.on_channel_down is not None:
            self.on_channel_down(message)

    def _delivered(self, chat_id: str) -> None:
        """A delivery went through: whatever outage there was is over."""
        if self.channel_down is not None:
            log.warning("%s is back: delivering what waited", self.channel.description)
        self.problem = self.channel_down = self._failing_since = None
        self._failed_rounds = 0
        self.broken_chats.pop(chat_id, None)

    def _follow(self, chat_id: str, old_target: str, new_target: str) -> None:
        """Telegram moved the group to a supergroup: send there from now on, and remember it."""
        assert self._routes is not None
        self._routes[chat_id] = new_target
        self._outbox(OutboxRepository.route_chat, chat_id, new_target, self.clock.now())
        log.warning(
            "Telegram moved the group %s to the supergroup %s: alerts for chat %s go there now "
            "(recorded; put %s in TELEGRAM_CHAT_ID)",
            old_target,
            new_target,
            chat_id,
            new_target,
        )


def _final_caption(data: dict) -> str:
    """The final line of a final-score alert's data (ScoreData): 'GB 24 @ ATL 25 — final'."""
    game = ChartGame(
        data["game_id"],
        data["away_team"],
        data["home_team"],
        data.get("away_score"),
        data.get("home_score"),
        data.get("status") or "final",
        None,
    )
    return final_line(game)
