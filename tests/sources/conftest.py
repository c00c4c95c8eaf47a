"""Fixtures of the source tests: a fake clock, and HTTP faked at the wire by `responses`."""

from __future__ import annotations

import pytest
import responses

from helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
