"""Logging for the daemon: console plus a rotating file, with secrets scrubbed from every record.

The Telegram bot token is part of every Bot API URL, and libraries log URLs (httpx at INFO, PTB
at DEBUG, PTB's InvalidToken message quotes the token), so redaction is applied to every log
record through the record factory, not only to our own messages or our own handlers.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
REDACTED = "<redacted>"
LOG_FILE_MODE = 0o640
LOG_DIR_MODE = 0o750
# A Bot API token: the bot id, a colon, 35 characters. Caught even when it was never registered.
_TOKEN_SHAPE = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}")
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_factory_installed = False


def redact(text: str) -> str:
    """`text` without any registered secret or anything shaped like a bot token."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPE.sub(REDACTED, text)


def register_secret(secret: str) -> None:
    """Redact `secret` (and its URL-quoted form) from every log record from now on."""
    global _factory_installed
    if not secret or len(secret) < 4:  # a two-letter password would blank every "pw" in the log
        return
    with _secrets_lock:
        _secrets.update({secret, quote(secret, safe="")})
        if not _factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                return _redact_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _factory_installed = True


def registered_secrets() -> list[str]:
    """The secrets registered so far, for a child process to register again (a spawned process
    starts with none)."""
    with _secrets_lock:
        return sorted(_secrets)


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's to report, not ours
        return record
    redacted = redact(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        trace = logging.Formatter().formatException(record.exc_info)
        clean = redact(trace)
        if clean != trace:
            record.exc_text = clean
    return record


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file created (and each rotation's new file too) with mode 0640, whatever
    the umask: the log tells what the daemon watches and sends, so not every user of the machine
    should read it."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_FILE_MODE)
        if hasattr(os, "fchmod"):  # not on Windows, where the mode bits mean nothing
            os.fchmod(fd, LOG_FILE_MODE)  # also a file an older version left 0644
        return open(fd, "a", encoding=self.encoding, errors=self.errors)  # rotating handlers append


def configure_logging(level: str, log_dir: Path, secrets: Iterable[str] = (), console: bool = True) -> Path:
    """Console and `log_dir/nfl_pipeline.log` (10 MB x 5 rotations); returns the log file path."""
    for secret in secrets:
        register_secret(secret)
    if not log_dir.exists():
        log_dir.mkdir(mode=LOG_DIR_MODE, parents=True)
        log_dir.chmod(LOG_DIR_MODE)  # mkdir's mode passes through the umask
    path = log_dir / "nfl_pipeline.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [
        PrivateRotatingFileHandler(path, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8")
    ]
    if console:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and a Bot API URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return path
