"""Exception types. Each carries the file it concerns and a reason a radiologist can read."""

from __future__ import annotations

import errno
from pathlib import Path

#: The file-system errors a user meets (a read-only or full disk, a file where a folder should be), in plain words.
_OS_ERROR_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the disk is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EEXIST: "a file of that name is in the way",
    errno.ENOTDIR: "part of the path is a file, not a folder",
    errno.ENOENT: "a file or folder is missing",
}


def os_error_reason(error: OSError) -> str:
    """Why a file operation failed, in plain words and without the path (the message around it names the file or
    folder); the system's own wording for errors a user rarely meets."""
    if error.errno in _OS_ERROR_REASONS:
        return _OS_ERROR_REASONS[error.errno]
    if error.strerror:
        return error.strerror[0].lower() + error.strerror[1:]
    return str(error.args[0]) if error.args else type(error).__name__  # not str(error): it would quote the path


class BrainMriError(Exception):
    """Base class: `path` is the file concerned (or None), `reason` a human-readable explanation."""

    def __init__(self, path: Path | str | None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}" if self.path is not None else reason)

    def __reduce__(self) -> tuple[type, tuple[Path | None, str]]:
        # Errors cross from the classifier's helper process by pickle, which would otherwise call cls(message).
        return type(self), (self.path, self.reason)


class UnreadableFileError(BrainMriError):
    """A file could not be opened as an image or DICOM object."""


class NoPixelDataError(UnreadableFileError):
    """A DICOM object without an image (structured report, RT plan, ...)."""


class ModelMissingError(BrainMriError):
    """The model weights or manifest are absent."""


class ModelIntegrityError(BrainMriError):
    """The weights file does not match the sha256 in the manifest."""


class ReportWriteError(BrainMriError):
    """A report or export could not be written; nothing partial was left behind."""


class ClassifierProcessError(BrainMriError):
    """The helper process that runs the model stopped or could not start."""


class NotAnalysableError(BrainMriError):
    """The model must not classify this series (today: DICOM of another modality than MR); `reason` says why."""


class CaseStoreError(BrainMriError):
    """The case store could not do what was asked; nothing partial was left behind."""


class CaseNotFoundError(CaseStoreError):
    """No case has the given id (it may have been deleted)."""


class CaseDatabaseError(CaseStoreError):
    """A file of the case store (the database or its lock) is damaged or cannot be opened; its reason names the file
    and tells the user what to do.

    A `CaseStoreError`, so the desktop and the CLI report it as they report every store error (a message, no
    traceback)."""
