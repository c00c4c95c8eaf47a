"""One transaction's statements, grouped by table family."""

from __future__ import annotations

from psycopg2.extras import RealDictCursor

from nfl_sync.storage.analytics import AnalyticsRepository
from nfl_sync.storage.backtests import BacktestRepository
from nfl_sync.storage.chats import ChatRepository
from nfl_sync.storage.games import GameRepository
from nfl_sync.storage.markets import MarketRepository
from nfl_sync.storage.operations import OperationsRepository
from nfl_sync.storage.outbox import OutboxRepository
from nfl_sync.storage.photos import PhotoRepository


class Tx:
    """The statements of one transaction. Obtain one from `NFLDBManager.transaction()` or `run()`."""

    def __init__(self, cur: RealDictCursor):
        self.cur = cur
        self.games = GameRepository(cur)
        self.markets = MarketRepository(cur)
        self.outbox = OutboxRepository(cur)
        self.ops = OperationsRepository(cur)
        self.analytics = AnalyticsRepository(cur)
        self.backtests = BacktestRepository(cur)
        self.photos = PhotoRepository(cur)
        self.chats = ChatRepository(cur)
