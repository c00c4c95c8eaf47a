"""How long to wait before trying again: bounded exponential backoff with full jitter. Pure: the
caller passes the attempt, the error and the random source, and does the waiting. Shared by the
sources' HTTP layer and the Telegram sender.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with full jitter; Retry-After wins when the server sends it.

    `deadline` bounds the whole sequence (tries, waits and each try's timeout) in seconds: a host
    that never answers costs its caller at most that long, whatever `max_tries` says.
    """

    max_tries: int = 4
    initial: float = 0.5
    maximum: float = 30.0
    max_retry_after: float = 120.0
    deadline: float | None = None

    def wait(self, attempt: int, error: BaseException | None, rng: Callable[[], float]) -> float:
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), self.max_retry_after)
        ceiling: float = min(self.maximum, self.initial * (2 ** (attempt - 1)))
        return ceiling / 2 + rng() * ceiling / 2
