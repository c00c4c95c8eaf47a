"""The one HTTP layer every source goes through: session, rate limit, retries, clear errors.

Each source (ESPN, Kalshi, OpenWeatherMap, Open-Meteo, The Odds API) gets its own `HttpSource`
with a keep-alive `requests.Session`. Whatever goes wrong on the wire (connection errors,
timeouts, 5xx, 429, HTML error pages, truncated or mis-shaped JSON) reaches the caller as one
`SourceError` that names the source, the URL path (never the query, where keys live) and the
status, after a bounded number of tries with exponential backoff and jitter.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from nfl_sync.clock import Clock, SystemClock
from nfl_sync.domain.backoff import RetryPolicy
from nfl_sync.domain.errors import ParseError, SourceError
from nfl_sync.sources import json_text
from nfl_sync.sources.limits import Limiter
from nfl_sync.sources.recorder import Exchange, ResponseRecorder, recorded_query

log = logging.getLogger(__name__)

USER_AGENT = "nfl-realtime-pipeline/1.0 (+https://github.com/; polite polling, contact via repo)"

# Observer signature: (source name, path, HTTP status or None, seconds taken).
RequestObserver = Callable[[str, str, int | None, float], None]
# Query parameters and extra headers of one request.
Params = Mapping[str, Any]
Headers = Mapping[str, str]

T = TypeVar("T")
BODY_READ_SIZE = 1 << 18  # at most this much per read of a body: one to three reads per summary


@dataclass(frozen=True)
class Reply:
    """A finished HTTP exchange: the status, the headers (case-insensitive) and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


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


class _DeadlinePassed(Exception):
    """A body still arriving when its request's deadline passed."""


class _StopAtDeadline(stop_base):
    """Stop retrying when the next try would start at or after `deadline` (monotonic seconds of
    `clock`; None never stops). tenacity computes the wait before it asks, so the wait counts."""

    def __init__(self, clock: Clock, deadline: float | None):
        self.clock = clock
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.deadline is not None and self.clock.monotonic() + retry_state.upcoming_sleep >= self.deadline


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
        limiter: Limiter | None = None,
        session: requests.Session | None = None,
        rng: Callable[[], float] = random.random,
        observer: RequestObserver | None = None,
        recorder: ResponseRecorder | None = None,
    ):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.clock = clock or SystemClock()
        self.timeout = (connect_timeout, timeout)
        self.retry = retry or RetryPolicy()
        self.limiter = limiter
        self.rng = rng
        self.observer = observer
        self.recorder = recorder
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
        params: Params | None = None,
        *,
        expect: type | None = dict,
        limiter_key: Hashable = None,
        headers: Headers | None = None,
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
        params: Params | None = None,
        limiter_key: Hashable = None,
        headers: Headers | None = None,
    ) -> Reply:
        attempts = 0
        deadline = None if self.retry.deadline is None else self.clock.monotonic() + self.retry.deadline

        def once() -> Reply:
            nonlocal attempts
            attempts += 1
            return self._send(method, path, params, limiter_key, headers, deadline)

        def wait(state: RetryCallState) -> float:
            return self.retry.wait(state.attempt_number, _failure(state), self.rng)

        def log_retry(state: RetryCallState) -> None:
            error = _failure(state)
            log.warning("%s; retrying (attempt %d of %d)", error, state.attempt_number, self.retry.max_tries)

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_tries) | _StopAtDeadline(self.clock, deadline),
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

    def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        limiter_key: Hashable,
        headers: Headers | None,
        deadline: float | None,
    ) -> Reply:
        url = self.url(path)
        shown = urlsplit(url).path
        if self.limiter is not None:
            self.limiter.acquire(limiter_key)
        started = self.clock.monotonic()
        timeout = self.timeout
        if deadline is not None:
            # No try outlives the sequence's deadline; a tenth of a second is the least worth trying.
            left = max(0.1, deadline - started)
            timeout = (min(timeout[0], left), min(timeout[1], left))
        status: int | None = None  # known once the headers are in; a body can still fail after

        def failed(message: str, retryable: bool) -> SourceError:
            self._observe(shown, None, started)
            return SourceError(self.name, shown, message, status=status, retryable=retryable)

        try:
            response = self.session.request(method, url, params=params, headers=headers, timeout=timeout, stream=True)
            status = response.status_code
            with response:
                # Once read, the connection goes back to the pool; one that broke is discarded.
                reply = Reply(status, response.headers, self._read_body(response.raw, deadline))
        except urllib3.exceptions.DecodeError:  # the same bytes would come again: not worth a retry
            raise failed("sent a compressed body that does not decompress", retryable=False) from None
        except _DeadlinePassed:
            raise failed("timed out (the answer was still coming at the deadline)", retryable=True) from None
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
        if self.recorder is not None:
            self.recorder.record(self._exchange(method, url, params, reply))
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

    def _read_body(self, raw: urllib3.response.BaseHTTPResponse, deadline: float | None) -> bytes:
        """The whole body, read as it arrives in large pieces (requests' `.content` reads 10 KB
        chunks, which cost a 0.25 MB summary 0.6 ms of CPU; one `read()` would be 0.25 ms cheaper
        still, but cannot be stopped). A host that drips its answer keeps each read under the read
        timeout; the deadline, checked between reads, bounds the whole."""
        # Headers that came in just as the deadline passed still get their body's first read.
        limit = None if deadline is None else max(deadline, self.clock.monotonic())
        # Without a Content-Encoding there is nothing to decode, and urllib3's decoding buffer
        # would only copy the bytes.
        decode = bool(raw.headers.get("Content-Encoding"))
        parts = []
        while chunk := raw.read1(BODY_READ_SIZE, decode_content=decode):
            parts.append(chunk)
            if limit is not None and self.clock.monotonic() > limit:
                raise _DeadlinePassed
        return b"".join(parts)

    def _exchange(self, method: str, url: str, params: Params | None, reply: Reply) -> Exchange:
        """A response for the recorder, whatever it holds (an error page is what was seen): its
        arrival time, the request without headers (where Kalshi's signature travels), the status,
        the content type and the body."""
        parts = urlsplit(url)
        base = urlsplit(self.base_url).path.rstrip("/")
        path = parts.path[len(base) + 1 :] if parts.path.startswith(base + "/") else parts.path
        return Exchange(
            at=self.clock.now(),
            source=self.name,
            method=method,
            path=path,
            query=recorded_query(parts.query, params),
            status=reply.status,
            content_type=reply.headers.get("Content-Type", ""),
            body=reply.body,
        )

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
            data = json_text.loads(content)
        except json_text.InvalidJson as error:
            raise SourceError(self.name, shown, f"returned invalid JSON ({error})", status=reply.status) from None
        if expect is not None and not isinstance(data, expect):
            raise SourceError(
                self.name,
                shown,
                f"returned JSON of the wrong shape (a {type(data).__name__}, expected a {expect.__name__})",
                status=reply.status,
            )
        return data

    def parse(self, path: str, parser: Callable[[Any], T], data: Any) -> T:
        """`parser(data)`, its `ParseError` reported as this source's unusable payload at `path`,
        so callers handle one exception type."""
        try:
            return parser(data)
        except ParseError as error:
            raise SourceError(
                self.name, urlsplit(self.url(path)).path, f"returned an unusable payload ({error})"
            ) from None

    def close(self) -> None:
        self.session.close()


def _failure(state: RetryCallState) -> BaseException | None:
    """The error of the attempt that just failed (tenacity asks for a wait only after one)."""
    return state.outcome.exception() if state.outcome is not None else None


def _short_body(body: bytes) -> Any:
    """An error body for the message: its JSON, or its first 200 characters."""
    try:
        return json_text.loads(body)
    except json_text.InvalidJson:
        # As requests would read it: a byte-order mark is skipped. Storable, as the body's JSON
        # is: the message may end up in the database.
        return json_text.storable(body.decode("utf-8-sig", "replace")[:200])


def _client_error_message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "reason", "description"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return f"rejected: {value[:160]}"
    return "rejected the request"
