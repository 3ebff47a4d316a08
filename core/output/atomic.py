"""Atomic file writes for reports and exports: all of the new file or none of it, never a truncated one.

The bytes go to a temporary file in the destination folder (same file system, so the final rename is atomic),
are fsynced, and the temporary file is renamed over the destination. Any failure removes the temporary file and
raises `ReportWriteError` with a reason the user can act on. New files are readable by their owner only (they hold
patient data), as `tempfile.mkstemp` creates them.

A process killed mid-write (power cut, task manager) leaves its hidden temporary file behind, patient data included.
So every write first removes, from its destination folder, the temporary files of this module's naming
(".<name>.<mkstemp's 8 random characters>.partial", nothing else) that have not been modified for
`STALE_PARTIAL_AGE_S`. A live write holds all its bytes in memory and finishes in seconds, so a partial file untouched
for an hour has no writer left. Clean-up is best effort: a file that cannot be removed stays, and the write goes on.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

from core.errors import ReportWriteError, os_error_reason

PARTIAL_SUFFIX = ".partial"
#: Age (by modification time) after which a partial file of ours is known to be abandoned (see the module docstring).
STALE_PARTIAL_AGE_S = 3600.0
#: The names `write_bytes_atomically` gives its temporary files: "." + destination name + "." + the 8 characters
#: `tempfile.mkstemp` draws from [a-z0-9_] + ".partial".
_PARTIAL_NAME = re.compile(r"\..+\.[a-z0-9_]{8}" + re.escape(PARTIAL_SUFFIX), re.DOTALL)

# Writing into a folder, a missing path is the folder (the file is about to be created).
_MISSING_FOLDER = (errno.ENOENT, errno.ENOTDIR)


def _reason(error: OSError) -> str:
    return "the folder does not exist" if error.errno in _MISSING_FOLDER else os_error_reason(error)


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically; raises `ReportWriteError(path, reason)` and leaves nothing on failure."""
    path = Path(path)
    _remove_stale_partials(path.parent)
    try:
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX)
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
    except BaseException:  # Ctrl+C or a kill mid-write: no half-written copy of the patient's report stays behind
        Path(temp_name).unlink(missing_ok=True)
        raise


def _remove_stale_partials(folder: Path) -> None:
    """Delete the abandoned temporary files of our naming in `folder` (the rule is in the module docstring): regular
    files only, never links, folders or anything else in the folder. Never raises."""
    cutoff = time.time() - STALE_PARTIAL_AGE_S
    try:
        with os.scandir(folder) as entries:
            stale = [entry.path for entry in entries if _is_stale_partial(entry, cutoff)]
    except OSError:
        return  # an unreadable or missing folder: the write that follows reports it
    for file in stale:
        try:
            os.unlink(file)
        except OSError:
            pass  # removed meanwhile by another writer, or not removable: best effort (module docstring)


def _is_stale_partial(entry: os.DirEntry[str], cutoff: float) -> bool:
    if not _PARTIAL_NAME.fullmatch(entry.name):
        return False
    try:
        status = entry.stat(follow_symlinks=False)
    except OSError:
        return False  # removed meanwhile
    return stat.S_ISREG(status.st_mode) and status.st_mtime < cutoff
