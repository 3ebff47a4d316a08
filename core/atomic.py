"""Atomic file writes for reports and exports: all of the new file or none of it, never a truncated one.

The bytes go to a temporary file in the destination folder (same file system, so the final rename is atomic),
are fsynced, and the temporary file is renamed over the destination. Any failure removes the temporary file and
raises `ReportWriteError` with a reason the user can act on. New files are readable by their owner only (they hold
patient data), as `tempfile.mkstemp` creates them.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from core.errors import ReportWriteError

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "there is no permission to write in this folder",
    errno.EPERM: "there is no permission to write in this folder",
    errno.EROFS: "the folder is on a read-only disk",
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "the folder does not exist",
}


def _reason(error: OSError) -> str:
    return _REASONS.get(error.errno, error.strerror or str(error))


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically; raises `ReportWriteError(path, reason)` and leaves nothing on failure."""
    path = Path(path)
    try:
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as error:
        raise ReportWriteError(path, f"could not create the file: {_reason(error)}") from error
    try:
        with os.fdopen(fd, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except OSError as error:
        Path(temp_name).unlink(missing_ok=True)
        raise ReportWriteError(path, f"could not write the file: {_reason(error)}") from error
