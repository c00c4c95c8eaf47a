"""The schema: the ordered SQL files of `sql/`, each applied once and recorded in schema_migrations."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from nfl_sync.config import PROJECT_ROOT
from nfl_sync.storage.manager import NFLDBManager

log = logging.getLogger(__name__)

MIGRATIONS_DIR = PROJECT_ROOT / "sql"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# Any one value of a 64-bit key serialises concurrent migration runners.
_MIGRATION_LOCK = 7_317_001


def apply_migrations(db: NFLDBManager, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every migration not yet recorded in schema_migrations, in order; returns their names."""
    files = sorted(p for p in directory.glob("*.sql") if _MIGRATION_NAME.match(p.name))
    applied: list[str] = []
    with db.transaction() as tx:
        cur = tx.cur
        # A migration may rewrite a big table: the daemon's statement timeout is for its cycles.
        cur.execute("SET LOCAL statement_timeout = 0")
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, "
            "name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur.execute("SELECT version, name, checksum FROM schema_migrations")
        done = {row["version"]: row for row in cur.fetchall()}
        for path in files:
            version = path.name[:3]
            text = path.read_text(encoding="utf-8")
            checksum = hashlib.sha256(text.encode()).hexdigest()
            if version in done:
                if done[version]["checksum"] != checksum:
                    log.warning("Migration %s changed after it was applied; it is not re-run", path.name)
                continue
            cur.execute(text)
            cur.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (version, path.name, checksum),
            )
            applied.append(path.name)
    for name in applied:
        log.info("Applied migration %s", name)
    return applied
