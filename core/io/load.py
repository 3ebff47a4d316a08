"""`load_study`, the one entry point for opening files and folders, and the study model it returns.

`load_study` reads headers only; the pixels are decoded when a slice is first shown or analysed. Format specifics
live in the `core.io.dicom` package (pydicom: `header.read_file`, `series.build_series`) and `core.io.pictures`
(JPEG/PNG/BMP/TIFF); the format-neutral types they build live in `core.io.types` and `core.io.windowing`, beneath
both, and are re-exported here so callers import a study's types from the module that opens it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from core.errors import BrainMriError, UnreadableFileError, os_error_reason
from core.io.types import Series, SeriesInfo, SkippedFile, Slice, Study
from core.io.windowing import Window

__all__ = ["Series", "SeriesInfo", "SkippedFile", "Slice", "Study", "Window", "load_study"]

#: Skip reason for a symbolic link that leads back to itself, directly (a → a) or through other links (a → b → a).
SYMLINK_LOOP_REASON = "symbolic link loop (the link leads back to itself, so there is no file to open)"
#: Skip reasons for a file that repeats what the study holds. They do not name the other file: anonymised outputs
#: remove only the skipped file's own path from its reason, and file names often name the patient.
COPY_REASON = "a copy of images already in the study (another file has the same SOP Instance UIDs)"
SAME_FILE_REASON = "the same file as one already in the study, reached by another path (a link)"
#: Skip reason for a link to a folder that holds the link (study/up → study/..): following it would never end.
FOLDER_LINK_LOOP_REASON = ("symbolic link loop (the link leads back to a folder that holds it, so following it would "
                           "never end)")
#: Skip reason for a link to a folder whose files the study already lists, from the folder itself or another link.
LINKED_FOLDER_LISTED_REASON = "a link to a folder already in the study (its files are opened from there)"
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

    Every file that cannot be used becomes a `SkippedFile` with a reason, and so does every file or folder left out:
    an unreadable folder, a link that loops or leads to files already listed (links to folders are followed, see
    `_folder_files`), and a DICOM file whose images are already in the study (a copy, see `series.CopyFinder`; the
    file met first in the scan is kept). `progress(done, total)` is called once per file; `should_cancel()` is
    checked before each file and stops the scan (the Study then has `cancelled=True`).
    """
    # pydicom and Pillow load with the first study, not with the application
    from core.io import pictures
    from core.io.dicom import header as dicom_header
    from core.io.dicom import series as dicom_series

    roots = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
    skipped: list[SkippedFile] = []
    real_paths: set[Path] = set()
    files = _distinct_files(_expand(roots, skipped), real_paths, skipped)
    dicom_frames: list[dicom_header.FrameHeader] = []
    copies = dicom_series.CopyFinder()
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
                if copies.is_copy(contents.frames):
                    skipped.append(SkippedFile(file, COPY_REASON))
                else:
                    dicom_frames.extend(contents.frames)
                new_files = [f for f in contents.referenced_files if _real_path(f) not in real_paths]
                real_paths.update(_real_path(f) for f in new_files)
                files.extend(new_files)
        except BrainMriError as error:
            skipped.append(SkippedFile(file, error.reason))
        except OSError as error:  # the file system's refusal (permission denied, ...), in plain words and no path
            skipped.append(SkippedFile(file, f"the file could not be read: {os_error_reason(error)}"))
        except Exception as error:  # the contract is to never raise for a bad file, whatever a library throws
            reason = f"unexpected error while reading the file ({type(error).__name__}: {error})"
            skipped.append(SkippedFile(file, reason))
        if progress is not None:
            progress(done + 1, len(files))
    series = dicom_series.build_series(dicom_frames) + pictures.build_series(image_headers)
    source = roots[0] if len(roots) == 1 else Path(os.path.commonpath(roots)) if roots else Path()
    return Study(source=source, series=series, skipped=skipped, cancelled=cancelled)


def _expand(roots: list[Path], skipped: list[SkippedFile]) -> Iterator[Path]:
    """Files under the given paths in a stable order; hidden files and folders (".DS_Store", "._x") are ignored."""
    listed: list[Path] = []  # real paths of the folders whose trees are listed, for links that lead into them
    for root in roots:
        if _is_folder(root):
            yield from _folder_files(root, listed, skipped)
        elif _exists(root):
            yield root  # a broken or looping link, or an unreadable file: `_check_readable` gives the reason
        else:
            skipped.append(SkippedFile(root, "no such file or folder"))


def _folder_files(root: Path, listed: list[Path], skipped: list[SkippedFile]) -> Iterator[Path]:
    """The files of the folder tree at `root`, then of the folders it links to, each tree listed once.

    Links to folders are followed (a study folder may link to its series), but only after the trees they lie in are
    listed, so that a link into a folder already listed, or back to a folder that holds it (a loop), can be told
    and skipped with its reason instead of listing files twice or going round in circles.
    """
    pending = deque([root])
    while pending:
        folder = pending.popleft()
        reason = _linked_folder_problem(folder, listed) if folder is not root else None
        if reason is not None:
            skipped.append(SkippedFile(folder, reason))
            continue
        listed.append(_real_path(folder))
        yield from _tree_files(folder, pending, skipped)


def _tree_files(top: Path, links: deque[Path], skipped: list[SkippedFile]) -> Iterator[Path]:
    """Files under `top` in name order, folder by folder, without entering links to folders: those are added to
    `links`. A folder that cannot be read (permissions) is skipped with the reason."""

    def unreadable(error: OSError) -> None:
        folder = Path(error.filename) if error.filename else top
        skipped.append(SkippedFile(folder, f"the folder could not be read: {os_error_reason(error)}"))

    for folder, subfolders, names in os.walk(top, onerror=unreadable):
        visible = [Path(folder) / name for name in sorted(subfolders) if not name.startswith(".")]
        links.extend(subfolder for subfolder in visible if subfolder.is_symlink())
        subfolders[:] = [subfolder.name for subfolder in visible if not subfolder.is_symlink()]
        yield from (Path(folder) / n for n in sorted(names) if not n.startswith("."))


def _linked_folder_problem(link: Path, listed: list[Path]) -> str | None:
    """Why a link to a folder is not followed: it leads back to a folder it is in, or into one already listed."""
    target, holder = _real_path(link), _real_path(link.parent)
    if target == holder or target in holder.parents:
        return FOLDER_LINK_LOOP_REASON
    if any(_lists(folder, target) for folder in listed):
        return LINKED_FOLDER_LISTED_REASON
    return None


def _lists(tree: Path, folder: Path) -> bool:
    """Whether listing the folder tree `tree` listed `folder`: `folder` is `tree` or lies in it, outside hidden
    folders (which are not listed)."""
    if folder == tree:
        return True
    return tree in folder.parents and not any(part.startswith(".") for part in folder.relative_to(tree).parts)


def _is_folder(path: Path) -> bool:
    """Like `Path.is_dir`, but False instead of PermissionError when the path cannot be looked at."""
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        return False


def _exists(path: Path) -> bool:
    """Whether something is at `path`: a file, a link (even broken or looping), or an entry that cannot be looked at
    (a folder on the way may not be read); `_check_readable` reports all but files with their reason."""
    try:
        path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return True


def _distinct_files(files: Iterable[Path], real_paths: set[Path], skipped: list[SkippedFile]) -> list[Path]:
    """Each file once: a path met again is dropped, and a second path to a file already listed (through a link) is
    skipped with the reason. `real_paths` collects the real path of each file listed."""
    distinct = []
    for file in dict.fromkeys(files):
        real = _real_path(file)
        if real in real_paths and os.path.isfile(real):  # not a loop or a broken link, which have their own reason
            skipped.append(SkippedFile(file, SAME_FILE_REASON))
            continue
        real_paths.add(real)
        distinct.append(file)
    return distinct


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
        raise UnreadableFileError(file, f"the file could not be read: {os_error_reason(error)}") from error
    if size == 0:
        raise UnreadableFileError(file, "the file is empty (0 bytes)")
