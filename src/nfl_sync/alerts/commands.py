"""The bot's commands: python-telegram-bot's `Application` long-polling `getUpdates` on the
Telegram channel's event loop, and the answers, read from and written to the database.

`CommandService.answer` is the whole of what a command does, synchronous and testable without
Telegram: the per-chat limit, who may use the bot, the command's database work (`db.run`) and
its reply (text from `domain/command_replies`). `CommandBot` is the thin async shell: it polls,
hands each command to `answer` on a worker thread (the loop also sends the alerts, so it never
waits on the database) and sends the replies. A failing `getUpdates` backs off inside PTB's
polling loop (1 s growing to 30 s) and never touches the alert sender, which has its own `Bot`
and connections; a start that cannot reach Telegram retries in the background.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import Any, Protocol

from telegram import BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from nfl_sync.alerts.channel import Channel
from nfl_sync.alerts.charts import chart_png
from nfl_sync.alerts.telegram import TelegramChannel
from nfl_sync.clock import Clock
from nfl_sync.config import Settings
from nfl_sync.domain import command_replies as replies
from nfl_sync.domain.calendar import eastern_date
from nfl_sync.domain.command_replies import DaemonStatus
from nfl_sync.domain.commands import (
    COMMAND_NAMES,
    COMMANDS,
    CommandLimiter,
    GameLine,
    Verdict,
    change_alert_types,
    current_game,
    parse_command,
    parse_duration,
    parse_quiet_hours,
)
from nfl_sync.domain.daily_report import day_bounds
from nfl_sync.domain.markup import markup
from nfl_sync.domain.subscriptions import ChatSettings
from nfl_sync.domain.teams import parse_teams
from nfl_sync.logging_setup import redact, register_secret
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.tx import Tx

log = logging.getLogger(__name__)

# Long-poll length of one getUpdates (seconds): Telegram answers at once when a command comes.
POLL_TIMEOUT = 30.0


class ChartRenderer(Protocol):
    """A game's chart as PNG bytes, or None when there is nothing to draw (`charts.chart_png`;
    tests may hand another)."""

    def __call__(self, db: NFLDBManager, game_id: str) -> bytes | None: ...


@dataclass(frozen=True)
class Reply:
    """One message back to the chat: text, or a photo with the text as its caption."""

    text: str
    photo: bytes | None = None


class CommandService:
    """What each command does and says, for one message of one chat (any thread)."""

    def __init__(
        self,
        db: NFLDBManager,
        clock: Clock,
        *,
        admins: tuple[str, ...],
        allow_new_chats: bool,
        parse_mode: str | None,
        timezone: tzinfo,
        status: Callable[[], DaemonStatus],
        chart: ChartRenderer = chart_png,
        limiter: CommandLimiter | None = None,
    ):
        self.db = db
        self.clock = clock
        self.admins = frozenset(admins)
        self.allow_new_chats = allow_new_chats
        self.m = markup(parse_mode)
        self.tz = timezone
        self.status = status
        self.chart = chart
        self.limiter = limiter or CommandLimiter()
        self._refused: set[str] = set()  # told once that the bot is private; silence afterwards
        self._lock = threading.Lock()  # the limiter and the refused set, from worker threads

    def answer(self, chat_id: str, title: str | None, text: str, bot_username: str | None = None) -> list[Reply]:
        """The replies to `text` from `chat_id` (none: stay silent)."""
        command = parse_command(text, bot_username)
        if command is None:
            return []
        now = self.clock.monotonic()
        with self._lock:
            self.limiter.forget_idle(now)
            verdict = self.limiter.check(chat_id, now)
        if verdict is Verdict.SLOW_DOWN:
            return [Reply(replies.slow_down(self.m))]
        if verdict is Verdict.IGNORE:
            return []
        is_admin = chat_id in self.admins
        allowed = is_admin or self.allow_new_chats
        if command.name == "start" and allowed:
            registered = self.db.run(lambda tx: self._register(tx, chat_id, title, is_admin))
            if registered is not None:
                return [Reply(replies.welcome(self.m, registered))]
        chat = None if command.name == "start" else self.db.run(lambda tx: tx.chats.chat(chat_id))
        if chat is None:
            if allowed and command.name != "start":
                return [Reply(replies.start_first(self.m))]
            with self._lock:
                if chat_id in self._refused:
                    return []
                self._refused.add(chat_id)
            log.info("Refused chat %s (%s): TELEGRAM_ALLOW_NEW_CHATS is off", chat_id, title or "no title")
            return [Reply(replies.refused(self.m))]
        if command.name not in COMMAND_NAMES:
            return [Reply(replies.unknown_command(self.m))]
        handlers: dict[str, Callable[[ChatSettings, str], list[Reply]]] = {
            "help": self._help,
            "follow": self._follow,
            "unfollow": self._unfollow,
            "following": self._following,
            "alerts": self._alerts,
            "quiet": self._quiet,
            "mute": self._mute,
            "unmute": self._unmute,
            "games": self._games_today,
            "status": self._status,
            "chart": self._chart,
        }
        return handlers[command.name](chat, command.args)

    def _register(self, tx: Tx, chat_id: str, title: str | None, is_admin: bool) -> ChatSettings | None:
        if not tx.chats.register(chat_id, title, is_admin, self.clock.now()):
            return None
        return tx.chats.chat(chat_id)

    def _change(self, chat_id: str, change: Callable[[Tx], object]) -> ChatSettings:
        """Apply `change` and read the chat's settings back, in one transaction."""

        def work(tx: Tx) -> ChatSettings:
            change(tx)
            chat = tx.chats.chat(chat_id)
            assert chat is not None  # the chat was read before the change
            return chat

        return self.db.run(work)

    def _text(self, text: str) -> list[Reply]:
        return [Reply(text)]

    def _help(self, chat: ChatSettings, args: str) -> list[Reply]:
        return self._text(replies.help_text(self.m))

    def _following(self, chat: ChatSettings, args: str) -> list[Reply]:
        return self._text(replies.following(self.m, chat))

    def _follow(self, chat: ChatSettings, args: str) -> list[Reply]:
        teams, unknown = parse_teams(args)
        if not teams:
            return self._text(replies.unknown_teams(self.m, unknown) if unknown else replies.follow_usage(self.m))
        abbrs = [team.abbr for team in teams]
        after = self._change(chat.chat_id, lambda tx: tx.chats.follow(chat.chat_id, abbrs))
        return self._text(replies.followed(self.m, after, unknown))

    def _unfollow(self, chat: ChatSettings, args: str) -> list[Reply]:
        teams, unknown = parse_teams(args)
        if unknown and not teams:
            return self._text(replies.unknown_teams(self.m, unknown))
        abbrs = [team.abbr for team in teams] if teams else None
        after = self._change(chat.chat_id, lambda tx: tx.chats.unfollow(chat.chat_id, abbrs))
        return self._text(replies.followed(self.m, after, unknown))

    def _alerts(self, chat: ChatSettings, args: str) -> list[Reply]:
        change = change_alert_types(chat.alert_types, args)
        if change is None:
            return self._text(replies.alert_types(self.m, chat))
        after = self._change(chat.chat_id, lambda tx: tx.chats.set_alert_types(chat.chat_id, change.types))
        return self._text(replies.alert_types(self.m, after, change.unknown))

    def _quiet(self, chat: ChatSettings, args: str) -> list[Reply]:
        if args.casefold() == "off":
            hours = None
        elif args:
            hours = parse_quiet_hours(args)
            if hours is None:
                return self._text(replies.quiet_usage(self.m))
        else:
            return self._text(replies.quiet_hours(self.m, chat.quiet_hours, self.tz, self.clock.now()))
        start, end = hours if hours is not None else (None, None)
        after = self._change(chat.chat_id, lambda tx: tx.chats.set_quiet(chat.chat_id, start, end))
        return self._text(replies.quiet_hours(self.m, after.quiet_hours, self.tz, self.clock.now()))

    def _mute(self, chat: ChatSettings, args: str) -> list[Reply]:
        words = args.split(maxsplit=1)
        if words and words[0].casefold() == "game":
            named, unknown = parse_teams(words[1] if len(words) > 1 else "")
            if unknown:
                return self._text(replies.unknown_teams(self.m, unknown))
            teams = [team.abbr for team in named] or sorted(chat.teams)
            game = current_game(self._games(), teams)
            if game is None or game.state == "post":
                return self._text(replies.no_current_game(self.m, teams))
            self._change(chat.chat_id, lambda tx: tx.chats.mute_game(chat.chat_id, game.game_id))
            return self._text(replies.muted_game(self.m, game))
        duration = parse_duration(args)
        if duration is None:
            return self._text(replies.mute_usage(self.m))
        until = self.clock.now() + duration
        self._change(chat.chat_id, lambda tx: tx.chats.mute_until(chat.chat_id, until))
        return self._text(replies.muted(self.m, until, self.tz))

    def _unmute(self, chat: ChatSettings, args: str) -> list[Reply]:
        """Lifts both kinds of mute: the timed one and the muted games."""

        def lift(tx: Tx) -> None:
            tx.chats.mute_until(chat.chat_id, None)
            tx.chats.unmute_games(chat.chat_id)

        self._change(chat.chat_id, lift)
        return self._text(replies.unmuted(self.m))

    def _games(self) -> list[GameLine]:
        since, until = day_bounds(eastern_date(self.clock.now()))
        return self.db.run(lambda tx: tx.analytics.game_lines(since, until))

    def _games_today(self, chat: ChatSettings, args: str) -> list[Reply]:
        return self._text(replies.games(self.m, self._games(), self.tz))

    def _status(self, chat: ChatSettings, args: str) -> list[Reply]:
        return self._text(replies.status(self.m, self.status(), self.clock.now()))

    def _chart(self, chat: ChatSettings, args: str) -> list[Reply]:
        named, unknown = parse_teams(args)
        if unknown:
            return self._text(replies.unknown_teams(self.m, unknown))
        teams = [team.abbr for team in named] or sorted(chat.teams)
        game = current_game(self._games(), teams)
        if game is None:
            return self._text(replies.no_current_game(self.m, teams))
        png = self.chart(self.db, game.game_id)
        if png is None:
            return self._text(replies.no_chart(self.m))
        return [Reply(self.m.bold(f"{game.away_team} @ {game.home_team}"), png)]


# The wait before retrying a start that could not reach Telegram, doubling up to the maximum.
START_RETRY_SECONDS = (5.0, 300.0)


class CommandBot:
    """PTB's `Application` on the Telegram channel's loop (`submit` runs a coroutine there):
    `start` begins in the background (getMe, setMyCommands, then long polling) and returns at
    once; `stop` ends polling and the application within `timeout` seconds."""

    def __init__(
        self,
        service: CommandService,
        token: str,
        base_url: str,
        submit: Callable[[Coroutine[Any, Any, Any]], concurrent.futures.Future[Any]],
        *,
        parse_mode: str | None,
        poll_timeout: float = POLL_TIMEOUT,
        timeout: float = 10.0,
    ):
        register_secret(token)  # before the Application exists: PTB logs its URLs
        self.service = service
        self.parse_mode = parse_mode
        self.poll_timeout = poll_timeout
        self.timeout = timeout
        self._submit = submit
        self._token = token
        self._base_url = base_url
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._starting: concurrent.futures.Future[Any] | None = None
        self._stopping: asyncio.Event | None = None
        self.polling = threading.Event()  # set once getUpdates runs (tests and the log)

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        app = (
            Application.builder()
            .token(self._token)
            .base_url(self._base_url)
            .connect_timeout(self.timeout)
            .read_timeout(self.timeout)
            .write_timeout(self.timeout)
            .pool_timeout(self.timeout)
            .get_updates_connect_timeout(self.timeout)
            .get_updates_read_timeout(self.timeout)
            .build()
        )
        app.add_handler(MessageHandler(filters.COMMAND, self._on_command))
        app.add_error_handler(self._on_error)
        return app

    def start(self) -> None:
        self._starting = self._submit(self._start())

    async def _start(self) -> None:
        self._stopping = asyncio.Event()
        delay, maximum = START_RETRY_SECONDS
        while not self._stopping.is_set():
            app = self._build()
            try:
                await app.initialize()
                await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
                assert app.updater is not None  # the builder made one
                await app.updater.start_polling(
                    timeout=timedelta(seconds=self.poll_timeout), error_callback=self._on_poll_error
                )
                await app.start()
            except InvalidToken:
                log.error("Telegram commands are off: the bot token was rejected")
                await app.shutdown()
                return
            except TelegramError as error:
                log.warning("Telegram commands: could not start (%s); retrying in %.0f s", redact(str(error)), delay)
                await app.shutdown()
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                except TimeoutError:
                    delay = min(maximum, delay * 2)
                continue
            self._app = app
            self.polling.set()
            log.info("Telegram commands: answering as @%s", app.bot.username)
            return

    def _on_poll_error(self, error: TelegramError) -> None:
        log.warning("Telegram commands: getUpdates failed (%s); polling again after a pause", redact(str(error)))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error("Telegram command failed: %s", redact(f"{type(error).__name__}: {error}"))

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or not message.text:
            return
        title = chat.title or chat.username or chat.first_name
        answers = await asyncio.to_thread(self.service.answer, str(chat.id), title, message.text, context.bot.username)
        for reply in answers:
            if reply.photo is not None:
                await context.bot.send_photo(chat.id, reply.photo, caption=reply.text, parse_mode=self.parse_mode)
            else:
                await context.bot.send_message(chat.id, reply.text, parse_mode=self.parse_mode)

    def stop(self, seconds: float = 3.0) -> None:
        """Stop polling (Telegram learns which updates were handled) and release the bot, waiting
        at most `seconds`: SIGTERM must end the daemon within 10 s."""
        try:
            self._submit(self._stop()).result(seconds)
        except Exception as error:  # stopping must never keep the daemon from exiting
            log.warning("Telegram commands did not stop cleanly: %s", redact(str(error)))

    async def _stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if self._starting is not None:
            await asyncio.wrap_future(self._starting)
        app, self._app = self._app, None
        if app is None:
            return
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()


def build_commands(
    settings: Settings,
    db: NFLDBManager,
    channel: Channel,
    clock: Clock,
    status: Callable[[], DaemonStatus],
) -> CommandBot | None:
    """The bot's commands when alerts go to Telegram (None on the console: nobody to answer)."""
    token = settings.telegram_bot_token
    if not isinstance(channel, TelegramChannel) or not token:
        return None
    service = CommandService(
        db,
        clock,
        admins=settings.telegram_chat_ids,
        allow_new_chats=settings.telegram_allow_new_chats,
        parse_mode=settings.telegram_parse_mode,
        timezone=settings.timezone,
        status=status,
    )
    return CommandBot(service, token, channel.base_url, channel.submit, parse_mode=settings.telegram_parse_mode)
