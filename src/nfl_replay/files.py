"""JSON files that are either whole or absent: what the downloads write, so an interrupted run
leaves nothing half-written for the next run (or a replay) to mistake for complete.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson


def write_json(path: Path, document: Any) -> None:
    """Write `document` to `path` atomically: a temporary file in the same folder, flushed to
    disk, then renamed over `path` (a rename within one file system is all or nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(orjson.dumps(document))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """The JSON value of the file at `path`."""
    return orjson.loads(path.read_bytes())
