"""`--record DIR`: every ESPN and Kalshi response the daemon receives, kept with its arrival time.

A recording is what the daemon really saw (late plays, corrected scores, error pages, cut-off
bodies), which a replay of a finished summary cannot reconstruct; `--replay DIR` serves it back
at the recorded moments. `HttpSource` hands each response to `ResponseRecorder.record`, which
only puts it on a bounded queue: a writer thread encodes and compresses, so a slow disk never
delays a poll or an alert. When the queue is full the response is dropped and counted (said once
in the log): a hole in a recording costs less than a late score alert.

The files: one per UTC day of arrival, `DIR/YYYY-MM-DD.ndjson.gz`, one JSON object per line
(`Exchange.line`). Each batch the writer takes off the queue is appended as a gzip member of its
own (concatenated members are one valid gzip stream, `zcat` reads them), and the file is closed
after each append, so a killed daemon leaves every batch but the one it was writing; `read_folder`
stops at a cut-off member. No request header is written (Kalshi's signature and key id travel
there), nor any query parameter that could hold a key (`SECRET_PARAMS`).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import logging
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

import orjson

log = logging.getLogger(__name__)

SUFFIX = ".ndjson.gz"
_MIB = 1 << 20
QUEUE_SIZE = 512  # responses waiting for the disk: about two minutes of a 16-game Sunday
BATCH_SIZE = 256  # at most this many responses per gzip member
LINGER_SECONDS = 0.5  # a batch waits this long for company: one member per response compresses badly
CLOSE_SECONDS = 2.0  # at exit, what the writer has not written by then is lost (counted)
# Query parameters that carry keys in some API (The Odds API's apiKey, OpenWeatherMap's appid):
# never written, whichever source records.
SECRET_PARAMS = frozenset({"apikey", "api_key", "appid", "key", "token", "access_token", "password", "secret"})

Query = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Exchange:
    """One response as the daemon received it.

    `path` is relative to the source's base URL (`scoreboard`, `markets/KX.../orderbook`), or the
    URL's whole path for a link outside it; `query` holds the parameters sent, in order."""

    at: datetime
    source: str
    method: str
    path: str
    query: Query
    status: int
    content_type: str
    body: bytes

    def line(self) -> bytes:
        """The exchange as one NDJSON line. A body that is UTF-8 (every JSON and HTML page) is
        kept as text, anything else in base64; either way the bytes come back exactly."""
        record: dict[str, Any] = {
            "at": self.at.isoformat(),
            "source": self.source,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "content_type": self.content_type,
        }
        try:
            record["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            record["body_base64"] = base64.b64encode(self.body).decode("ascii")
        return orjson.dumps(record) + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> Exchange:
        """The exchange of one line (`ValueError`, `KeyError` or `TypeError` if it is not one)."""
        record = orjson.loads(line)
        body = record["body"].encode("utf-8") if "body" in record else base64.b64decode(record["body_base64"])
        return cls(
            at=datetime.fromisoformat(record["at"]),
            source=record["source"],
            method=record["method"],
            path=record["path"],
            query=tuple((str(name), str(value)) for name, value in record["query"]),
            status=int(record["status"]),
            content_type=record["content_type"],
            body=body,
        )


def recorded_query(url_query: str, params: Mapping[str, Any] | None) -> Query:
    """The query a request sent (the URL's own, then `params` as requests encodes them: a list is
    the parameter repeated, None left out), as text, without the parameters that could hold a key."""
    pairs: list[tuple[str, Any]] = parse_qsl(url_query, keep_blank_values=True)
    for name, value in (params or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, item) for item in values if item is not None)
    return tuple((name, str(value)) for name, value in pairs if name.lower() not in SECRET_PARAMS)


@dataclass(frozen=True)
class RecordingSize:
    """What one run recorded: for the log line at exit."""

    folder: Path
    files: int
    records: int
    compressed_bytes: int
    dropped: int

    def __str__(self) -> str:
        dropped = f"; {self.dropped} dropped (queue full or write failed)" if self.dropped else ""
        return (
            f"Recorded {self.records} responses into {self.files} file(s) in {self.folder}, "
            f"{self.compressed_bytes / 1e6:.1f} MB compressed{dropped}"
        )


def day_file(folder: Path, at: datetime) -> Path:
    """The file of `at`'s UTC day (the timestamps are UTC: the day follows them)."""
    return folder / f"{at.date().isoformat()}{SUFFIX}"


def _append(path: Path) -> BinaryIO:
    # Readable by the owner and group only, as the logs are.
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640), "ab")


class ResponseRecorder:
    """Appends exchanges to `folder` from a writer thread; `record` never waits for it.

    `opener` opens a day's file for appending (tests pass one that stalls, as a slow disk would).
    """

    def __init__(
        self,
        folder: Path,
        *,
        queue_size: int = QUEUE_SIZE,
        opener: Callable[[Path], BinaryIO] = _append,
    ):
        self.folder = folder
        folder.mkdir(mode=0o750, parents=True, exist_ok=True)
        self._opener = opener
        self._queue: queue.Queue[Exchange | None] = queue.Queue(queue_size)
        self._lock = threading.Lock()
        self._files: set[Path] = set()
        self._records = 0
        self._compressed = 0
        self._dropped = 0
        self._warned = False
        self._closed = False
        self._thread = threading.Thread(target=self._write_loop, name="recorder", daemon=True)
        self._thread.start()

    def record(self, exchange: Exchange) -> None:
        """Queue `exchange` for the disk, or drop it (counted) when the queue is full."""
        if self._closed:
            return
        try:
            self._queue.put_nowait(exchange)
        except queue.Full:
            self._lost(1, "the recording queue is full (the disk is too slow)")

    def _lost(self, count: int, reason: str) -> None:
        with self._lock:
            self._dropped += count
            warn, self._warned = not self._warned, True
        if warn:
            log.warning("Recording to %s: %s; responses are dropped and counted", self.folder, reason)

    def size(self) -> RecordingSize:
        with self._lock:
            return RecordingSize(self.folder, len(self._files), self._records, self._compressed, self._dropped)

    def close(self, timeout: float = CLOSE_SECONDS) -> RecordingSize:
        """Write what is queued (within `timeout` seconds), stop the writer, and log the size."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=timeout)
            self._thread.join(timeout)
            left = self._queue.qsize() + (1 if self._thread.is_alive() else 0)
            if left:
                self._lost(left, "the writer did not finish in time at exit")
        size = self.size()
        log.info("%s", size)
        return size

    def _write_loop(self) -> None:
        while True:
            batch, stop = self._next_batch()
            if batch:
                self._write(batch)
            if stop:
                return

    def _next_batch(self) -> tuple[list[Exchange], bool]:
        """The next exchanges to write (waiting for the first, then `LINGER_SECONDS` at most for
        more), and whether the recorder is closing."""
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        until = time.monotonic() + LINGER_SECONDS
        while len(batch) < BATCH_SIZE:
            try:
                item = self._queue.get(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _write(self, batch: list[Exchange]) -> None:
        by_file: dict[Path, list[bytes]] = {}
        for exchange in batch:
            by_file.setdefault(day_file(self.folder, exchange.at), []).append(exchange.line())
        for path, lines in by_file.items():
            member = gzip.compress(b"".join(lines), mtime=0)
            size = _whole_members(path) if path not in self._files else path.stat().st_size
            try:
                with self._opener(path) as handle:
                    handle.write(member)
            except OSError as error:
                # A member written in part (a full disk) would end the day's reading there.
                with contextlib.suppress(OSError):
                    os.truncate(path, size)
                self._lost(len(lines), f"cannot write {path.name} ({error.strerror or error})")
                continue
            with self._lock:
                self._files.add(path)
                self._records += len(lines)
                self._compressed += len(member)


def _whole_members(path: Path) -> int:
    """The length of `path` once a gzip member cut off at its end (a killed run's last write) is
    cut away, so that what this run appends can be read after it; 0 for no file."""
    try:
        data = memoryview(path.read_bytes())
    except FileNotFoundError:
        return 0
    whole = _complete_length(data)
    if whole < len(data):
        log.warning("%s ends in a cut-off write (%d bytes); cut away before appending", path, len(data) - whole)
        os.truncate(path, whole)
    return whole


def _complete_length(data: memoryview) -> int:
    """Bytes of `data` that hold whole gzip members, fed a MiB at a time (no copy of the rest)."""
    offset = 0
    while offset < len(data):
        member, position = zlib.decompressobj(31), offset
        try:
            while not member.eof and position < len(data):
                member.decompress(data[position : position + _MIB])
                position += _MIB
        except zlib.error:
            return offset
        if not member.eof:
            return offset
        offset = min(position, len(data)) - len(member.unused_data)
    return offset


def recording_files(folder: Path) -> list[Path]:
    """The day files of a recording folder, oldest day first (empty: no recording there)."""
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def read_folder(folder: Path) -> Iterator[Exchange]:
    """Every exchange recorded in `folder`, file by file in the order written. A member cut off
    by a kill ends its file's reading (logged); a line that is no exchange is skipped (logged)."""
    for path in recording_files(folder):
        with gzip.open(path, "rb") as handle:
            try:
                for number, line in enumerate(handle, start=1):
                    try:
                        yield Exchange.from_line(line)
                    except (ValueError, KeyError, TypeError) as error:
                        log.warning("%s line %d is no recorded response (%s); skipped", path, number, error)
            except (EOFError, zlib.error, gzip.BadGzipFile) as error:
                log.warning("%s ends in a cut-off write (%s); read up to it", path, error)
