"""End to end, the game chart with the final score: GB @ ATL replayed in full, the final-score
alert reaches Telegram as text and is followed by one photo, a 1080 x 1350 PNG uploaded with
sendPhoto whose caption is the final line; the photo is recorded as sent, once."""

from __future__ import annotations

import struct

import pytest

from e2e_recording import GB_ATL
from helpers import E2E_CHAT
from nfl_replay.runner import ReplayEnvironment
from nfl_sync.app import close_sync

pytest.register_assert_rewrite("e2e_support")

from e2e_support import alert_rows, query, replayed, start_daemon  # noqa: E402

pytest_plugins = ["replay_support"]


def unsettled_photos(db) -> list[dict]:
    return query(db, "SELECT * FROM nfl_alert_photos WHERE status IN ('pending', 'sending')")


@pytest.mark.e2e
def test_the_final_score_is_followed_by_the_game_chart(db, database_url, telegram, tmp_path):
    timelines, _ = replayed([GB_ATL])
    with ReplayEnvironment(timelines) as env:
        sync = start_daemon(env, telegram, database_url, tmp_path)
        try:
            sync.run_forever(until=lambda: env.finished(sync) and not unsettled_photos(db))
        finally:
            close_sync(sync)

    final = next(r for r in alert_rows(db) if r["alert_key"] == f"final:{GB_ATL}")
    assert final["status"] == "sent"
    [photo] = telegram.photos
    assert (photo.chat_id, photo.caption) == (E2E_CHAT, "GB 24 @ ATL 25 — final")
    assert photo.photo[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", photo.photo[16:24]) == (1080, 1350)
    assert len(photo.photo) > 50_000
    # The text went first: the final-score message arrived before the photo.
    [text] = [m for m in telegram.messages_to(E2E_CHAT) if m.text == final["message"]]
    assert text.received_at < photo.received_at
    rows = query(db, "SELECT status, external_message_id FROM nfl_alert_photos WHERE alert_id = %s", final["id"])
    assert rows == [{"status": "sent", "external_message_id": str(photo.message_id)}]
