"""The fake Bot API rig of the alert tests."""

from __future__ import annotations

import pytest

from helpers import TelegramRig


@pytest.fixture
def rig():
    with TelegramRig() as rig:
        yield rig
