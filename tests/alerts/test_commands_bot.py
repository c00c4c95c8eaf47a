"""The bot's commands end to end: python-telegram-bot's Application long-polls the fake Bot API
(getUpdates), the answers come from the real database, and the replies are what the fake
Telegram server accepted (parse mode checked)."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest

import factories
from helpers import TELEGRAM_TOKEN, FakeClock, rows, wait_for
from nfl_replay.telegram_server import telegram_error
from nfl_sync.alerts.commands import CommandBot, CommandService
from nfl_sync.domain.command_replies import DaemonStatus
from nfl_sync.domain.commands import COMMANDS, CommandLimiter
from nfl_sync.domain.models import MarketSnapshot, WinProbability
from nfl_sync.health import HealthMonitor

ADMIN = "111"
STRANGER = "555"
NEW_YORK = __import__("zoneinfo").ZoneInfo("America/New_York")


class Bot:
    """A CommandService and its CommandBot on a real TelegramChannel's loop, against the fake."""

    def __init__(self, rig, db, *, allow_new_chats=False, limiter=None, status=None):
        self.rig, self.clock = rig, FakeClock()
        monitor = HealthMonitor()
        # What the daemon's start-up stores: the admins, and whether other chats may subscribe.
        db.run(lambda tx: tx.chats.configure_access((ADMIN,), allow_new_chats, self.clock.now()))
        self.service = CommandService(
            db,
            self.clock,
            admins=(ADMIN,),
            allow_new_chats=allow_new_chats,
            parse_mode="MarkdownV2",
            timezone=NEW_YORK,
            status=status or (lambda: DaemonStatus(True, "ok", self.clock.now(), 0, monitor.lanes(), 0)),
            limiter=limiter,
        )
        channel = rig.channel((ADMIN,))
        self.channel = channel
        self.bot = CommandBot(
            self.service,
            TELEGRAM_TOKEN,
            rig.server.api_base_url,
            channel.submit,
            parse_mode="MarkdownV2",
            poll_timeout=1.0,
            timeout=5.0,
        )
        self.bot.start()
        wait_for(self.bot.polling.is_set, 10, "the bot to poll")

    def ask(self, chat: str, text: str, replies: int = 1) -> list[str]:
        """Send `text` from `chat` and return the visible text of the `replies` it gets."""
        before = len(self.rig.server.messages_to(chat))
        self.rig.server.send_command(chat, text)
        wait_for(lambda: len(self.rig.server.messages_to(chat)) >= before + replies, 10, f"a reply to {text}")
        return [m.visible_text for m in self.rig.server.messages_to(chat)[before:]]

    def settle(self) -> None:
        """Wait until every injected update was handled (confirmed by a later getUpdates)."""
        wait_for(lambda: self.rig.server.pending_updates == 0, 10, "the updates to be handled")


@pytest.fixture
def bot(rig, db):
    made = []

    def make(**options):
        made.append(Bot(rig, db, **options))
        return made[-1]

    yield make
    for each in made:
        each.bot.stop()


def chat_row(db, chat_id):
    return rows(db, "SELECT * FROM nfl_chats WHERE chat_id = %s", chat_id)[0]


def test_start_registers_the_menu_and_follow_is_stored_and_listed(db, rig, bot):
    b = bot()

    assert [c["command"] for c in rig.server.my_commands] == [name for name, _ in COMMANDS]
    assert "Subscribed" in b.ask(ADMIN, "/start")[0]
    assert "DAL (Dallas Cowboys), PHI (Philadelphia Eagles)" in b.ask(ADMIN, "/follow Cowboys, philly")[0]
    assert b.ask(ADMIN, "/following")[0] == "You follow: DAL (Dallas Cowboys), PHI (Philadelphia Eagles)."
    reply = b.ask(ADMIN, "/follow niners foo")[0]
    assert "SF (San Francisco 49ers)" in reply and "No team called 'foo'" in reply
    row = chat_row(db, ADMIN)
    assert (row["teams"], row["is_admin"]) == (["DAL", "PHI", "SF"], True)
    b.ask(ADMIN, "/unfollow PHI")
    assert chat_row(db, ADMIN)["teams"] == ["DAL", "SF"]


def test_mute_stores_until_now_plus_the_duration_and_unmute_clears_it(db, bot):
    b = bot()
    b.ask(ADMIN, "/start")

    reply = b.ask(ADMIN, "/mute 2h")[0]

    assert chat_row(db, ADMIN)["muted_until"] == b.clock.now() + timedelta(hours=2)
    assert reply == "🔕 Muted until Tue Nov 24, 3:00 PM EST. /unmute ends it."
    b.ask(ADMIN, "/unmute")
    assert chat_row(db, ADMIN)["muted_until"] is None


def test_an_unknown_chat_is_refused_once_then_ignored(db, rig, bot):
    b = bot()

    assert "private" in b.ask(STRANGER, "/start")[0]
    for text in ("/start", "/games", "/follow DAL"):
        rig.server.send_command(STRANGER, text)
    b.settle()

    assert len(rig.server.messages_to(STRANGER)) == 1
    assert [r["chat_id"] for r in rows(db, "SELECT chat_id FROM nfl_chats")] == [ADMIN]  # the stranger: nothing stored


def test_a_new_chat_may_subscribe_when_allowed_but_is_no_admin(db, bot):
    b = bot(allow_new_chats=True)

    assert "Send /start first" in b.ask(STRANGER, "/games")[0]
    assert "Subscribed" in b.ask(STRANGER, "/start")[0]
    assert chat_row(db, STRANGER)["is_admin"] is False


def test_games_answers_from_the_database(db, bot):
    b = bot()
    now = b.clock.now()
    live = factories.game(
        start_time=now - timedelta(hours=1),
        away_score=14,
        home_score=10,
        period=3,
        clock="8:24",
        home_win_pct=Decimal("0.415"),
    )
    later = factories.game(
        "401547418", home_team="DAL", away_team="PHI", state="pre", start_time=now + timedelta(hours=7)
    )
    old = factories.game("401547419", home_team="KC", away_team="BUF", state="post", start_time=now - timedelta(days=2))
    markets = [factories.game_market("GB"), factories.game_market("ATL")]

    def insert(tx):
        tx.games.upsert_games([live, later, old])
        tx.markets.upsert_markets(markets)
        tx.markets.insert_price_snapshots(
            [
                MarketSnapshot(
                    markets[0].ticker, now - timedelta(minutes=5), Decimal("0.50"), Decimal("0.52"), None, None
                ),
                MarketSnapshot(markets[0].ticker, now, Decimal("0.60"), Decimal("0.62"), None, None),
                MarketSnapshot(markets[1].ticker, now, None, None, Decimal("0.39"), None),
            ]
        )

    db.run(insert)
    b.ask(ADMIN, "/start")

    reply = b.ask(ADMIN, "/games")[0]

    assert reply.split("\n") == [
        "🔴 GB 14 @ ATL 10 · Q3 - 8:24",
        "   Kalshi GB 61¢ / ATL 39¢ · ESPN ATL 42%",
        "PHI @ DAL · Tue Nov 24, 8:00 PM EST",
    ]


def test_a_burst_gets_one_slow_down_then_silence_until_the_window_passes(rig, bot):
    b = bot(limiter=CommandLimiter(limit=3, window=60.0))
    b.ask(ADMIN, "/start")
    b.ask(ADMIN, "/help")
    b.ask(ADMIN, "/following")

    for _ in range(4):
        rig.server.send_command(ADMIN, "/following")
    b.settle()
    assert [m.visible_text for m in rig.server.messages_to(ADMIN)[3:]] == [
        "🐢 Slow down: too many commands. Try again in a minute."
    ]

    b.clock.advance(61)
    assert b.ask(ADMIN, "/following")[0].startswith("You follow every team")


def test_status_tells_health_but_no_secret_nor_configuration(rig, bot):
    monitor = HealthMonitor()
    clock = FakeClock()
    secret_error = f"HTTPError: {rig.server.api_base_url}{TELEGRAM_TOKEN}/getMe refused"
    monitor.record_step("scoreboard", None, clock.now() - timedelta(seconds=4))
    for _ in range(2):
        monitor.record_step("kalshi", secret_error, clock.now())
    b = bot(status=lambda: DaemonStatus(False, "stale", clock.now() - timedelta(seconds=4), 1, monitor.lanes(), 2))
    b.ask(ADMIN, "/start")

    reply = b.ask(ADMIN, "/status")[0]

    assert reply.split("\n") == [
        "⚠️ Stale",
        "Last scoreboard poll: 4 s ago · live games: 1",
        "⚠️ kalshi: 2 failed in a row (last success never)",
        "✅ scoreboard: ok (last success 4 s ago)",
        "Alerts waiting to be sent: 2",
    ]
    for secret in (TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(":")[0], "127.0.0.1", "HTTPError"):
        assert secret not in reply


def test_chart_sends_the_game_chart_as_a_photo(db, bot):
    b = bot()
    game = factories.game(start_time=b.clock.now() - timedelta(hours=1))
    plays = [factories.play(n=n) for n in (1, 2, 3)]

    def insert(tx):
        tx.games.upsert_game(game)
        tx.games.insert_plays(plays)
        tx.games.insert_win_probabilities([WinProbability(game.game_id, p.play_id, Decimal("0.6")) for p in plays])

    db.run(insert)
    b.ask(ADMIN, "/start")
    b.rig.server.send_command(ADMIN, "/chart packers")
    wait_for(lambda: b.rig.server.photos, 20, "the chart")
    photo = b.rig.server.photos[0]
    assert photo.chat_id == ADMIN and "GB @ ATL" in photo.caption
    assert photo.photo.startswith(b"\x89PNG\r\n\x1a\n")
    assert b.ask(ADMIN, "/chart DAL")[0].startswith("No game")  # DAL has no game on the board


def test_failing_getupdates_backs_off_and_alerts_still_go_out(rig, bot):
    b = bot()
    failures = [telegram_error(502, "Bad Gateway")] * 2
    rig.server.script("getUpdates", *failures)

    wait_for(lambda: rig.server.status_count(502) == 1, 10, "a failed getUpdates")
    assert b.channel.send(ADMIN, "an alert meanwhile", None)  # while polling pauses
    wait_for(lambda: rig.server.status_count(502) == 2, 10, "the retry after a pause")
    assert "Subscribed" in b.ask(ADMIN, "/start")[0]  # polling resumed
    first, second = [r.received_at for r in rig.server.requests if r.status == 502]
    assert second - first >= 1.0  # not a busy loop: PTB pauses 1 s, then 1.5 s, up to 30 s


def test_stop_ends_polling_and_confirms_the_handled_updates(rig, db):
    b = Bot(rig, db)
    b.ask(ADMIN, "/start")

    b.bot.stop()
    stopped = time.monotonic()

    assert rig.server.pending_updates == 0
    rig.server.send_command(ADMIN, "/help")
    time.sleep(1.5)  # longer than a poll: no poll came
    assert not [r for r in rig.server.requests if r.path.endswith("/getUpdates") and r.received_at > stopped]
    assert len(rig.server.messages_to(ADMIN)) == 1
