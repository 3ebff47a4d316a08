"""The log can quote PHI the guard was never told about, so only its owner may read it: the log folder is 0700, the
log file and its rotated backups 0600 (POSIX), whether they are new, left wider by an earlier version, or rotated."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from core import logging_setup
from core.logging_setup import LOG_FILE_NAME, configure_logging

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def log_dir(isolated_logging: Path):
    """A log folder of the test's own (tests/conftest.py restores the logging state) under a permissive umask (the
    usual 022), so only the code under test can make the files owner-only."""
    saved_umask = os.umask(0o022)
    yield isolated_logging
    os.umask(saved_umask)


def test_a_new_log_folder_and_file_are_owner_only(log_dir: Path) -> None:
    log_path = configure_logging(log_dir=log_dir)
    logging.getLogger("brainmri.test").warning("written")

    assert log_path == log_dir / LOG_FILE_NAME
    assert "written" in log_path.read_text(encoding="utf-8")
    assert mode(log_dir) == 0o700
    assert mode(log_path) == 0o600


def test_an_existing_folder_log_and_backups_readable_by_others_are_tightened(log_dir: Path) -> None:
    log_dir.mkdir(mode=0o755)
    os.chmod(log_dir, 0o755)
    files = [log_dir / LOG_FILE_NAME, log_dir / f"{LOG_FILE_NAME}.1", log_dir / f"{LOG_FILE_NAME}.2"]
    for file in files:
        file.write_text("an earlier run\n", encoding="utf-8")
        os.chmod(file, 0o644)

    configure_logging(log_dir=log_dir)

    assert mode(log_dir) == 0o700
    assert [mode(file) for file in files] == [0o600, 0o600, 0o600]
    assert all(file.read_text(encoding="utf-8").startswith("an earlier run") for file in files)


def test_the_log_file_started_at_a_rollover_is_owner_only(log_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging_setup, "_MAX_LOG_BYTES", 300)
    log_path = configure_logging(log_dir=log_dir)
    logger = logging.getLogger("brainmri.test")
    for n in range(12):
        logger.warning("line %d of a log long enough to roll over", n)

    backups = sorted(log_dir.glob(f"{LOG_FILE_NAME}.*"))
    assert backups, "the log did not roll over"
    assert mode(log_path) == 0o600
    assert [mode(backup) for backup in backups] == [0o600] * len(backups)
