"""The daemon in a process of its own, for the SIGKILL test of tests/replay/test_replay_e2e_restarts.py.

The test process hosts the fake ESPN, Kalshi and Telegram servers on a SimulatedClock running
at a finite speed; this process builds the unchanged daemon (`app.build_sync`, state restored
from the database) against them and runs it until the replay window is over and the outbox is
drained, unless it is killed first. Its clock agrees with the parent's: CLOCK_MONOTONIC is
system-wide on Linux, so virtual time = `start` + (time.monotonic() - `anchor`) * `speed` in
both processes.

Usage: python tests/replay/replay_child.py '<json>' with keys dsn, espn_url, kalshi_url, telegram_url,
log_dir, start (ISO time), anchor (the parent's time.monotonic() at `start`), speed,
game_ids, until (ISO time: the end of the replay window).
Prints "READY" once built and "DONE" after a clean finish.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

# The shared test helpers; the package itself is installed (editable) in the environment.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import replay_daemon_settings, unpace_sender  # noqa: E402
from nfl_replay.clock import SimulatedClock  # noqa: E402
from nfl_sync.app import build_sync, close_sync  # noqa: E402
from nfl_sync.storage.manager import NFLDBManager  # noqa: E402


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    speed = float(spec["speed"])
    start, anchor = datetime.fromisoformat(spec["start"]), float(spec["anchor"])
    clock = SimulatedClock(start + timedelta(seconds=(time.monotonic() - anchor) * speed), speed)
    until = datetime.fromisoformat(spec["until"])
    settings = replay_daemon_settings(spec["espn_url"], spec["kalshi_url"], spec["telegram_url"], Path(spec["log_dir"]))
    db = NFLDBManager(spec["dsn"], pool_min=2, pool_max=4)
    sync = build_sync(settings, clock=clock, db=db, restore=True)
    unpace_sender(sync)
    print("READY", flush=True)

    def finished() -> bool:
        return clock.now() >= until and sync.caught_up() and sync.alerts.pending_count() == 0

    try:
        sync.run_forever(until=finished)
    finally:
        close_sync(sync)
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
