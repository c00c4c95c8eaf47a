"""The one HTTP layer every source goes through: session, rate limit, retries, cache, clear errors.

Each source (ESPN, Kalshi, OpenWeatherMap, Open-Meteo, The Odds API) gets its own `HttpSource`
with a keep-alive `requests.Session`. Whatever goes wrong on the wire (connection errors,
timeouts, 5xx, 429, HTML error pages, truncated or mis-shaped JSON) reaches the caller as one
`SourceError` that names the source, the URL path (never the query, where keys live) and the
status, after a bounded number of tries with exponential backoff and jitter.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import urllib3
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from nfl_sync.clock import Clock, SystemClock
from nfl_sync.domain.errors import SourceError

log = logging.getLogger(__name__)

USER_AGENT = "nfl-realtime-pipeline/1.0 (+https://github.com/; polite polling, contact via repo)"

# Observer signature: (source name, path, HTTP status or None, seconds taken).
RequestObserver = Callable[[str, str, int | None, float], None]


@dataclass(frozen=True)
class Reply:
    """A finished HTTP exchange: the status, the headers (case-insensitive) and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class RateLimiter:
    """Spaces calls so that no window holds more than its count, shared by all threads.

    `limits` are (count, period seconds) pairs, e.g. ((1, 1.0), (60, 60.0)) for ESPN. A caller
    reserves the earliest slot that respects every window and then sleeps until it outside the
    lock, so waiting threads do not block each other's bookkeeping. `key` keeps separate windows
    (for example one per location).
    """

    def __init__(self, limits: Iterable[tuple[int, float]], clock: Clock):
        self.limits = tuple(sorted(limits, key=lambda item: item[1]))
        self.clock = clock
        self._lock = threading.Lock()
        self._slots: dict[Hashable, deque[float]] = {}
        self._horizon = max((period for _, period in self.limits), default=0.0)

    def reserve(self, key: Hashable = None) -> float:
        """Reserve the next slot and return how long the caller must wait for it."""
        with self._lock:
            now = self.clock.monotonic()
            slots = self._slots.setdefault(key, deque())
            while slots and slots[0] <= now - self._horizon:
                slots.popleft()
            at = now
            changed = True
            while changed:
                changed = False
                for count, period in self.limits:
                    in_window = [t for t in slots if t > at - period]
                    if len(in_window) >= count:
                        candidate = in_window[-count] + period
                        if candidate > at:
                            at, changed = candidate, True
            slots.append(at)
            return at - now

    def acquire(self, key: Hashable = None) -> None:
        wait = self.reserve(key)
        if wait > 0:
            self.clock.sleep(wait)


class TokenBucket:
    """Classic token bucket: `rate` tokens per second, bursts up to `capacity`. Thread-safe."""

    def __init__(self, rate: float, capacity: float, clock: Clock):
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self._tokens = capacity
        self._updated = clock.monotonic()
        self._lock = threading.Lock()

    def reserve(self, key: Hashable = None) -> float:
        with self._lock:
            now = self.clock.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self, key: Hashable = None) -> None:
        wait = self.reserve(key)
        if wait > 0:
            self.clock.sleep(wait)


class TTLCache:
    """A small thread-safe cache whose entries expire after `ttl` seconds of the given clock."""

    def __init__(self, ttl: float, clock: Clock, max_entries: int = 512):
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return False, None
            expires, value = item
            if self.clock.monotonic() >= expires:
                del self._data[key]
                return False, None
            return True, value

    def put(self, key: Hashable, value: Any, ttl: float | None = None) -> None:
        with self._lock:
            if len(self._data) >= self.max_entries:
                now = self.clock.monotonic()
                for stale in [k for k, (exp, _) in self._data.items() if exp <= now]:
                    del self._data[stale]
                if len(self._data) >= self.max_entries:
                    self._data.pop(next(iter(self._data)))
            self._data[key] = (self.clock.monotonic() + (self.ttl if ttl is None else ttl), value)

    def get_or_load(self, key: Hashable, load: Callable[[], Any], ttl: float | None = None) -> Any:
        hit, value = self.get(key)
        if hit:
            return value
        value = load()
        self.put(key, value, ttl)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def _retry_after_seconds(reply: Reply, clock: Clock) -> float | None:
    value = reply.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - clock.now()).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with full jitter; Retry-After wins when the server sends it."""

    max_tries: int = 4
    initial: float = 0.5
    maximum: float = 30.0
    max_retry_after: float = 120.0

    def wait(self, attempt: int, error: BaseException, rng: Callable[[], float]) -> float:
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), self.max_retry_after)
        ceiling = min(self.maximum, self.initial * (2 ** (attempt - 1)))
        return ceiling / 2 + rng() * ceiling / 2


class HttpSource:
    """One upstream service: base URL, session, limiter, retry policy and error translation."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        clock: Clock | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 3.05,
        retry: RetryPolicy | None = None,
        limiter: Any = None,
        session: requests.Session | None = None,
        rng: Callable[[], float] = random.random,
        observer: RequestObserver | None = None,
    ):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.clock = clock or SystemClock()
        self.timeout = (connect_timeout, timeout)
        self.retry = retry or RetryPolicy()
        self.limiter = limiter
        self.rng = rng
        self.observer = observer
        self.session = session or requests.Session()
        if self.session.trust_env:
            # requests reads the proxy, CA-bundle and netrc settings of the environment again on
            # every request; they do not change under a running daemon, so read them once here.
            # (netrc is left out on purpose: no credentials of the user's go to these APIs.)
            environment = self.session.merge_environment_settings(self.base_url, {}, None, None, None)
            self.session.proxies.update(environment["proxies"])
            self.session.verify = environment["verify"]
            self.session.trust_env = False
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers.setdefault("Accept", "application/json")

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def get_json(
        self,
        path: str,
        params: dict | None = None,
        *,
        expect: type | None = dict,
        limiter_key: Hashable = None,
        headers: dict | None = None,
    ) -> Any:
        """GET `path` and return its decoded JSON, retrying what is worth retrying.

        `expect` is the JSON type the body must have at the top level (dict, list, or None for
        any).
        """
        reply = self.request("GET", path, params=params, limiter_key=limiter_key, headers=headers)
        return self.decode(reply, path, expect)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        limiter_key: Hashable = None,
        headers: dict | None = None,
    ) -> Reply:
        attempts = 0

        def once() -> Reply:
            nonlocal attempts
            attempts += 1
            return self._send(method, path, params, limiter_key, headers)

        def wait(state: RetryCallState) -> float:
            return self.retry.wait(state.attempt_number, state.outcome.exception(), self.rng)

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception()
            log.warning("%s; retrying (attempt %d of %d)", error, state.attempt_number, self.retry.max_tries)

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_tries),
            wait=wait,
            retry=retry_if_exception(lambda e: isinstance(e, SourceError) and e.retryable),
            sleep=self.clock.sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(once)
        except SourceError as error:
            raise error.with_attempts(attempts) from None

    def _send(self, method: str, path: str, params: dict | None, limiter_key: Hashable, headers: dict | None) -> Reply:
        url = self.url(path)
        shown = urlsplit(url).path
        if self.limiter is not None:
            self.limiter.acquire(limiter_key)
        started = self.clock.monotonic()
        status: int | None = None  # known once the headers are in; a body can still fail after

        def failed(message: str, retryable: bool) -> SourceError:
            self._observe(shown, None, started)
            return SourceError(self.name, shown, message, status=status, retryable=retryable)

        try:
            response = self.session.request(
                method, url, params=params, headers=headers, timeout=self.timeout, stream=True
            )
            status = response.status_code
            with response:
                # The body in one read: requests' `.content` reads it in 10 KB chunks, which cost
                # a 0.25 MB summary 0.6 ms of CPU on every fetch. Once read, the connection goes
                # back to the pool; one that broke is discarded.
                reply = Reply(status, response.headers, response.raw.read(decode_content=True))
        except urllib3.exceptions.DecodeError:  # the same bytes would come again: not worth a retry
            raise failed("sent a compressed body that does not decompress", retryable=False) from None
        except (requests.Timeout, urllib3.exceptions.TimeoutError):
            raise failed("timed out", retryable=True) from None
        except requests.ConnectionError as error:
            reason = type(getattr(error, "__context__", None) or error).__name__
            raise failed(f"connection failed ({reason})", retryable=True) from None
        except urllib3.exceptions.HTTPError as error:  # the body broke off
            raise failed(f"connection failed ({type(error).__name__})", retryable=True) from None
        except requests.RequestException as error:
            raise failed(f"request failed ({type(error).__name__})", retryable=False) from None
        self._observe(shown, status, started)
        if 200 <= status < 300:
            return reply
        body = _short_body(reply.body)
        if status == 429:
            raise SourceError(
                self.name,
                shown,
                "rate limited",
                status=status,
                retryable=True,
                retry_after=_retry_after_seconds(reply, self.clock),
                body=body,
            )
        if status >= 500:
            raise SourceError(
                self.name,
                shown,
                "server error",
                status=status,
                retryable=True,
                retry_after=_retry_after_seconds(reply, self.clock),
                body=body,
            )
        raise SourceError(self.name, shown, _client_error_message(body), status=status, body=body)

    def _observe(self, path: str, status: int | None, started: float) -> None:
        if self.observer is not None:
            self.observer(self.name, path, status, self.clock.monotonic() - started)

    def decode(self, reply: Reply, path: str, expect: type | None) -> Any:
        shown = urlsplit(self.url(path)).path
        content = reply.body
        content_type = reply.headers.get("Content-Type", "")
        if "html" in content_type.lower() or content[:256].lstrip()[:1] == b"<":
            raise SourceError(self.name, shown, "returned an HTML page instead of JSON", status=reply.status)
        try:
            # orjson: a summary is 0.2-0.4 MB and is fetched for every new play; it decodes
            # in half the time of the json module. JSON is UTF-8 by its standard (RFC 8259).
            data = orjson.loads(content)
        except orjson.JSONDecodeError as error:
            raise SourceError(
                self.name, shown, f"returned invalid JSON ({error.msg} at char {error.pos})", status=reply.status
            ) from None
        if expect is not None and not isinstance(data, expect):
            raise SourceError(
                self.name,
                shown,
                f"returned JSON of the wrong shape (a {type(data).__name__}, expected a {expect.__name__})",
                status=reply.status,
            )
        return data

    def close(self) -> None:
        self.session.close()


def _short_body(body: bytes) -> Any:
    """An error body for the message: its JSON, or its first 200 characters."""
    text = body.decode("utf-8-sig", "replace")  # as requests read it: a byte-order mark is skipped
    try:
        return json.loads(text)
    except ValueError:
        return text[:200]


def _client_error_message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "reason", "description"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return f"rejected: {value[:160]}"
    return "rejected the request"
