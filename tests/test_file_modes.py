"""What the daemon creates is not for every user of the machine: logs 0640 (rotations too), the
log folder 0750, the embedded database's folder 0700, whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
import sys

import pytest

from nfl_sync.app import private_dir
from nfl_sync.logging_setup import configure_logging

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    previous = os.umask(0o022)  # the usual shell umask: new files 0644 unless asked otherwise
    yield
    os.umask(previous)


@pytest.fixture
def root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_logs_are_0640_in_a_0750_folder_and_stay_so_across_rotations(tmp_path, loose_umask, root_logging):
    log_dir = tmp_path / "logs"
    path = configure_logging("INFO", log_dir, console=False)
    logging.getLogger("test").info("hello")
    assert mode(log_dir) == 0o750 and mode(path) == 0o640
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler))
    handler.doRollover()
    logging.getLogger("test").info("after the rotation")
    assert mode(path) == 0o640 and mode(log_dir / "nfl_pipeline.log.1") == 0o640


def test_a_log_file_an_older_version_left_readable_is_restricted(tmp_path, loose_umask, root_logging):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "nfl_pipeline.log").write_text("old\n")
    (log_dir / "nfl_pipeline.log").chmod(0o644)
    path = configure_logging("INFO", log_dir, console=False)
    assert mode(path) == 0o640


def test_the_data_folder_is_created_for_its_owner_only(tmp_path, loose_umask):
    data = tmp_path / "project" / "data"
    private_dir(data)
    assert mode(data) == 0o700
    data.chmod(0o755)
    private_dir(data)  # an existing folder is the user's choice
    assert mode(data) == 0o755
