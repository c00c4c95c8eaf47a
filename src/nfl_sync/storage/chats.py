"""The chats the bot serves and what each follows (`tx.chats`).

Minimal stand-in for issue 18 part H's repository, with its interface exactly; the merger keeps
part H's. Every write is an idempotent update keyed on the chat id.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from psycopg2.extras import RealDictCursor

from nfl_sync.domain.chats import ChatSettings

_COLUMNS = "chat_id, is_admin, teams, alert_types, quiet_start, quiet_end, muted_until, muted_games"


def _settings(row: dict[str, Any]) -> ChatSettings:
    quiet = (row["quiet_start"], row["quiet_end"]) if row["quiet_start"] is not None else None
    types = row["alert_types"]
    return ChatSettings(
        row["chat_id"],
        row["is_admin"],
        frozenset(row["teams"]),
        None if types is None else frozenset(types),
        quiet,
        row["muted_until"],
        frozenset(row["muted_games"]),
    )


class ChatRepository:
    """nfl_chats: registration, followed teams, alert types, quiet hours and mutes."""

    def __init__(self, cur: RealDictCursor):
        self.cur = cur

    def register(self, chat_id: str, title: str | None, is_admin: bool, now: datetime) -> bool:
        """Register the chat (again: its title and admin flag refreshed, its choices kept)."""
        self.cur.execute(
            "INSERT INTO nfl_chats (chat_id, title, is_admin, registered_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (chat_id) DO UPDATE SET title = EXCLUDED.title, is_admin = EXCLUDED.is_admin",
            (chat_id, title, is_admin, now),
        )
        return True

    def chat(self, chat_id: str) -> ChatSettings | None:
        self.cur.execute(f"SELECT {_COLUMNS} FROM nfl_chats WHERE chat_id = %s", (chat_id,))
        row = self.cur.fetchone()
        return None if row is None else _settings(row)

    def follow(self, chat_id: str, teams: Iterable[str]) -> None:
        self.cur.execute(
            "UPDATE nfl_chats SET teams = ARRAY(SELECT DISTINCT unnest(teams || %s::text[]) ORDER BY 1) "
            "WHERE chat_id = %s",
            (list(teams), chat_id),
        )

    def unfollow(self, chat_id: str, teams: Iterable[str] | None) -> None:
        """Stop following `teams`, or every team (None): back to all teams."""
        if teams is None:
            self.cur.execute("UPDATE nfl_chats SET teams = '{}' WHERE chat_id = %s", (chat_id,))
            return
        self.cur.execute(
            "UPDATE nfl_chats SET teams = ARRAY(SELECT unnest(teams) EXCEPT SELECT unnest(%s::text[]) ORDER BY 1) "
            "WHERE chat_id = %s",
            (list(teams), chat_id),
        )

    def set_alert_types(self, chat_id: str, types: Iterable[str] | None) -> None:
        value = None if types is None else sorted(types)
        self.cur.execute("UPDATE nfl_chats SET alert_types = %s::text[] WHERE chat_id = %s", (value, chat_id))

    def set_quiet(self, chat_id: str, start: time | None, end: time | None) -> None:
        """Quiet hours from `start` to `end`, or none (`end` None)."""
        if end is None:
            start = None
        self.cur.execute(
            "UPDATE nfl_chats SET quiet_start = %s, quiet_end = %s WHERE chat_id = %s", (start, end, chat_id)
        )

    def mute_until(self, chat_id: str, until: datetime | None) -> None:
        self.cur.execute("UPDATE nfl_chats SET muted_until = %s WHERE chat_id = %s", (until, chat_id))

    def mute_game(self, chat_id: str, game_id: str) -> None:
        self.cur.execute(
            "UPDATE nfl_chats SET muted_games = array_append(muted_games, %s) "
            "WHERE chat_id = %s AND NOT %s = ANY(muted_games)",
            (game_id, chat_id, game_id),
        )

    def subscribers(self) -> list[ChatSettings]:
        self.cur.execute(f"SELECT {_COLUMNS} FROM nfl_chats ORDER BY chat_id")
        return [_settings(row) for row in self.cur.fetchall()]
