"""Small helpers every repository uses to talk to psycopg2."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg2.extras
from psycopg2.extensions import cursor
from psycopg2.extras import RealDictCursor, RealDictRow

from nfl_sync.domain.errors import DatabaseError


def execute_values(cur: cursor, statement: str, rows: Sequence[tuple[Any, ...]], fetch: bool = False) -> list[Any]:
    """`statement` with its `VALUES %s` filled by `rows` in pages of 1,000; nothing runs for no rows."""
    if not rows:
        return []
    return psycopg2.extras.execute_values(cur, statement, rows, page_size=1000, fetch=fetch) or []


def mid_price(table: str = "") -> str:
    """SQL for a price row's mid, as `MarketSnapshot.mid` computes it: the bid/ask midpoint, else
    the last trade (NULL when neither is known). `table`: the alias the row is read under."""
    of = f"{table}." if table else ""
    return f"coalesce(({of}yes_bid + {of}yes_ask) / 2, {of}last_price)"


def one(cur: RealDictCursor) -> RealDictRow:
    """The row a statement that always returns one (a count, a RETURNING upsert) returned."""
    row = cur.fetchone()
    if row is None:
        raise DatabaseError(f"expected a row from: {cur.query!r}")
    return row


# The tables pruned by age, and the column that dates their rows (never taken from a caller).
_DATED = {"nfl_kalshi_prices": "ts", "nfl_data_sync_log": "started_at"}


def delete_older_than(cur: cursor, table: str, before: datetime, limit: int) -> int:
    """Delete at most `limit` rows of `table` dated before `before`; returns how many. One small
    batch per statement, so the rows locked and the WAL written at once stay small."""
    column = _DATED[table]
    cur.execute(
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE {column} < %s LIMIT %s))",
        (before, limit),
    )
    return cur.rowcount
