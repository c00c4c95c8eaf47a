"""Logging for the daemon: console plus a rotating file, with secrets scrubbed from every line.

The Telegram bot token is part of every Bot API URL, so any library that logs a URL or an
exception could leak it; the `SecretFilter` replaces each configured secret wherever it appears,
including in exception tracebacks.
"""
from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path
from typing import Iterable

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Bot API tokens look like 123456789:AA...; scrubbed even when the token is not configured here.
_TOKEN_PATTERN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")
REDACTED = "<redacted>"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret and anything shaped like a bot token replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _TOKEN_PATTERN.sub(REDACTED, text)


class SecretFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def configure_logging(level: str, log_dir: Path, secrets: Iterable[str] = (), console: bool = True) -> Path:
    """Console and `log_dir/nfl_pipeline.log` (10 MB x 5 rotations); returns the log file path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "nfl_pipeline.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    secret_filter = SecretFilter(secrets)
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(path, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8")]
    if console:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(secret_filter)
        root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and a Bot API URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return path
