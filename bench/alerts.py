"""Benchmark: alerts to many chats through a fake Bot API that enforces Telegram's flood limits.

Every alert goes to every chat (1,000 alerts x 10 chats = 10,000 messages by default), through
the whole real path: the outbox in PostgreSQL (embedded, in a temporary folder), the sender's
pacing, python-telegram-bot over HTTP/1.1 to the fake server on loopback, which answers 429 the
way Telegram does when a chat gets more than about 1 message/s or the bot more than 30/s.
It prints the messages per second achieved, the ceiling the limits allow for that many chats
(private chats: min(30, chats x 1) per second, plus the first bursts), and the 429s received.
The goal: close to the ceiling with zero 429s.

    .venv/bin/python bench/alerts.py [--alerts 1000] [--chats 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from nfl_replay.telegram_server import FakeTelegramServer
from nfl_sync.alerts.outbox import AlertOutbox
from nfl_sync.alerts.sender import TelegramNotifier
from nfl_sync.alerts.telegram import TelegramChannel
from nfl_sync.clock import SystemClock
from nfl_sync.domain.alert_policy import PolicyConfig
from nfl_sync.domain.events import AlertType, Event, Priority, ScoreData
from nfl_sync.domain.pacing import SEND_PACING, TELEGRAM_FLOOD_LIMITS
from nfl_sync.storage.embedded import start_embedded
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.migrations import apply_migrations

TOKEN = "123456789:AAHbench-Token-Not-A-Real-One_0123456"


def _events(count: int, now: datetime) -> list[Event]:
    """`count` distinct high-priority alerts (high, so the daily limit does not thin them out)."""
    return [
        Event(
            AlertType.SCORE,
            f"bench:score:{n}",
            Priority.HIGH,
            now,
            ScoreData(
                game_id="bench",
                home_team="BUF",
                away_team="KC",
                home_score=3 * n,
                away_score=7 * n,
                scoring_team="KC",
                points=7,
                scoring_type="TD",
                period=1 + n % 4,
                clock="8:24",
                play_text=f"P.Mahomes pass short right to T.Kelce for {n % 40} yards, TOUCHDOWN (bench #{n}).",
            ),
        )
        for n in range(count)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=10)
    args = parser.parse_args()
    chats = tuple(str(100000001 + n) for n in range(args.chats))
    messages = args.alerts * args.chats
    ceiling = min(TELEGRAM_FLOOD_LIMITS.overall_rate, args.chats * TELEGRAM_FLOOD_LIMITS.per_chat_rate)

    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as folder:
        db = NFLDBManager(start_embedded(Path(folder), database="bench_alerts"), pool_min=1, pool_max=2)
        apply_migrations(db)
        now = datetime.now(UTC)
        outbox = AlertOutbox(PolicyConfig({}, 0, None, ZoneInfo("America/New_York")), "HTML", "telegram")
        db.run(lambda tx: outbox.record_events(tx, _events(args.alerts, now), now))

        with FakeTelegramServer(TOKEN, limits=TELEGRAM_FLOOD_LIMITS) as server:
            notifier = TelegramNotifier(db, TelegramChannel(TOKEN, chats, server.api_base_url), clock=SystemClock())
            print(
                f"{args.alerts} alerts x {args.chats} chats = {messages} messages; Telegram allows "
                f"{ceiling:g} msg/s for {args.chats} private chats; pacing bursts {SEND_PACING.per_chat_burst:g} "
                f"per chat, {SEND_PACING.overall_burst:g} overall",
                flush=True,
            )
            started = time.perf_counter()
            sent = failed = rate_limited = 0
            while True:
                report = notifier.drain(max_seconds=30)
                sent, failed = sent + report.sent, failed + report.failed
                rate_limited += report.rate_limited
                elapsed = time.perf_counter() - started
                print(f"  {elapsed:7.1f} s: {sent} sent, {sent / elapsed:.2f} msg/s", file=sys.stderr, flush=True)
                if not report.backlog:
                    break
            notifier.close()
            received_429 = server.status_count(429)
            accepted = len(server.messages)
        db.close()

    elapsed = time.perf_counter() - started
    print(f"delivered {sent} messages ({accepted} accepted by the fake, {failed} failed) in {elapsed:.1f} s")
    print(f"rate: {sent / elapsed:.2f} msg/s = {sent / elapsed / ceiling:.1%} of the {ceiling:g} msg/s ceiling")
    print(f"429s received: {received_429} (sender saw {rate_limited})")
    return 0 if received_429 == 0 and failed == 0 and sent == messages else 1


if __name__ == "__main__":
    sys.exit(main())
