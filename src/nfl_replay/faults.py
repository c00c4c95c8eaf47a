"""Deterministic failure injection for the fake servers.

A `FaultPlan` decides, request by request, whether to answer normally or with one of the ways
the real upstreams fail: a 5xx, a response held past the client's timeout, an HTML error page
instead of JSON, JSON cut off mid-body, or a burst of Kalshi-style 429s. Decisions come from a
seeded generator, so the same seed and request order inject the same faults, and every injected
fault is counted in `injected` so a test can prove the failure really happened.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus

from nfl_replay.http import Response, json_response

SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
HTML = "html"
TRUNCATED = "truncated"
RATE_LIMIT = "rate_limit"
# Fixed order: a draw is matched against the cumulative rates in this order.
FAULT_KINDS = (SERVER_ERROR, TIMEOUT, HTML, TRUNCATED, RATE_LIMIT)

_SERVER_ERROR_STATUSES = (500, 502, 503, 504)
# Proxies and CDNs send their HTML error pages with 503, and captive portals with 200.
_HTML_STATUSES = (200, 503)
_HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>{status} {phrase}</title></head>"
    "<body><h1>{phrase}</h1><p>The server is temporarily unable to service your request.</p>"
    "</body></html>"
)


@dataclass(frozen=True)
class Fault:
    """One decision: which fault, and the status it answers with (None keeps the real one)."""

    kind: str
    status: int | None = None


class FaultPlan:
    """Per-request fault decisions at the given rates, reproducible from `seed`. Thread-safe.

    `rates` maps fault kinds (`FAULT_KINDS`) to the share of requests that get them; the shares
    must add up to at most 1. A rate-limit draw starts a burst: that request and the next
    `burst_length - 1` all get 429. A timeout holds the (correct) response for `timeout_seconds`
    before sending it; set it above the client's read timeout.
    """

    def __init__(
        self, rates: Mapping[str, float], seed: int = 0, *, timeout_seconds: float = 15.0, burst_length: int = 3
    ):
        unknown = set(rates) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(FAULT_KINDS)}")
        if any(not 0 <= rate <= 1 for rate in rates.values()) or sum(rates.values()) > 1:
            raise ValueError(f"fault rates must each be within 0-1 and add up to at most 1: {dict(rates)}")
        if burst_length < 1:
            raise ValueError("burst_length must be at least 1")
        self.rates = dict(rates)
        self.timeout_seconds = timeout_seconds
        self.burst_length = burst_length
        self.injected: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._burst_left = 0
        self._lock = threading.Lock()

    def decide(self) -> Fault | None:
        """The fault for the next request, or None to answer it normally."""
        with self._lock:
            if self._burst_left > 0:
                self._burst_left -= 1
                fault: Fault | None = Fault(RATE_LIMIT, 429)
            else:
                fault = self._draw()
            if fault is not None:
                self.injected[fault.kind] += 1
            return fault

    def _draw(self) -> Fault | None:
        draw = self._random.random()
        edge = 0.0
        for kind in FAULT_KINDS:
            edge += self.rates.get(kind, 0.0)
            if draw < edge:
                break
        else:
            return None
        if kind == SERVER_ERROR:
            return Fault(kind, self._random.choice(_SERVER_ERROR_STATUSES))
        if kind == HTML:
            return Fault(kind, self._random.choice(_HTML_STATUSES))
        if kind == RATE_LIMIT:
            self._burst_left = self.burst_length - 1
            return Fault(kind, 429)
        return Fault(kind)

    def apply(self, produce: Callable[[], Response]) -> Response:
        """The response to send for one request; `produce` makes the normal one."""
        fault = self.decide()
        if fault is None:
            return produce()
        if fault.kind == TIMEOUT:
            return replace(produce(), hold_seconds=self.timeout_seconds, fault=fault.kind)
        if fault.kind == TRUNCATED:
            normal = produce()
            # Content-Length is computed from the cut body, so the client reads a complete
            # HTTP message whose JSON is broken, as when a proxy cuts an upstream short.
            return replace(normal, body=normal.body[: len(normal.body) // 2], fault=fault.kind)
        status = fault.status or 500
        if fault.kind == HTML:
            phrase = HTTPStatus(status).phrase if status != 200 else "Service Unavailable"
            page = _HTML_PAGE.format(status=status, phrase=phrase).encode("utf-8")
            return Response(status, page, "text/html; charset=utf-8", fault=fault.kind)
        if fault.kind == RATE_LIMIT:
            # Kalshi's documented 429 body; it sends no Retry-After header.
            return replace(json_response({"error": "too many requests"}, 429), fault=fault.kind)
        return replace(json_response({"error": HTTPStatus(status).phrase}, status), fault=fault.kind)
