"""What a channel is, and how a send can fail: the outcomes the sender acts on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Protocol

from nfl_sync.domain.errors import PipelineError


class DeliveryError(PipelineError):
    """A send did not go through. The message is safe to log and store (no token)."""


class RetryLater(DeliveryError):
    """Flood control (429): not delivered; wait `retry_after` seconds. Not a counted attempt."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class ChannelUnavailable(DeliveryError):
    """The channel cannot send at all (the token is rejected); nothing was delivered."""


class TransientFailure(DeliveryError):
    """Timeout, broken connection or 5xx: retried; the message may have been delivered anyway."""


class NotSent(DeliveryError):
    """The request never left (DNS failure, connection refused, connect timeout): nothing can
    have been delivered, so it is no attempt. Retried like an outage for as long as it lasts."""


class ChatMoved(DeliveryError):
    """The group became a supergroup with a new id (Telegram's `migrate_to_chat_id`): nothing
    was delivered; send to `new_chat_id` from now on."""

    def __init__(self, message: str, new_chat_id: str):
        super().__init__(message)
        self.new_chat_id = new_chat_id


BLOCKED = "blocked"
CHAT_NOT_FOUND = "chat_not_found"
PARSE_ERROR = "parse_error"
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

    def send_photo(self, chat_id: str, photo: bytes, caption: str) -> str | None:
        """Deliver a PNG with a plain-text `caption`; return the message id or raise DeliveryError."""

    def test_connection(self, parse_mode: str | None, tz: tzinfo, now: datetime, out: Callable[[str], None]) -> bool:
        """Check the channel end to end, telling `out` what works and what is wrong."""

    def close(self) -> None:
        """Release the channel's resources."""
