"""The pipeline's one error family: everything the daemon expects to go wrong is a `PipelineError`.

The loop catches the family per step: a source that cannot answer, a payload that no longer parses,
a database that is down. Anything else is a bug, logged in full. Every message is safe to log: it
names what failed and never holds a key, a token or a password.
"""

from __future__ import annotations

from typing import Any

FORMAT_CHANGED = "Kalshi response format changed"


class PipelineError(Exception):
    """Base of every error the pipeline expects and reports without a traceback."""


class ConfigError(PipelineError, ValueError):
    """A setting is missing or malformed; the message names the variable and never its secret."""


class ParseError(PipelineError, ValueError):
    """A payload cannot be turned into records; the message says where and why."""


class KalshiFormatError(ParseError):
    """A Kalshi payload no longer has the shape the parser reads; never answered with a guess."""

    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(f"{FORMAT_CHANGED}: {detail}")


class SourceError(PipelineError):
    """A source could not give a usable answer. Safe to log: holds no keys or tokens."""

    def __init__(
        self,
        source: str,
        path: str,
        message: str,
        status: int | None = None,
        attempts: int = 1,
        retryable: bool = False,
        retry_after: float | None = None,
        body: Any = None,
    ):
        self.source = source
        self.path = path
        self.status = status
        self.attempts = attempts
        self.retryable = retryable
        self.retry_after = retry_after
        self.body = body
        self.message = message
        super().__init__(self._text())

    def _text(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        tries = f" after {self.attempts} tries" if self.attempts > 1 else ""
        return f"{self.source} {self.path}: {self.message} ({status}){tries}"

    def with_attempts(self, attempts: int) -> SourceError:
        self.attempts = attempts
        self.args = (self._text(),)
        return self


class DatabaseError(PipelineError, RuntimeError):
    """The database could not do what was asked; the message is safe to log."""


class EmbeddedDatabaseError(DatabaseError):
    """The embedded server could not be started; the message says what to do instead."""
