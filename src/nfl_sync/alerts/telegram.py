"""Telegram through python-telegram-bot: sending, outcomes as delivery errors, and `--test`.

One asyncio loop in a dedicated thread owns the `Bot` and its keep-alive connections, so the
synchronous sender (any thread) can submit sends to it. The bot token is part of every Bot API URL:
it is registered for redaction before the `Bot` exists, and every error text is redacted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

import httpx
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.request import HTTPXRequest

from nfl_sync.alerts.channel import (
    BAD_REQUEST,
    BLOCKED,
    CHAT_NOT_FOUND,
    PARSE_ERROR,
    ChannelUnavailable,
    ChatMoved,
    DeliveryError,
    NotSent,
    PermanentFailure,
    RetryLater,
    TransientFailure,
)
from nfl_sync.config import DEFAULT_TELEGRAM_API_BASE_URL
from nfl_sync.domain.alert_templates import render
from nfl_sync.domain.events import AlertType, Event, Priority, SystemData
from nfl_sync.logging_setup import redact, register_secret

log = logging.getLogger(__name__)

# Opt in to PTB's announced timedelta periods (RetryAfter.retry_after); otherwise PTB 22 warns
# on every 429 it parses. `_retry_after_seconds` reads either form.
os.environ.setdefault("PTB_TIMEDELTA", "true")


def _retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after  # a timedelta under PTB_TIMEDELTA, else int seconds
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# httpx's errors raised before a byte of the request reached Telegram: the name did not resolve or
# the connection was refused (ConnectError), the connection was not made in time (ConnectTimeout),
# no pooled connection came free (PoolTimeout), a proxy refused the tunnel (ProxyError). Any
# other error (a read or write timeout, a connection cut mid-request) may come after Telegram
# took the message.
NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


def _never_left(error: BaseException) -> bool:
    """Whether PTB's NetworkError (or TimedOut) wraps an error from before the request left.

    Relies on PTB's HTTPXRequest raising NetworkError / TimedOut `from` the httpx exception
    (python-telegram-bot 22: `raise TimedOut(...) from err`, `raise NetworkError(...) from err`),
    so the cause says what happened; without a cause the attempt counts as in doubt."""
    return isinstance(error, NetworkError) and isinstance(error.__cause__, NEVER_LEFT)


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
        return ChatMoved(f"the group is now the supergroup {error.new_chat_id}", str(error.new_chat_id))
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
    if _never_left(error):
        return NotSent(f"{text} (the request never left)")
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

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Run `coroutine` on the channel's loop, from any thread (the bot's commands live there
        too: the daemon keeps one PTB loop)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        # The wait covers getMe and the send, each bounded by the HTTP timeouts, plus slack.
        limit = self.timeout * 3
        future = self.submit(coroutine)
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

    async def _send_photo(self, chat_id: str, photo: bytes, caption: str) -> int:
        await self._bot.initialize()
        message = await self._bot.send_photo(chat_id=chat_id, photo=photo, caption=caption)
        return message.message_id

    async def _identity(self) -> str:
        await self._bot.initialize()
        return f"@{self._bot.username} (id {self._bot.id})"

    def send(self, chat_id: str, text: str, parse_mode: str | None) -> str | None:
        return str(self._call(self._send(chat_id, text, parse_mode)))

    def send_photo(self, chat_id: str, photo: bytes, caption: str) -> str | None:
        """sendPhoto, uploaded as multipart form data."""
        return str(self._call(self._send_photo(chat_id, photo, caption)))

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
