"""The case folder: what a case's files hold (case.json, cams.npz, slice PNGs, attached reports), writing and
reading them, safe file names, and the staged-then-renamed moves that make a change appear all at once.

    <cases dir>/<YYYYmmdd-HHMMSS>_<name>/
        case.json                       study reference, model, overlay settings, per-slice and study results
        cams.npz                        the Grad-CAM maps, so the overlay reopens as it was
        slice_000.png ...               optional copies of the analysed display images
        reports/                        exported reports attached to the case

New files are written under a `.tmp-` name beside their final place (deletions: renamed to `.trash-`) and renamed
once the database has committed; `settle_staged` finishes or undoes what a crash left. When to do which is the case
store's business (`core.cases.store`). The result inside case.json and cams.npz is encoded by `core.output.codec`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from core.analysis.overlay import OverlaySettings
from core.analysis.results import StudyResult
from core.errors import CaseStoreError, os_error_reason
from core.io.load import SeriesInfo
from core.output.codec import decode_study_result, encode_study_result, json_bytes

CASE_FILE = "case.json"
CAMS_FILE = "cams.npz"
REPORTS_DIR_NAME = "reports"
CASE_FORMAT = "brainmri-case"
CASE_FORMAT_VERSION = 1
STAGED_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"
MAX_NAME_CHARS = 60  # keeps <data dir>/cases/<folder>/reports/<file> well inside Windows' 260-character paths
PRIVATE_DIR_MODE = 0o700  # POSIX permissions for what the store creates (ignored on Windows)
PRIVATE_FILE_MODE = 0o600

_WINDOWS_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{device}{n}" for device in ("COM", "LPT") for n in range(1, 10)}
)
_UNSAFE_NAME_CHARS = re.compile(r"[^\w\-. ]+")  # \w is Unicode-aware: letters and digits of every script stay
#: The entries of case.json that reopening reads: the JSON type each must have, and what it holds in plain words.
_CASE_FILE_ENTRIES: dict[str, tuple[type, str]] = {
    "study": (dict, "where the study came from"),
    "overlay_settings": (dict, "the overlay settings"),
    "slice_images": (list, "the list of slice images"),
    "study_result": (dict, "the analysis result"),
}


@dataclass(frozen=True)
class StudyReference:
    """Where the analysed study came from; `source_path` is empty for anonymised cases (paths often name patients)."""

    source_path: str
    study_instance_uid: str
    series_instance_uid: str


# --- Names -------------------------------------------------------------------------------------------------------


def safe_name(name: str, max_chars: int = MAX_NAME_CHARS) -> str:
    """A rendering of a user-typed name that is a valid, harmless file name on Windows, macOS and Linux: no path
    separators, control characters or symbols, not a reserved Windows device name, at most `max_chars` long."""
    text = unicodedata.normalize("NFKC", name)
    text = _UNSAFE_NAME_CHARS.sub("_", text)
    text = re.sub(r"\s+", " ", re.sub(r"_+", "_", text))
    # Windows drops trailing dots and spaces, and a leading dot hides a file on macOS and Linux.
    text = text[:max_chars].strip(" ._")
    if not text:
        return "case"
    if text.split(".")[0].rstrip().upper() in _WINDOWS_RESERVED_NAMES:  # "CON" and "con.pdf" are both devices
        text = f"_{text}"[:max_chars]
    return text


def safe_file_name(name: str) -> str:
    """`safe_name` for a file: the stem made safe, the extension kept if it is plain letters and digits."""
    path = Path(name.replace("\\", "/")).name
    stem, dot, extension = path.rpartition(".")
    if not dot or not stem or not extension.isalnum():
        return safe_name(path)
    return f"{safe_name(stem)}.{extension.lower()}"


def _numbered(name: str, n: int) -> str:
    """`name` for the n-th duplicate: "scan" → "scan-2", "report.pdf" → "report-2.pdf"."""
    if n == 1:
        return name
    stem, dot, extension = name.rpartition(".")
    return f"{stem}-{n}.{extension}" if dot and stem else f"{name}-{n}"


def first_free(name: str, taken: Callable[[str], bool]) -> str:
    """`name`, or its first numbered variant ("-2", "-3", ...) that is not `taken`."""
    n = 1
    while taken(_numbered(name, n)):
        n += 1
    return _numbered(name, n)


# --- Writing, moving, removing -----------------------------------------------------------------------------------


def write_file(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write and fsync, so that a committed row never refers to data still sitting in the OS cache. Owner-only
    permissions: cases hold patient data."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX; Windows cannot open directories and journals renames itself)."""
    if os.name == "nt":
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def move_into_place(source: Path, destination: Path) -> None:
    os.replace(source, destination)
    fsync_dir(destination.parent)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def settle_staged(directory: Path, committed: set[str]) -> None:
    """Finish or undo what a crash interrupted: a staged (or trashed) entry whose final name the database refers to,
    and which is not there, is moved into place; any other staged entry is removed."""
    for entry in directory.iterdir():
        prefix = next((p for p in (STAGED_PREFIX, TRASH_PREFIX) if entry.name.startswith(p)), None)
        if prefix is None:
            continue
        final = directory / entry.name[len(prefix):]
        if final.name in committed and not final.exists():
            move_into_place(entry, final)
        else:
            remove(entry)


def write_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image  # lazy: only cases that keep slice images need Pillow

    write_file(path, lambda file: Image.fromarray(image).save(file, format="PNG"))


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image)


# --- The case folder ---------------------------------------------------------------------------------------------


def case_document(
    name: str,
    created_at: datetime,
    result: StudyResult,
    study_source: Path | str | None,
    overlay_settings: OverlaySettings,
    copy_slice_images: bool,
    anonymised: bool,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """case.json's content, and the CAMs to store beside it."""
    info = result.series_info or SeriesInfo()
    encoded_result, cams = encode_study_result(result)
    slice_images = [
        f"slice_{position:03d}.png" if copy_slice_images and slice_result.display is not None else None
        for position, slice_result in enumerate(result.slice_results)
    ]
    document = {
        "format": CASE_FORMAT,
        "format_version": CASE_FORMAT_VERSION,
        "name": name,
        "created_at": created_at.isoformat(timespec="seconds"),
        "anonymised": anonymised,
        "study": dataclasses.asdict(StudyReference(
            source_path="" if study_source is None else str(study_source),
            study_instance_uid=info.study_instance_uid,
            series_instance_uid=info.series_instance_uid,
        )),
        "overlay_settings": dataclasses.asdict(overlay_settings),
        "slice_images": slice_images,
        "study_result": encoded_result,
    }
    return document, cams


def write_case_folder(
    folder: Path, document: dict[str, Any], cams: Mapping[str, np.ndarray], images: Mapping[str, np.ndarray]
) -> None:
    folder.mkdir(mode=PRIVATE_DIR_MODE)
    (folder / REPORTS_DIR_NAME).mkdir(mode=PRIVATE_DIR_MODE)
    for file_name, image in images.items():
        write_png(folder / file_name, image)
    # a ** mapping may hold "allow_pickle" for all mypy knows (typed bool); these keys are "cams_000", ...
    write_file(folder / CAMS_FILE, lambda file: np.savez_compressed(file, **cams))  # type: ignore[arg-type]
    write_case_file(folder, document)
    fsync_dir(folder)


def write_case_file(folder: Path, document: Mapping[str, Any]) -> None:
    write_file(folder / CASE_FILE, lambda file: file.write(json_bytes(document)))


def read_case_file(folder: Path) -> dict[str, Any]:
    """case.json as written by `case_document`; a file that is missing, unreadable or not a case file raises
    `CaseStoreError` saying the case is damaged, as does a case saved by a newer version."""
    path = folder / CASE_FILE
    with _reading(path):
        document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("format") != CASE_FORMAT:
        raise _damaged(path, "does not hold a case")
    version = document.get("format_version", 0)
    if not isinstance(version, int):
        raise _damaged(path, "has no valid format version")
    if version > CASE_FORMAT_VERSION:
        raise CaseStoreError(path, "The case was saved by a newer version of the application.")
    for key, (kind, content) in _CASE_FILE_ENTRIES.items():
        if not isinstance(document.get(key), kind):  # checked here, the message says what is missing, not a TypeError
            raise _damaged(path, f"lacks {content}")
    return document


def read_case_folder(folder: Path) -> tuple[StudyReference, StudyResult, OverlaySettings]:
    """What the case folder holds: where the study came from, the result exactly as analysed (CAMs and any copied
    slice images included) and the overlay settings. Any file of it that cannot be read or decoded raises
    `CaseStoreError` naming that file and saying the case is damaged."""
    document = read_case_file(folder)
    cams_path = folder / CAMS_FILE
    with _reading(cams_path), np.load(cams_path, allow_pickle=False) as archive:
        cams = {key: archive[key] for key in archive.files}
    displays = [None if file_name is None else _read_copied_image(folder, file_name)
                for file_name in document["slice_images"]]
    with _reading(folder / CASE_FILE):  # the entries decode against the CAMs and images read above
        return (StudyReference(**document["study"]), decode_study_result(document["study_result"], cams, displays),
                OverlaySettings(**document["overlay_settings"]))


def _read_copied_image(folder: Path, file_name: object) -> np.ndarray:
    """A slice image the case kept; case.json lists it by a plain file name in the case folder."""
    if not isinstance(file_name, str) or Path(file_name).name != file_name:
        raise _damaged(folder / CASE_FILE, "lists a slice image that is not a file of the case")
    with _reading(folder / file_name):
        return _read_png(folder / file_name)


def _damaged(path: Path, problem: str) -> CaseStoreError:
    return CaseStoreError(path, f"The case is damaged: its file {path.name} {problem}. Delete the case, or put its "
                                f"folder {path.parent} back from a backup; the other cases are not affected.")


#: What the readers raise on damaged data: numpy and zipfile (BadZipFile, EOFError, zlib.error), json and the
#: codec (ValueError, KeyError, TypeError, IndexError), Pillow on a broken PNG (SyntaxError), and the file system.
_DAMAGE = (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile, zlib.error, SyntaxError)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A failure to read or decode the case file `path` means the case is damaged (`_DAMAGE`); anything else is a
    defect of ours and goes to the crash handler, rather than advising the user to delete a sound case."""
    try:
        yield
    except _DAMAGE as error:
        raise _damaged(path, f"cannot be read ({_read_problem(error)})") from error


def _read_problem(error: Exception) -> str:
    if isinstance(error, OSError):
        return os_error_reason(error)
    if isinstance(error, KeyError):
        return f"{error} is missing"
    return str(error) or type(error).__name__  # EOFError, for one, may come without a message
