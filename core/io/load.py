"""`load_study`, the one entry point for opening files and folders, and the study model it returns.

`load_study` reads headers only; the pixels are decoded when a slice is first shown or analysed. Format specifics
live in the `core.io.dicom` package (pydicom: `header.read_file`, `series.build_series`) and `core.io.pictures`
(JPEG/PNG/BMP/TIFF); the format-neutral types they build live in `core.io.types` and `core.io.windowing`, beneath
both, and are re-exported here so callers import a study's types from the module that opens it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from core.errors import BrainMriError, UnreadableFileError
from core.io.types import Series, SeriesInfo, SkippedFile, Slice, Study
from core.io.windowing import Window

__all__ = ["Series", "SeriesInfo", "SkippedFile", "Slice", "Study", "Window", "load_study"]

#: Skip reason for a symbolic link that leads back to itself, directly (a → a) or through other links (a → b → a).
SYMLINK_LOOP_REASON = "symbolic link loop (the link leads back to itself, so there is no file to open)"
#: Windows' error for a link that cannot be resolved (ERROR_CANT_RESOLVE_FILENAME); POSIX reports ELOOP.
_WINDOWS_CANT_RESOLVE = 1921

ProgressCallback = Callable[[int, int], None]
CancelCallback = Callable[[], bool]


def load_study(
    path: Path | Sequence[Path],
    progress: ProgressCallback | None = None,
    should_cancel: CancelCallback | None = None,
) -> Study:
    """Open a file, a folder (recursively) or several paths as a Study; never raises for bad files.

    Every file that cannot be used becomes a `SkippedFile` with a reason. `progress(done, total)` is called once per
    file; `should_cancel()` is checked before each file and stops the scan (the Study then has `cancelled=True`).
    """
    # pydicom and Pillow load with the first study, not with the application
    from core.io import pictures
    from core.io.dicom import header as dicom_header
    from core.io.dicom import series as dicom_series

    roots = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
    skipped: list[SkippedFile] = []
    files = list(dict.fromkeys(_expand(roots, skipped)))
    seen = {_real_path(file) for file in files}
    dicom_frames: list[dicom_header.FrameHeader] = []
    image_headers: list[pictures.ImageHeader] = []
    cancelled = False
    for done, file in enumerate(files):  # grows while iterating when a DICOMDIR references further files
        if should_cancel is not None and should_cancel():
            cancelled = True
            break
        try:
            _check_readable(file)
            if not dicom_header.is_dicom_file(file) and pictures.is_image_file(file):
                image_headers.append(pictures.read_header(file))
            else:
                contents = dicom_header.read_file(file)
                dicom_frames.extend(contents.frames)
                new_files = [f for f in contents.referenced_files if _real_path(f) not in seen]
                seen.update(_real_path(f) for f in new_files)
                files.extend(new_files)
        except BrainMriError as error:
            skipped.append(SkippedFile(file, error.reason))
        except Exception as error:  # the contract is to never raise for a bad file, whatever a library throws
            reason = f"unexpected error while reading the file ({type(error).__name__}: {error})"
            skipped.append(SkippedFile(file, reason))
        if progress is not None:
            progress(done + 1, len(files))
    series = dicom_series.build_series(dicom_frames) + pictures.build_series(image_headers)
    source = roots[0] if len(roots) == 1 else Path(os.path.commonpath(roots)) if roots else Path()
    return Study(source=source, series=series, skipped=skipped, cancelled=cancelled)


def _expand(roots: list[Path], skipped: list[SkippedFile]) -> Iterator[Path]:
    """Files under the given paths in a stable order; hidden files (".DS_Store", "._x") are ignored."""
    for root in roots:
        if root.is_dir():
            for folder, subfolders, names in os.walk(root):
                subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
                yield from (Path(folder) / n for n in sorted(names) if not n.startswith("."))
        elif root.is_file() or root.is_symlink():
            yield root  # a broken or looping link is reported by `_check_readable` with its own reason
        else:
            skipped.append(SkippedFile(root, "no such file or folder"))


def _real_path(file: Path) -> Path:
    """The file's canonical path for duplicate detection. Unlike `Path.resolve()`, which raises RuntimeError on a
    symbolic link loop (Python 3.11-3.12), this never raises: a loop keeps its own path and is reported as skipped by
    `_check_readable` instead of aborting the whole study."""
    return Path(os.path.realpath(file))


def _is_link_loop(error: OSError) -> bool:
    return error.errno == errno.ELOOP or getattr(error, "winerror", None) == _WINDOWS_CANT_RESOLVE


def _check_readable(file: Path) -> None:
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise UnreadableFileError(file, "the file is missing") from None
    except OSError as error:
        if _is_link_loop(error):
            raise UnreadableFileError(file, SYMLINK_LOOP_REASON) from None
        raise UnreadableFileError(file, f"the file could not be read ({error.strerror})") from error
    if size == 0:
        raise UnreadableFileError(file, "the file is empty (0 bytes)")
