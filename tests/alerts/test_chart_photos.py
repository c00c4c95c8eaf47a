"""The game chart after a final score, through python-telegram-bot and the fake Bot API: the
text goes first to every chat, then one photo per chat (multipart sendPhoto, the final line as
caption, the chart drawn once); never twice, not after an answer in doubt either; a chart that
cannot be drawn costs only the photo; a 429 puts the photo back in the queue."""

from __future__ import annotations

from alert_cases import NOW, record
from helpers import rows
from nfl_replay.telegram_server import telegram_error
from nfl_sync.domain.events import AlertType, Event, Priority, ScoreData

PNG = b"\x89PNG\r\n\x1a\n a chart"
FINAL = Event(
    AlertType.SCORE,
    "final:401547417",
    Priority.HIGH,
    NOW,
    ScoreData("401547417", "ATL", "GB", 25, 24, 4, "0:00", final=True, status="final"),
)
SCORE = Event(AlertType.SCORE, "score:401547417:1:0-7", Priority.HIGH, NOW, ScoreData("401547417", "ATL", "GB", 7, 0))


def photo_rows(db):
    return rows(db, "SELECT chat_id, status, error FROM nfl_alert_photos ORDER BY chat_id")


def test_the_final_score_is_followed_by_its_chart_once_per_chat(db, rig):
    drawn = []
    record(db, [SCORE, FINAL])
    notifier = rig.notifier(db, chats=("111", "222"), chart=lambda game: drawn.append(game) or PNG)

    notifier.drain(60)
    notifier.drain(60)

    assert drawn == ["401547417"]  # once, for both chats
    photos = rig.server.photos
    assert [(p.chat_id, p.photo, p.caption) for p in photos] == [
        ("111", PNG, "GB 24 @ ATL 25 — final"),
        ("222", PNG, "GB 24 @ ATL 25 — final"),
    ]
    texts = rig.server.messages
    assert len(texts) == 4 and max(m.received_at for m in texts) < min(p.received_at for p in photos)
    assert photo_rows(db) == [
        {"chat_id": "111", "status": "sent", "error": None},
        {"chat_id": "222", "status": "sent", "error": None},
    ]
    sends = [r for r in rig.server.requests if r.path.lower().endswith("/sendphoto")]
    assert len(sends) == 2 and all(
        "multipart/form-data" in {k.lower(): v for k, v in r.headers.items()}["content-type"] for r in sends
    )


def test_a_chart_that_cannot_be_drawn_costs_only_the_photo(db, rig):
    def broken(game):
        raise ValueError("no chart today")

    record(db, [FINAL])
    report = rig.notifier(db, chart=broken).drain(60)

    assert report.sent == 1 and len(rig.server.messages) == 1
    assert rig.server.photos == []
    assert photo_rows(db) == [{"chat_id": "111", "status": "failed", "error": "no chart could be drawn"}]


def test_a_photo_in_doubt_is_not_sent_again(db, rig):
    rig.server.script("sendPhoto", telegram_error(500, "Internal Server Error"))
    record(db, [FINAL])
    notifier = rig.notifier(db, chart=lambda game: PNG)

    notifier.drain(60)
    notifier.drain(60)

    assert rig.server.photos == []
    assert [r["status"] for r in photo_rows(db)] == ["failed"]


def test_flood_control_puts_the_photo_back_in_the_queue(db, rig):
    rig.server.script("sendPhoto", telegram_error(429, "Too Many Requests: retry after 5", retry_after=5))
    record(db, [FINAL])
    notifier = rig.notifier(db, chart=lambda game: PNG)

    notifier.drain(60)
    assert [r["status"] for r in photo_rows(db)] == ["pending"]
    rig.clock.advance(5)
    notifier.drain(60)

    assert [p.chat_id for p in rig.server.photos] == ["111"]
    assert [r["status"] for r in photo_rows(db)] == ["sent"]


def test_no_chart_without_a_chart_function(db, rig):
    record(db, [FINAL])
    rig.notifier(db).drain(60)
    assert (rig.server.photos, photo_rows(db)) == ([], [])
