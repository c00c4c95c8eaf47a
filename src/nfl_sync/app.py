"""The composition root: builds every component of the daemon from the settings, in one place."""

from __future__ import annotations

import gc
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from nfl_sync.alerts.commands import CommandBot, build_commands
from nfl_sync.alerts.service import AlertService, build_notifier, register_admin_chats
from nfl_sync.clock import Clock, PacingClock, SystemClock
from nfl_sync.config import Settings, env_file_exposure
from nfl_sync.domain.command_replies import DaemonStatus
from nfl_sync.domain.errors import DatabaseError
from nfl_sync.domain.events import system_event
from nfl_sync.engine.sync import NFLRealtimeSync
from nfl_sync.metrics import Metrics, MetricsServer
from nfl_sync.sources.fetcher import NFLDataFetcher
from nfl_sync.sources.kalshi.client import KalshiClient
from nfl_sync.sources.recorder import ResponseRecorder
from nfl_sync.storage.lease import LeaderLease
from nfl_sync.storage.manager import NFLDBManager
from nfl_sync.storage.migrations import apply_migrations
from nfl_sync.systemd import Watchdog, notify

log = logging.getLogger(__name__)


def build_sync(
    settings: Settings,
    *,
    clock: Clock | None = None,
    dry_run: bool = False,
    db: NFLDBManager | None = None,
    metrics: Metrics | None = None,
    restore: bool = True,
    may_send: Callable[[], bool] = lambda: True,
    alert_games: Sequence[str] | None = None,
) -> NFLRealtimeSync:
    """Connect the database (embedded when none is configured), apply the schema, and wire the
    sources, the alert outbox and the loop; `restore` loads detection state from the database;
    alerts go out only while `may_send()` (the leader lease), and only those of `alert_games`
    (and of no game) when given: a replay worker sharing the database with others. Nothing is
    fetched until the first cycle."""
    clock = clock or SystemClock()
    metrics = metrics or Metrics()
    db = db or connect_database(settings, metrics)
    applied = apply_migrations(db)
    if applied:
        log.info("Database schema: applied %s", ", ".join(applied))
    recorder = ResponseRecorder(settings.record_dir) if settings.record_dir is not None else None
    if recorder is not None:
        log.info("Recording every ESPN and Kalshi response into %s", settings.record_dir)
    fetcher = NFLDataFetcher(settings, clock, observer=metrics.observe_api, recorder=recorder)
    kalshi = KalshiClient(settings, clock, observer=metrics.observe_api, recorder=recorder)
    # Telegram's flood limits are in real seconds, whatever clock drives the loop (replays).
    alerts = build_notifier(
        settings, db, PacingClock(clock), console_only=dry_run, metrics=metrics, may_send=may_send, games=alert_games
    )
    sync = NFLRealtimeSync(
        settings,
        clock=clock,
        db=db,
        fetcher=fetcher,
        kalshi=kalshi,
        alerts=alerts,
        metrics=metrics,
        recorder=recorder,
    )
    if restore:
        sync.restore_state()
    return sync


def connect_database(settings: Settings, metrics: Metrics) -> NFLDBManager:
    """The configured database (or the embedded one, in a folder of its owner's), its transaction
    times observed."""
    if settings.database.url is None:
        private_dir(settings.database.embedded_dir.parent)
    return NFLDBManager.from_settings(settings, observer=lambda _name, seconds: metrics.db_time.observe(seconds))


def private_dir(path: Path) -> None:
    """Create `path` (the embedded database's folder, `data/` by default) readable by its owner
    only: it holds every alert and the database files. An existing folder is left as it is."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
        path.chmod(0o700)  # mkdir's mode passes through the umask; this one must not


def health_answer(sync: NFLRealtimeSync) -> tuple[bool, dict]:
    """The leader's health: the scoreboard's last success within 3 polling intervals (idle ones
    when no game is on), and, while a game is live, its polls no more than 3 live intervals late."""
    settings = sync.settings
    live = sum(1 for game in sync.board.snapshot().values() if game.is_live)
    max_age = 3 * max(settings.sync_interval, settings.idle_poll_interval)
    return sync.health.healthy(sync.clock.now(), max_age, live_games=live, interval=settings.sync_interval)


def watchdog(sync: NFLRealtimeSync, started: datetime) -> Watchdog:
    """systemd's watchdog, fed while the scoreboard lane steps on its cadence (whatever ESPN says)."""

    def on_time() -> bool:
        now = sync.clock.now()
        return sync.health.cycles_on_time(now, sync.scoreboard.interval(now), started)

    return Watchdog(on_time)


def daemon_status(sync: NFLRealtimeSync) -> DaemonStatus:
    """The bot's /status: the /healthz verdict, the lanes, the alerts still to send."""
    ok, detail = health_answer(sync)
    try:
        pending: int | None = sync.alerts.pending_count()
    except DatabaseError:
        pending = None
    return DaemonStatus(
        ok,
        detail["status"],
        detail["last_successful_cycle"],
        detail["live_games"],
        sync.health.lanes(),
        pending,
    )


def start_commands(sync: NFLRealtimeSync) -> CommandBot | None:
    """The bot's commands, polling, when alerts go to Telegram (the leader's only: two pollers
    of one bot would take each other's updates)."""
    if not isinstance(sync.alerts, AlertService):
        return None
    bot = build_commands(sync.settings, sync.db, sync.alerts.notifier.channel, sync.clock, lambda: daemon_status(sync))
    if bot is not None:
        bot.start()
    return bot


def close_sync(sync: NFLRealtimeSync, flush_seconds: float = 5.0) -> None:
    """Deliver what the outbox still holds (within `flush_seconds`), then release everything. A
    fetch still waiting on a dead host is not waited for: its thread dies with the process."""
    sync.alerts.close(flush_seconds)
    sync.fetcher.close()
    sync.kalshi.close()
    if sync.recorder is not None:
        sync.recorder.close()  # logs the recording's size
    sync.db.close()


GC_GEN0_THRESHOLD = 20_000
# SIGTERM to exit within 10 s: the lanes' current steps get this long, the outbox flush the rest.
STOP_WAIT_SECONDS = 5.0
FLUSH_SECONDS = 3.0
# Another instance leads on the same database: `--once` did nothing, or the daemon lost its lease
# to another one and stopped (its supervisor restarts it, as a standby).
EXIT_NOT_LEADER = 3


def tune_garbage_collection() -> None:
    """Called once the daemon is built, before its loop starts (it changes the whole process).

    Every new play brings a 0.2-0.4 MB summary, decoded into some 50,000 objects that die
    within the cycle. With the default threshold (700 allocations) each decode sets off dozens
    of collections, and the older generations keep walking the objects that live as long as the
    daemon (modules, settings, restored state). Freeze those, collect young objects in bigger
    batches: the decoded summaries then cost a third less."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


def daemon_health(sync: NFLRealtimeSync, lease: LeaderLease) -> tuple[bool, dict[str, Any]]:
    """The /healthz answer: a standby is healthy (it is doing its job: waiting); a leader whose
    lease is lost is not; a leader is healthy while the scoreboard is polled on time
    (`health_answer`) and no chat refuses the alerts (blocked bot, chat not found) nor is the
    channel down."""
    state = lease.state()
    if state != "leader":
        return state == "standby", {"status": state, "leader": lease.holder}
    ok, detail = health_answer(sync)
    problems = sync.alerts.channel_problems()
    if problems:
        detail["status"] = "ok, but alerts are not delivered" if ok else detail["status"]
        detail["alert_channel"] = problems
    return ok and not problems, detail


def run_daemon(settings: Settings, *, once: bool = False, dry_run: bool = False) -> int:
    """The daemon's lifecycle: build, take the leader lease (standing by while another instance
    holds it), run cycles until SIGTERM/SIGINT (or one cycle with `once`), then shut down within
    10 s. Returns the exit status (EXIT_NOT_LEADER when another instance leads: `--once` at once,
    the daemon when it lost its lease to another one)."""
    exposure = env_file_exposure(settings.env_file)
    if exposure:
        log.warning("%s", exposure)
    metrics = Metrics()
    db = connect_database(settings, metrics)
    lease = LeaderLease(db.dsn)
    sync = build_sync(settings, dry_run=dry_run, db=db, metrics=metrics, restore=False, may_send=lease.is_leader)
    if once:
        return _run_once(sync, lease)

    def shutdown(signum: int, _frame: FrameType | None) -> None:
        log.info("Received %s: finishing the current steps and shutting down", signal.Signals(signum).name)
        sync.stop()

    for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), shutdown)
    server = None
    if settings.metrics_port:
        server = MetricsServer(
            sync.metrics, lambda: daemon_health(sync, lease), settings.metrics_port, settings.metrics_host
        ).start()
    # A standby is a running service too: systemd hears READY before the lease is taken, and its
    # watchdog is fed while the daemon stands by.
    notify("READY=1")
    lease.start()
    if not _wait_for_lease(sync, lease, Watchdog(lambda: True)):
        close_sync(sync)
        lease.close()
        if server is not None:
            server.stop()
        log.info("Stopped while standing by")
        return 0
    # The leader's settings decide who may use the bot: a standby must not rewrite them.
    if not dry_run:
        register_admin_chats(settings, sync.db, sync.clock.now())
    sync.restore_state()
    log.info(
        "Polling every %.1f s (%.0f s when no game is on); alerts via %s",
        settings.sync_interval,
        settings.idle_poll_interval,
        sync.alerts.describe(),
    )
    tune_garbage_collection()
    fed = watchdog(sync, sync.clock.now())
    sync.start()
    commands = start_commands(sync)
    crashed: list[str] = []
    while not sync.wait_for_stop(0.5) and not crashed and not lease.superseded.is_set():
        crashed = sync.dead_lanes()
        fed.tick()
    notify("STOPPING=1")
    sync.stop()
    if commands is not None:
        commands.stop()
    # SIGTERM must end the process within 10 s: a lane stuck on a host that never answers is not
    # waited for (its thread dies with the process; what it did not commit is redone next start).
    if not sync.join(STOP_WAIT_SECONDS):
        log.warning(
            "Still busy after %.0f s, exiting without them: %s", STOP_WAIT_SECONDS, ", ".join(sync.busy_lanes())
        )
    if crashed:
        # Said before the flush, which delivers it (straight to the channel if the outbox is away).
        now = sync.clock.now()
        text = f"the lanes {', '.join(crashed)} stopped unexpectedly; the daemon exits for its supervisor to restart it"
        sync.runner.record_events([system_event("critical", "engine", text, now, now.isoformat())])
    close_sync(sync, flush_seconds=FLUSH_SECONDS)
    lease.close()
    if server is not None:
        server.stop()
    if lease.superseded.is_set():
        log.error(
            "Another instance (%s) took over while this one had lost its lease; exiting with status %d "
            "for the supervisor to start this one again, as a standby",
            lease.holder,
            EXIT_NOT_LEADER,
        )
        return EXIT_NOT_LEADER
    if crashed:
        log.error("The lanes %s stopped unexpectedly", ", ".join(crashed))
        return 1
    log.info("Stopped cleanly")
    return 0


def _run_once(sync: NFLRealtimeSync, lease: LeaderLease) -> int:
    """One cycle, if no other instance leads: beside a running daemon it would alert what the
    daemon alerts, so it says so and does nothing (EXIT_NOT_LEADER)."""
    try:
        if not lease.try_acquire() and lease.unreachable:
            log.error("--once could not reach the database to take the leader lease (logged above)")
            return 1
        if not lease.is_leader():
            log.error(
                "Another instance is running on this database (%s) and sends the alerts: --once does nothing "
                "beside it (exit status %d). Stop that instance first, or leave the work to it.",
                lease.holder or "another session",
                EXIT_NOT_LEADER,
            )
            return EXIT_NOT_LEADER
        register_admin_chats(sync.settings, sync.db, sync.clock.now())
        sync.restore_state()
        report = sync.run_cycle()
        return 0 if report.ok else 1
    finally:
        close_sync(sync)
        lease.close()


def _wait_for_lease(sync: NFLRealtimeSync, lease: LeaderLease, standby: Watchdog) -> bool:
    """Stand by until this instance leads (True) or is told to stop (False). The lease's keeper
    logs once that it stands by, and tries the lock every 2 s."""
    while not lease.wait_leader(0.5):
        standby.tick()
        if sync.stopping:
            notify("STOPPING=1")
            return False
    return True
