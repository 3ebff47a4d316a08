"""One private temporary folder per process, removed when the process exits.

Every temporary file the application writes (report previews, self-test PDFs, intermediate exports) goes under
`app_temp_dir()`, so a single `atexit` hook cleans up everything, even when a caller forgets.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

_TEMP_PREFIX = "brainmri-"
_lock = threading.Lock()
_temp_dir: Path | None = None


def _remove_temp_dir() -> None:
    global _temp_dir
    if _temp_dir is not None:
        shutil.rmtree(_temp_dir, ignore_errors=True)
        _temp_dir = None


atexit.register(_remove_temp_dir)


def app_temp_dir() -> Path:
    """This process's temporary folder (created on first use, mode 0700, removed at exit)."""
    global _temp_dir
    with _lock:
        if _temp_dir is None or not _temp_dir.is_dir():
            _temp_dir = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX))
        return _temp_dir


def new_temp_subdir(prefix: str) -> Path:
    """A fresh folder inside `app_temp_dir()`, for one task's files."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=app_temp_dir()))
