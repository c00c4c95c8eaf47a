"""sd_notify against a real unix datagram socket, as systemd listens for it, and the watchdog's
feeding rule on an injected clock."""

from __future__ import annotations

import os
import socket
import sys
import uuid

import pytest

from nfl_sync.systemd import Watchdog, notify, watchdog_seconds

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix sockets")


@pytest.fixture
def listener(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    sock.settimeout(2)
    with sock:
        yield sock, str(path)


def test_notify_sends_one_datagram_per_state(listener):
    sock, path = listener
    assert notify("READY=1", {"NOTIFY_SOCKET": path})
    assert notify("STOPPING=1", {"NOTIFY_SOCKET": path})
    assert [sock.recv(100), sock.recv(100)] == [b"READY=1", b"STOPPING=1"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux's")
def test_notify_reaches_an_abstract_socket():
    name = f"nfl-sync-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"


def test_outside_systemd_nothing_is_sent(tmp_path):
    assert not notify("READY=1", {})
    assert not notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})  # logged, not raised


def test_the_watchdog_period_is_read_for_this_process_only():
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 30.0
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_seconds({}) is None


def test_the_watchdog_is_fed_at_half_its_period_only_while_cycles_are_on_time(listener):
    sock, path = listener
    now = [100.0]
    on_time = [True]
    dog = Watchdog(lambda: on_time[0], {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"}, lambda: now[0])
    assert dog.tick()
    now[0] += 9
    assert not dog.tick()  # fed 9 s ago; every 10 s is enough
    now[0] += 1
    on_time[0] = False
    assert not dog.tick()  # a stalled loop starves the watchdog: systemd restarts the service
    on_time[0] = True
    assert dog.tick()
    assert [sock.recv(100), sock.recv(100)] == [b"WATCHDOG=1", b"WATCHDOG=1"]
    assert not Watchdog(lambda: True, {"NOTIFY_SOCKET": path}).tick()  # no WatchdogSec: nothing to feed
