"""The chats that use the bot and their subscriptions (nfl_chats, nfl_chat_access).

A chat may use the bot when it is an admin (in TELEGRAM_CHAT_ID), or when it was let in and new
chats are still allowed (TELEGRAM_ALLOW_NEW_CHATS, stored at start-up by `configure_access`):
switching the setting off shuts the other chats out without forgetting their settings. Every
write is an upsert or an update that a repeat leaves as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time

from psycopg2.extras import RealDictCursor, RealDictRow

from nfl_sync.domain.subscriptions import ChatSettings

# Whether a chat row may use the bot, as an SQL expression over nfl_chats.
_MAY_USE = "(is_admin OR (allowed AND coalesce((SELECT allow_new_chats FROM nfl_chat_access), false)))"


def _settings(row: RealDictRow) -> ChatSettings:
    quiet = (row["quiet_start"], row["quiet_end"]) if row["quiet_start"] is not None else None
    return ChatSettings(
        chat_id=row["chat_id"],
        is_admin=row["is_admin"],
        teams=frozenset(row["teams"]),
        alert_types=frozenset(row["alert_types"]) if row["alert_types"] is not None else None,
        quiet_hours=quiet,
        muted_until=row["muted_until"],
        muted_games=frozenset(row["muted_games"]),
    )


class ChatRepository:
    """nfl_chats and nfl_chat_access inside one transaction (`tx.chats`)."""

    def __init__(self, cur: RealDictCursor):
        self.cur = cur

    def configure_access(self, admin_chat_ids: Sequence[str], allow_new_chats: bool, now: datetime) -> None:
        """At start-up: the configured chats are the admins (and only they), and whether other
        chats may register."""
        self.cur.execute(
            "INSERT INTO nfl_chat_access (singleton, allow_new_chats, updated_at) VALUES (true, %s, %s) "
            "ON CONFLICT (singleton) DO UPDATE SET allow_new_chats = EXCLUDED.allow_new_chats, "
            "updated_at = EXCLUDED.updated_at WHERE nfl_chat_access.allow_new_chats <> EXCLUDED.allow_new_chats",
            (allow_new_chats, now),
        )
        for chat_id in admin_chat_ids:
            self.register(chat_id, None, True, now)
        self.cur.execute(
            "UPDATE nfl_chats SET is_admin = false, updated_at = %s WHERE is_admin AND NOT chat_id = ANY(%s)",
            (now, list(admin_chat_ids)),
        )

    def register(self, chat_id: str, title: str | None, is_admin: bool, now: datetime) -> bool:
        """Record a chat that wants the bot; True when it may use it, False when refused (not an
        admin while new chats are not allowed). A refused chat is kept, not allowed. A known
        chat keeps its settings, its title unless a new one is given, and its admin flag."""
        self.cur.execute(
            "INSERT INTO nfl_chats (chat_id, title, is_admin, allowed, created_at, updated_at) "
            "VALUES (%(id)s, %(title)s, %(admin)s, "
            "        %(admin)s OR coalesce((SELECT allow_new_chats FROM nfl_chat_access), false), %(now)s, %(now)s) "
            "ON CONFLICT (chat_id) DO UPDATE SET title = coalesce(EXCLUDED.title, nfl_chats.title), "
            "    is_admin = nfl_chats.is_admin OR EXCLUDED.is_admin, allowed = nfl_chats.allowed OR EXCLUDED.allowed, "
            "    updated_at = EXCLUDED.updated_at "
            "WHERE (coalesce(EXCLUDED.title, nfl_chats.title), nfl_chats.is_admin OR EXCLUDED.is_admin, "
            "       nfl_chats.allowed OR EXCLUDED.allowed) "
            "      IS DISTINCT FROM (nfl_chats.title, nfl_chats.is_admin, nfl_chats.allowed)",
            {"id": chat_id, "title": title, "admin": is_admin, "now": now},
        )
        self.cur.execute(f"SELECT {_MAY_USE} AS may_use FROM nfl_chats WHERE chat_id = %s", (chat_id,))
        row = self.cur.fetchone()
        return bool(row and row["may_use"])

    def chat(self, chat_id: str) -> ChatSettings | None:
        """The chat's settings, or None when it is unknown or may not use the bot."""
        self.cur.execute(f"SELECT * FROM nfl_chats WHERE chat_id = %s AND {_MAY_USE}", (chat_id,))
        row = self.cur.fetchone()
        return _settings(row) if row else None

    def subscribers(self) -> list[ChatSettings]:
        """Every chat that may use the bot, by id: the ones an alert may go to."""
        self.cur.execute(f"SELECT * FROM nfl_chats WHERE {_MAY_USE} ORDER BY chat_id")
        return [_settings(row) for row in self.cur.fetchall()]

    def follow(self, chat_id: str, teams: Iterable[str]) -> None:
        """Add `teams` (ESPN abbreviations) to the ones the chat follows."""
        self._update(
            chat_id, "teams", "ARRAY(SELECT DISTINCT unnest(teams || %(v)s::text[]) ORDER BY 1)", sorted(teams)
        )

    def unfollow(self, chat_id: str, teams: Iterable[str] | None) -> None:
        """Stop following `teams`; None stops following any team in particular (every team again)."""
        remaining = "ARRAY(SELECT unnest(teams) EXCEPT SELECT unnest(%(v)s::text[]) ORDER BY 1)"
        self._update(chat_id, "teams", "'{}'::text[]" if teams is None else remaining, list(teams or ()))

    def set_alert_types(self, chat_id: str, types: Iterable[str] | None) -> None:
        """The alert types the chat gets; None: every type."""
        self._update(chat_id, "alert_types", "%(v)s::text[]", sorted(set(types)) if types is not None else None)

    def set_quiet(self, chat_id: str, start: time | None, end: time | None = None) -> None:
        """Quiet hours from `start` to `end`, local times in TIMEZONE; without both, none."""
        hours = (start, end) if start is not None and end is not None else (None, None)
        self._update(chat_id, "(quiet_start, quiet_end)", "((%(v)s::time[])[1], (%(v)s::time[])[2])", list(hours))

    def mute_until(self, chat_id: str, until: datetime | None) -> None:
        """Nothing reaches the chat before `until`; None lifts the mute."""
        self._update(chat_id, "muted_until", "%(v)s::timestamptz", until)

    def mute_game(self, chat_id: str, game_id: str) -> None:
        """No alert of the game reaches the chat any more."""
        self._update(
            chat_id, "muted_games", "ARRAY(SELECT DISTINCT unnest(muted_games || %(v)s::text) ORDER BY 1)", game_id
        )

    def unmute_games(self, chat_id: str) -> None:
        """The chat's muted games get alerts again."""
        self._update(chat_id, "muted_games", "'{}'::text[]", None)

    def game_teams(self, game_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        """The two teams of each stored game, for alerts that name only their game."""
        self.cur.execute(
            "SELECT game_id, home_team, away_team FROM nfl_games WHERE game_id = ANY(%s)", (list(game_ids),)
        )
        return {row["game_id"]: frozenset((row["home_team"], row["away_team"])) for row in self.cur.fetchall()}

    def _update(self, chat_id: str, columns: str, expression: str, value: object) -> None:
        """Set `columns` of a known chat to `expression` (over the parameter `v`); the row and its
        updated_at are left alone when they hold that value already."""
        self.cur.execute(
            f"UPDATE nfl_chats SET {columns} = {expression}, updated_at = now() "
            f"WHERE chat_id = %(id)s AND {columns} IS DISTINCT FROM {expression}",
            {"id": chat_id, "v": value},
        )
