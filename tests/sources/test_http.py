"""The shared HTTP layer under faults recorded with `responses`: retries, waits and clear errors.

Every wait goes through the injected FakeClock, so nothing really sleeps.
"""

from __future__ import annotations

import gzip
import http.server
import threading
import time

import pytest
import requests
import responses

from helpers import fixture_text
from nfl_sync.domain.backoff import RetryPolicy
from nfl_sync.domain.errors import SourceError
from nfl_sync.sources.http import HttpSource

BASE = "https://site.api.espn.com/apis/site/v2/sports/football/nfl"
URL = f"{BASE}/scoreboard"
GOOD = '{"events": []}'


@pytest.fixture
def source(clock):
    observed = []
    src = HttpSource(
        "espn",
        BASE,
        clock=clock,
        retry=RetryPolicy(max_tries=3, initial=0.5),
        rng=lambda: 0.0,
        observer=lambda *args: observed.append(args),
    )
    src.observed = observed
    return src


@responses.activate
def test_html_body_is_one_clear_error_without_retry(source, clock):
    responses.get(URL, body="<html><body>Service Unavailable</body></html>", content_type="text/html")
    with pytest.raises(SourceError, match="HTML page instead of JSON") as caught:
        source.get_json("scoreboard", {"dates": "20250907"})
    assert len(responses.calls) == 1 and clock.sleeps == []
    assert caught.value.path == "/apis/site/v2/sports/football/nfl/scoreboard"
    assert "dates" not in str(caught.value)


@responses.activate
def test_html_error_page_with_5xx_is_retried_then_reported(source, clock):
    responses.get(URL, body="<html>502 Bad Gateway</html>", status=502, content_type="text/html")
    with pytest.raises(SourceError) as caught:
        source.get_json("scoreboard")
    assert len(responses.calls) == 3 and caught.value.attempts == 3
    assert caught.value.status == 502 and "after 3 tries" in str(caught.value)
    assert clock.sleeps == [0.25, 0.5]  # exponential backoff, jitter pinned to 0


@responses.activate
def test_truncated_json_names_the_position(source, clock):
    truncated = fixture_text("espn", "core_situation_401220403.json")[:120]
    responses.get(URL, body=truncated, content_type="application/json")
    with pytest.raises(SourceError, match=r"invalid JSON \(.* at char \d+\)"):
        source.get_json("scoreboard")
    assert len(responses.calls) == 1


@responses.activate
def test_wrong_top_level_shape(source):
    responses.get(URL, json=[1, 2])
    with pytest.raises(SourceError, match="wrong shape"):
        source.get_json("scoreboard")


@responses.activate
def test_500_then_success(source, clock):
    responses.get(URL, json={"error": "boom"}, status=500)
    responses.get(URL, body=GOOD, content_type="application/json")
    assert source.get_json("scoreboard") == {"events": []}
    assert len(responses.calls) == 2 and clock.sleeps == [0.25]
    assert [status for _, _, status, _ in source.observed] == [500, 200]


@responses.activate
def test_429_waits_exactly_retry_after(source, clock):
    responses.get(URL, json={"error": "too many requests"}, status=429, headers={"Retry-After": "7"})
    responses.get(URL, body=GOOD, content_type="application/json")
    assert source.get_json("scoreboard") == {"events": []}
    assert clock.sleeps == [7.0]


@responses.activate
def test_429_every_time_ends_in_rate_limited_error(source, clock):
    responses.get(URL, json={}, status=429, headers={"Retry-After": "2"})
    with pytest.raises(SourceError, match="rate limited") as caught:
        source.get_json("scoreboard")
    assert caught.value.retry_after == 2.0 and caught.value.attempts == 3
    assert clock.sleeps == [2.0, 2.0]


@responses.activate
def test_timeout_is_retried_then_reported(source, clock):
    responses.get(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(SourceError, match="timed out") as caught:
        source.get_json("scoreboard", {"apiKey": "SECRET"})
    assert len(responses.calls) == 3 and caught.value.status is None
    assert "SECRET" not in str(caught.value)


@responses.activate
def test_client_error_is_not_retried_and_keeps_the_body(source):
    responses.get(
        URL,
        body=fixture_text("odds", "the_odds_api_error_401_out_of_usage_credits.json"),
        status=401,
        content_type="application/json",
    )
    with pytest.raises(SourceError) as caught:
        source.get_json("scoreboard")
    assert len(responses.calls) == 1 and caught.value.retryable is False
    assert caught.value.body["error_code"] == "OUT_OF_USAGE_CREDITS"
    assert "Usage quota has been reached" in str(caught.value)


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy on loopback that answers every request itself and records its target."""

    targets: list[str] = []

    def do_GET(self):
        self.targets.append(self.path)
        body = GOOD.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("no_proxy, through_proxy", [("", True), ("espn.invalid", False)])
def test_proxy_settings_of_the_environment_are_read_once_and_used(monkeypatch, clock, no_proxy, through_proxy):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Proxy.targets = []
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    try:
        src = HttpSource("espn", "http://espn.invalid/nfl", clock=clock, retry=RetryPolicy(max_tries=1))
        monkeypatch.delenv("HTTP_PROXY")  # read at construction: later changes do not matter
        if through_proxy:
            assert src.get_json("scoreboard", {"dates": "20231217"}) == {"events": []}
            assert _Proxy.targets == ["http://espn.invalid/nfl/scoreboard?dates=20231217"]
        else:
            with pytest.raises(SourceError, match="connection failed"):
                src.get_json("scoreboard")
            assert _Proxy.targets == []
    finally:
        server.shutdown()
        server.server_close()


class _Wire(http.server.BaseHTTPRequestHandler):
    """A loopback API whose answer each path names; it records the client port of every request
    (one port = one connection)."""

    protocol_version = "HTTP/1.1"
    ports: list[int] = []

    def do_GET(self):
        self.ports.append(self.client_address[1])
        path = self.path.split("?")[0]
        status, body, headers = 200, GOOD.encode(), {"Content-Type": "application/json"}
        if path == "/gzip":
            body, headers["Content-Encoding"] = gzip.compress(b'{"events": [1, 2, 3]}'), "gzip"
        elif path == "/badgzip":
            body, headers["Content-Encoding"] = b"not gzip at all", "gzip"
        elif path == "/missing":
            status, body = 404, '\ufeff{"message": "no such event"}'.encode()  # with a byte-order mark
        elif path == "/empty":
            status, body = 204, b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (body[:5], body[5:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if path in ("/cut", "/stall"):  # the promised body never arrives in full
            self.send_header("Content-Length", str(len(body) + 100))
            self.end_headers()
            self.wfile.write(body)
            if path == "/stall":
                time.sleep(2)
            self.close_connection = True
            return
        if path == "/drip":  # every byte within the read timeout, the whole far beyond the deadline
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
            return
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def wire():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Wire)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Wire.ports = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bodies_are_read_whole_and_the_connection_is_reused(wire, clock):
    src = HttpSource("espn", wire, clock=clock, retry=RetryPolicy(max_tries=1))
    assert src.get_json("plain") == {"events": []}
    assert src.get_json("gzip") == {"events": [1, 2, 3]}  # decompressed as requests would
    assert src.get_json("chunked") == {"events": []}
    assert src.request("GET", "empty").body == b""
    with pytest.raises(SourceError, match="rejected: no such event"):
        src.get_json("missing")
    assert src.get_json("plain") == {"events": []}
    assert len(_Wire.ports) == 6 and len(set(_Wire.ports)) == 1


@pytest.mark.parametrize("path, message", [("cut", r"connection failed \(.+\)"), ("stall", "timed out")])
def test_a_body_that_breaks_off_or_stalls_is_retried_on_a_new_connection(wire, clock, path, message):
    src = HttpSource("espn", wire, clock=clock, timeout=0.5, retry=RetryPolicy(max_tries=2), rng=lambda: 0.0)
    with pytest.raises(SourceError, match=f"{message} \\(HTTP 200\\) after 2 tries"):
        src.get_json(path)
    assert src.get_json("plain") == {"events": []}
    assert len(_Wire.ports) == 3 and len(set(_Wire.ports)) == 3


def test_a_body_that_does_not_decompress_is_not_retried(wire, clock):
    src = HttpSource("espn", wire, clock=clock, retry=RetryPolicy(max_tries=3))
    with pytest.raises(SourceError, match="does not decompress") as caught:
        src.get_json("badgzip")
    assert caught.value.status == 200 and caught.value.attempts == 1 and len(_Wire.ports) == 1


def test_a_body_dripping_in_is_cut_off_at_the_deadline():
    # The real clock: the deadline and the read timeout are wall time.
    from nfl_sync.clock import SystemClock

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Wire)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    src = HttpSource(
        "espn",
        f"http://127.0.0.1:{server.server_address[1]}",
        clock=SystemClock(),
        timeout=1.0,
        retry=RetryPolicy(max_tries=1, deadline=1.0),
    )
    try:
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"timed out \(the answer was still coming at the deadline\)"):
            src.get_json("drip")  # 14 bytes, 0.2 s apart: 2.8 s
        elapsed = time.monotonic() - started
    finally:
        src.close()
        server.shutdown()
        server.server_close()
    assert elapsed < 2.0
