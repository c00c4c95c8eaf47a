"""Alerts on the console, when Telegram is not configured or not in use."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import TextIO

from nfl_sync.domain.markup import to_plain

log = logging.getLogger(__name__)


class ConsoleChannel:
    """Alerts printed to stdout and logged, when Telegram is not in use (`reason` says why)."""

    name = "console"
    chat_ids: tuple[str, ...] = ("console",)
    paced = False  # no flood limits on a terminal

    def __init__(self, reason: str, stream: TextIO | None = None):
        self.reason = reason
        self.description = f"the console ({reason})"
        self._stream = stream

    def send(self, chat_id: str, text: str, parse_mode: str | None) -> str | None:
        plain = to_plain(text, parse_mode)
        self._print(plain)
        log.info("Alert (console; Telegram not in use: %s): %s", self.reason, plain.replace("\n", " | "))
        return None

    def send_photo(self, chat_id: str, photo: bytes, caption: str) -> str | None:
        """A terminal shows no picture: the caption and the chart's size."""
        self._print(f"{caption}\n[chart: PNG of {len(photo) // 1024} KB, sent as a photo on Telegram]")
        return None

    def _print(self, plain: str) -> None:
        stream = self._stream or sys.stdout
        block = f"{'-' * 40}\n{plain}"
        try:
            print(block, file=stream, flush=True)
        except UnicodeEncodeError:  # a console that cannot show emoji (Windows code pages)
            encoding = stream.encoding or "ascii"
            print(block.encode(encoding, "replace").decode(encoding), file=stream, flush=True)

    def test_connection(self, parse_mode: str | None, tz: tzinfo, now: datetime, out: Callable[[str], None]) -> bool:
        out(f"✗ Telegram is not in use: {self.reason}. Alerts go to the console and the log.")
        return False

    def close(self) -> None:
        """Nothing to release."""
