"""Benchmark (issue #7, latency): from a score becoming visible on ESPN to the Telegram alert.

The daemon runs as in production, in real time with its 5 s polling, against the fake ESPN and
Kalshi servers (a SimulatedClock at speed 1), a throwaway embedded PostgreSQL and a fake Bot API
(FakeTelegramServer, enforcing Telegram's flood limits) reached over HTTP by python-telegram-bot.
A game lasts hours, so it is time-lapsed: between scores the clock is fast-forwarded, first to
SETTLE_SECONDS before the next score (then the daemon catches up and the outbox drains, so the
score is not queued behind alerts of the skipped plays), then to a random 2-7 s before it, so
every score is observed by the normal polling, at a random phase of the 5 s cadence.

For each score change:
  visible   the real instant the virtual clock passed the play's wallclock (speed 1: real time)
  poll      the first scoreboard request the fake ESPN received at or after it (its request log)
  received  when the fake Telegram accepted the score alert (matched by its Telegram message id)
and it prints p50/p95 of received - visible (what a fan sees) and of received - poll, the
overhead the pipeline adds to the wait for the next poll. Goal: overhead <= 100 ms p95.

The clock is simulated: every wait of the daemon (rate limiters, retry back-offs, the cadence
between polls) passes in virtual time and costs nothing here, and the lanes run one after the
other, not on their threads. What a user lives through is measured by bench/live_latency.py,
on the real clock against the daemon as a process.

    .venv/bin/python bench/replay_latency.py [--games 1|2] [--seed 7]

One game (10 scores) takes about 2 minutes; --games 2 adds the second recording (16 scores).
"""

from __future__ import annotations

import argparse
import bisect
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from _figures import percentile
from _slate import (
    FAKE_CHAT,
    FAKE_TOKEN,
    configure_logging,
    embedded_database,
    recordings,
    settings,
    slate,
)
from nfl_replay.runner import ReplayEnvironment
from nfl_replay.stage import score_changes
from nfl_replay.telegram_server import FakeTelegramServer
from nfl_sync.app import build_sync, close_sync
from nfl_sync.domain.detection import score_key
from nfl_sync.domain.pacing import TELEGRAM_FLOOD_LIMITS

SETTLE_SECONDS = 30.0
LEAD_SECONDS = (2.0, 7.0)
ALERT_TIMEOUT = 30.0  # real seconds to wait for one score's alert
OVERHEAD_GOAL_MS = 100.0


@dataclass
class Score:
    game_id: str
    visible_at: datetime  # virtual
    home: int
    away: int
    label: str
    visible_real: float | None = None
    poll_real: float | None = None
    received_real: float | None = None

    @property
    def key(self) -> str:
        return score_key(self.game_id, 0, self.away, self.home)


class TimeLapse:
    """Jumps of the speed-1 clock, each remembered as (real, virtual) so that a virtual instant
    passed in real time converts to the real instant it was passed."""

    def __init__(self, clock):
        self.clock = clock
        self.anchors: list[tuple[float, float]] = []  # (virtual elapsed, real monotonic)
        self._anchor()

    def _anchor(self) -> None:
        before = time.monotonic()
        virtual = self.clock.monotonic()
        after = time.monotonic()
        self.anchors.append((virtual, (before + after) / 2))

    def jump(self, when: datetime) -> None:
        if when > self.clock.now():
            self.clock.set(when)
            self._anchor()

    def poll_gaps(self, polls: list[float]) -> list[float]:
        """Seconds between consecutive polls (more than 1 s apart: one per cycle) with no jump between."""
        jumps = [real for _, real in self.anchors]
        kept = [
            b - a
            for a, b in zip(polls, polls[1:], strict=False)
            if b - a > 1 and bisect.bisect(jumps, a) == bisect.bisect(jumps, b)
        ]
        return kept

    def real_at(self, when: datetime) -> float:
        virtual = (when - self.clock.start).total_seconds()
        index = bisect.bisect_right([v for v, _ in self.anchors], virtual) - 1
        anchor_virtual, anchor_real = self.anchors[max(index, 0)]
        return anchor_real + (virtual - anchor_virtual) / self.clock.speed


def wait_settled(sync, telegram: FakeTelegramServer, cycles_after: int, limit: float = 20.0) -> None:
    """Until the daemon has run two cycles since the jump and its outbox is empty."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if sync.cycles >= cycles_after + 2 and sync.alerts.pending_count() == 0:
            return
        time.sleep(0.1)


def delivered(sync, key: str) -> str | None:
    """The Telegram message id of the alert `key` once it is sent to the chat, else None."""

    def query(tx):
        tx.cur.execute(
            "SELECT d.external_message_id FROM nfl_alert_history h JOIN nfl_alert_deliveries d "
            "ON d.alert_id = h.id WHERE h.alert_key = %s AND d.chat_id = %s AND d.status = 'sent'",
            (key, FAKE_CHAT),
        )
        row = tx.cur.fetchone()
        return row["external_message_id"] if row else None

    return sync.db.run(query)


def score_alerts(tx) -> list[dict]:
    tx.cur.execute(
        "SELECT h.alert_key, h.status, h.reason, h.created_at, d.status AS delivery, d.external_message_id "
        "FROM nfl_alert_history h LEFT JOIN nfl_alert_deliveries d ON d.alert_id = h.id "
        "WHERE h.alert_type = 'score' ORDER BY h.id"
    )
    return tx.cur.fetchall()


def wait_delivered(sync, telegram: FakeTelegramServer, score: Score) -> None:
    """Until the score's alert reached the fake Telegram (checked each time a message arrives)."""
    deadline = time.monotonic() + ALERT_TIMEOUT
    seen, checked = -1, 0.0
    while time.monotonic() < deadline:
        count = len(telegram.messages)
        # The sender marks the delivery sent just after Telegram's answer: look again shortly after.
        if count != seen or time.monotonic() - checked > 0.25:
            seen, checked = count, time.monotonic()
            message_id = delivered(sync, score.key)
            if message_id is not None:
                found = [m for m in telegram.messages if str(m.message_id) == message_id]
                score.received_real = found[0].received_at if found else None
                return
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, choices=(1, 2), default=1)
    parser.add_argument("--seed", type=int, default=7, help="of the random lead before each score")
    parser.add_argument("--verbose", action="store_true", help="show the polls around each score")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    games = recordings()[:1] if args.games == 1 else slate(2)
    scores = sorted(
        (
            Score(change.game_id, change.visible_at, change.home, change.away, change.label)
            for game in games
            for change in score_changes(game)
        ),
        key=lambda score: score.visible_at,
    )
    print(
        f"{len(scores)} score changes in {len(games)} game(s); SIMULATED clock (speed 1, time-lapsed between "
        "scores): waits of rate limiters and retries cost nothing here, see bench/live_latency.py for the real clock",
        flush=True,
    )

    database = embedded_database("bench_latency")
    with (
        FakeTelegramServer(FAKE_TOKEN, limits=TELEGRAM_FLOOD_LIMITS) as telegram,
        ReplayEnvironment(games, speed=1.0) as env,
    ):
        base = settings(
            {
                "DATABASE_URL": database,
                "TELEGRAM_ENABLED": "true",
                "TELEGRAM_BOT_TOKEN": FAKE_TOKEN,
                "TELEGRAM_CHAT_ID": FAKE_CHAT,
                "TELEGRAM_API_BASE_URL": telegram.api_base_url,
            }
        )
        configure_logging(base)
        sync = build_sync(env.settings(base), clock=env.clock, restore=False)
        sync.restore_state()
        lapse = TimeLapse(env.clock)
        sync.start(lanes_on_threads=False)  # sequential cycles: the lane threads need the real clock
        try:
            for score in scores:
                target = score.visible_at - timedelta(seconds=rng.uniform(*LEAD_SECONDS))
                if env.clock.now() < target - timedelta(seconds=SETTLE_SECONDS):
                    cycles = sync.cycles
                    lapse.jump(target - timedelta(seconds=SETTLE_SECONDS))
                    wait_settled(sync, telegram, cycles)
                lapse.jump(target)  # no-op when the clock is already past it (scores close together)
                if args.verbose:
                    print(
                        f"  {score.label}: lead {(score.visible_at - env.clock.now()).total_seconds():.2f} s "
                        f"(clock {env.clock.now():%H:%M:%S})",
                        file=sys.stderr,
                        flush=True,
                    )
                wait_delivered(sync, telegram, score)
                print(
                    f"  {score.label:<16} alert {'received' if score.received_real else 'MISSING'}",
                    file=sys.stderr,
                    flush=True,
                )
            missing = [score for score in scores if score.received_real is None]
            if missing:
                print(f"score alerts recorded (for the {len(missing)} missing):", file=sys.stderr)
                for row in sync.db.run(score_alerts):
                    print(f"  {row}", file=sys.stderr)
        finally:
            sync.stop()
            sync.join(10)
            close_sync(sync)
        polls = sorted(r.received_at for r in env.espn.requests if r.path.endswith("/scoreboard"))

    for score in scores:
        score.visible_real = lapse.real_at(score.visible_at)
        index = bisect.bisect_left(polls, score.visible_real)
        score.poll_real = polls[index] if index < len(polls) else None
        if args.verbose:
            near = [f"{p - score.visible_real:+.2f}" for p in polls if abs(p - score.visible_real) < 12]
            print(f"  {score.label}: polls around it (s) {' '.join(near)}", file=sys.stderr)

    print(f"\n{'score':<18}{'poll wait':>11}{'overhead':>11}{'total':>11}   (ms; overhead = Telegram receipt - poll)")
    totals, overheads, waits = [], [], []
    for score in scores:
        if score.received_real is None or score.poll_real is None:
            print(f"{score.label:<18}{'no alert received':>33}")
            continue
        wait = (score.poll_real - score.visible_real) * 1000
        overhead = (score.received_real - score.poll_real) * 1000
        total = (score.received_real - score.visible_real) * 1000
        waits.append(wait)
        overheads.append(overhead)
        totals.append(total)
        print(f"{score.label:<18}{wait:11.0f}{overhead:11.1f}{total:11.0f}")
    if not totals:
        print("no alert was measured")
        return 1
    gaps = lapse.poll_gaps(polls)
    late = [gap for gap in gaps if gap > 7.5]
    print(f"\nlatency over {len(totals)} scores (of {len(scores)}), SIMULATED clock (waits cost nothing):")
    print(
        f"  visible on ESPN -> Telegram : p50 {percentile(totals, 50):7.0f} ms   p95 {percentile(totals, 95):7.0f} ms"
    )
    print(f"  wait for the next poll      : p50 {percentile(waits, 50):7.0f} ms   p95 {percentile(waits, 95):7.0f} ms")
    p95 = percentile(overheads, 95)
    print(
        f"  pipeline overhead (poll -> Telegram): p50 {percentile(overheads, 50):5.1f} ms   p95 {p95:5.1f} ms   "
        f"max {max(overheads):5.1f} ms   (goal <= {OVERHEAD_GOAL_MS:g} ms p95: "
        f"{'met' if p95 <= OVERHEAD_GOAL_MS else 'NOT met'})"
    )
    print(
        f"  scoreboard polls between jumps: {len(gaps)} intervals, median {percentile(gaps, 50):.2f} s, "
        f"{len(late)} of about 10 s (a poll skipped)"
    )
    return 0 if len(totals) == len(scores) else 1


if __name__ == "__main__":
    sys.exit(main())
