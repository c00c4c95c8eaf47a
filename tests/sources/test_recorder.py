"""`--record`: what HttpSource hands the recorder and what lands on disk. Every response (error
pages too) comes back byte for byte with its arrival time; no Kalshi signing header nor key
reaches a file; a file per UTC day; a killed writer leaves a readable file; a stalled disk never
holds the caller."""

from __future__ import annotations

import gzip
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kalshi_support import MARKETS, make_client, page, slate_query
from nfl_sync.domain.errors import SourceError
from nfl_sync.sources.http import HttpSource
from nfl_sync.sources.recorder import Exchange, ResponseRecorder, read_folder, recorded_query

BASE = "https://site.api.espn.com/apis/site/v2/sports/football/nfl"
HTML_503 = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
MIDNIGHT = datetime(2026, 12, 2, tzinfo=UTC)


def exchange(at: datetime, body: bytes = b'{"events":[]}', status: int = 200) -> Exchange:
    return Exchange(at, "espn", "GET", "scoreboard", (("dates", "20261201"),), status, "application/json", body)


def test_every_response_is_recorded_as_received_with_its_arrival_time(api, clock, tmp_path):
    """A good body, an HTML 503 (each of its tries) and a cut-off body: the daemon saw them all."""
    scoreboard = b'{"events": [{"id": "401"}], "note": "caf\xc3\xa9"}'
    api.get(f"{BASE}/scoreboard", body=scoreboard, content_type="application/json;charset=UTF-8")
    api.get(f"{BASE}/summary", body=HTML_503, status=503, content_type="text/html")
    api.get(f"{BASE}/summary", body=b'{"plays": [{"id"', content_type="application/json")
    recorder = ResponseRecorder(tmp_path)
    http = HttpSource("espn", BASE, clock=clock, recorder=recorder, rng=lambda: 0.0)
    assert http.get_json("scoreboard", {"dates": "20261201", "limit": 100})["events"] == [{"id": "401"}]
    with pytest.raises(SourceError, match="invalid JSON"):
        http.get_json("summary", {"event": "401"})
    size = recorder.close()

    recorded = list(read_folder(tmp_path))
    assert [(e.path, e.query, e.status, e.content_type, e.body) for e in recorded] == [
        ("scoreboard", (("dates", "20261201"), ("limit", "100")), 200, "application/json;charset=UTF-8", scoreboard),
        ("summary", (("event", "401"),), 503, "text/html", HTML_503),
        ("summary", (("event", "401"),), 200, "application/json", b'{"plays": [{"id"'),
    ]
    assert {e.source for e in recorded} == {"espn"}
    assert recorded[0].at <= recorded[1].at <= recorded[2].at == clock.now()
    assert (size.files, size.records, size.dropped) == (1, 3, 0) and size.compressed_bytes > 0


def test_bodies_that_are_not_utf8_come_back_exactly(tmp_path):
    body = bytes(range(256))
    recorder = ResponseRecorder(tmp_path)
    recorder.record(exchange(MIDNIGHT, body))
    recorder.close()
    assert [e.body for e in read_folder(tmp_path)] == [body]


def test_kalshi_signing_headers_and_keys_never_reach_the_file(api, clock, tmp_path, signing_env):
    api.get(MARKETS, json=page("KXNFLGAME-26OCT12BUFLAR-LAR"), match=slate_query("KXNFLGAME"))
    recorder = ResponseRecorder(tmp_path / "rec")
    client = make_client(clock, **signing_env)
    client.http.recorder = recorder
    client.get_markets(series_ticker="KXNFLGAME", status="open")
    recorder.close()

    headers = api.calls[0].request.headers
    secrets = [headers[name] for name in ("KALSHI-ACCESS-KEY", "KALSHI-ACCESS-SIGNATURE", "KALSHI-ACCESS-TIMESTAMP")]
    [path] = (tmp_path / "rec").iterdir()
    raw = path.read_bytes()
    text = gzip.decompress(raw)
    assert b"KXNFLGAME-26OCT12BUFLAR-LAR" in text  # the recording holds the answer...
    for secret in (*secrets, signing_env["KALSHI_API_KEY_ID"]):
        assert secret.encode() not in text and secret.encode() not in raw  # ...and no credential
    assert b"KALSHI-ACCESS" not in text.upper()
    assert Path(signing_env["KALSHI_PRIVATE_KEY_PATH"]).read_bytes()[40:80] not in text


def test_query_parameters_that_hold_keys_are_left_out():
    assert recorded_query("appid=secret1&lat=1", {"apiKey": "secret2", "regions": "us", "skip": None}) == (
        ("lat", "1"),
        ("regions", "us"),
    )
    assert recorded_query("", {"status": ["open", "closed"]}) == (("status", "open"), ("status", "closed"))


def test_a_file_per_utc_day(tmp_path):
    recorder = ResponseRecorder(tmp_path)
    before, after = MIDNIGHT - timedelta(seconds=1), MIDNIGHT + timedelta(seconds=1)
    recorder.record(exchange(before, b'{"n":1}'))
    recorder.record(exchange(after, b'{"n":2}'))
    assert recorder.close().files == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-12-01.ndjson.gz", "2026-12-02.ndjson.gz"]
    assert not any(p.stat().st_mode & 0o007 for p in tmp_path.iterdir())  # other users read nothing
    assert [(e.at, e.body) for e in read_folder(tmp_path)] == [(before, b'{"n":1}'), (after, b'{"n":2}')]


def test_a_restart_appends_to_the_days_file_and_a_cut_off_write_ends_the_reading(tmp_path, caplog):
    for n in (1, 2):  # two runs of the daemon on the same day
        recorder = ResponseRecorder(tmp_path)
        recorder.record(exchange(MIDNIGHT + timedelta(minutes=n), b'{"n":%d}' % n))
        recorder.close()
    [path] = tmp_path.iterdir()
    killed = gzip.compress(exchange(MIDNIGHT + timedelta(minutes=3), b'{"n":3}').line())
    with path.open("ab") as handle:
        handle.write(killed[: len(killed) // 2])  # the kill came in the middle of a write
    assert [e.body for e in read_folder(tmp_path)] == [b'{"n":1}', b'{"n":2}']
    assert "cut-off write" in caplog.text

    # The next run cuts the killed write away, so what it appends is read after the rest.
    recorder = ResponseRecorder(tmp_path)
    recorder.record(exchange(MIDNIGHT + timedelta(minutes=4), b'{"n":4}'))
    recorder.close()
    assert [e.body for e in read_folder(tmp_path)] == [b'{"n":1}', b'{"n":2}', b'{"n":4}']


def test_a_full_queue_drops_and_counts_and_never_holds_the_caller(tmp_path, caplog):
    """The disk stalls (the writer blocks in its first write): record() still returns at once."""
    stalled, release = threading.Event(), threading.Event()

    def slow_disk(path: Path):
        stalled.set()
        release.wait()
        return path.open("ab")

    recorder = ResponseRecorder(tmp_path, queue_size=2, opener=slow_disk)
    recorder.record(exchange(MIDNIGHT))
    assert stalled.wait(5)
    caller = threading.Thread(target=lambda: [recorder.record(exchange(MIDNIGHT)) for _ in range(20)])
    caller.start()
    caller.join(5)
    assert not caller.is_alive()  # the poll goes on while the disk is stuck
    assert recorder.size().dropped == 18  # two wait in the queue
    assert caplog.text.count("recording queue is full") == 1
    release.set()
    size = recorder.close()
    assert (size.records, size.dropped) == (3, 18)
    assert len(list(read_folder(tmp_path))) == 3
