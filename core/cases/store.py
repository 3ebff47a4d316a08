"""Case history: save an analysis as a named case, then list, search, reopen (exactly as analysed), annotate, attach
reports to, export and delete it.

Storage under the user's data directory (`default_data_dir()`, or the `root` a caller passes):

    cases.sqlite3                       the index: name, date, search columns, notes, attached reports
    cases/<YYYYmmdd-HHMMSS>_<name>/     one folder per case, holding what was analysed:
        case.json                       study reference, model, overlay settings, per-slice and study results
        cams.npz                        the Grad-CAM maps, so the overlay reopens as it was
        slice_000.png ...               optional copies of the analysed display images
        reports/                        exported reports attached to the case

Atomicity: the database commit is the one moment at which a change happens. Files are first staged beside their
final place under a `.tmp-` name (deletion: renamed to `.trash-`), then the row is committed, then the staged name is
renamed. When a store opens, staged leftovers are moved into place if the committed database refers to them and
removed otherwise, so a crash at any point leaves either the previous state or the complete new one. Writers take an
inter-process lock, so the app and the CLI can share one store.

The result inside `case.json` and `cams.npz` is encoded by `core.output.codec`, which the JSON export shares; a case
must reopen losslessly, so that encoding keeps opening the cases earlier versions saved.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import json
import os
import re
import shutil
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import platformdirs

from core.analysis.overlay import OverlaySettings
from core.analysis.results import StudyResult
from core.errors import BrainMriError
from core.io.load import SeriesInfo
from core.output.anonymise import IDENTIFYING_FIELDS, slice_error, slice_name, without_identifiers
from core.output.codec import decode_study_result, encode_study_result, json_bytes

APP_NAME = "BrainMRIAssist"
DATA_DIR_ENV = "BRAINMRI_DATA_DIR"
DATABASE_NAME = "cases.sqlite3"
LOCK_NAME = "cases.lock"
CASES_DIR_NAME = "cases"
CASE_FILE = "case.json"
CAMS_FILE = "cams.npz"
REPORTS_DIR_NAME = "reports"
CASE_FORMAT = "brainmri-case"
CASE_FORMAT_VERSION = 1
STAGED_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"
MAX_NAME_CHARS = 60  # keeps <data dir>/cases/<folder>/reports/<file> well inside Windows' 260-character paths
LOCK_TIMEOUT_S = 30.0
PRIVATE_DIR_MODE = 0o700  # POSIX permissions for what the store creates (ignored on Windows)
PRIVATE_FILE_MODE = 0o600

# MIGRATIONS[n] takes a database from schema version n to n + 1; `PRAGMA user_version` records where it stands.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # v1: the case index and the reports attached to each case
        """CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            folder TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            patient_id TEXT NOT NULL DEFAULT '',
            study_date TEXT NOT NULL DEFAULT '',
            verdict_label TEXT,
            notes TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
            file_name TEXT NOT NULL,
            attached_at TEXT NOT NULL,
            UNIQUE (case_id, file_name)
        )""",
    ),
    (  # v2: anonymised cases are marked, so lists can say which cases carry no patient identity
        "ALTER TABLE cases ADD COLUMN anonymised INTEGER NOT NULL DEFAULT 0",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_WINDOWS_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{device}{n}" for device in ("COM", "LPT") for n in range(1, 10)}
)
_UNSAFE_NAME_CHARS = re.compile(r"[^\w\-. ]+")  # \w is Unicode-aware: letters and digits of every script stay
_RECORD_COLUMNS = "id, name, folder, created_at, patient_id, study_date, verdict_label, anonymised"
#: SQLite's primary result codes for a damaged file: SQLITE_CORRUPT (pages inconsistent) and SQLITE_NOTADB (not an
#: SQLite database at all). Extended codes (e.g. SQLITE_CORRUPT_INDEX) carry the primary code in their low byte.
_SQLITE_DAMAGE_CODES = frozenset({11, 26})
#: ... and for a file that cannot be opened or written: SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN
#: (e.g. a folder, or a file without read and write permission, where the file should be).
_SQLITE_UNUSABLE_CODES = frozenset({3, 8, 10, 14})
_SQLITE_BUSY = 5  # another connection held the lock for longer than the timeout


class CaseStoreError(BrainMriError):
    """The case store could not do what was asked; nothing partial was left behind."""


class CaseNotFoundError(CaseStoreError):
    """No case has the given id (it may have been deleted)."""


class CaseDatabaseError(CaseStoreError):
    """A file of the case store (the database or its lock) is damaged or cannot be opened; its reason names the file
    and tells the user what to do.

    A `CaseStoreError`, so the desktop and the CLI report it as they report every store error (a message, no
    traceback)."""


@dataclass(frozen=True)
class StudyReference:
    """Where the analysed study came from; `source_path` is empty for anonymised cases (paths often name patients)."""

    source_path: str
    study_instance_uid: str
    series_instance_uid: str


@dataclass(frozen=True)
class AttachedReport:
    file_name: str
    path: Path
    attached_at: str


@dataclass(frozen=True)
class CaseRecord:
    """One line of the case list. `created_at` is ISO 8601 local time with its UTC offset; `verdict_label` is None
    when the analysis had no study-level prediction."""

    case_id: int
    name: str
    folder: Path
    created_at: str
    patient_id: str
    study_date: str
    verdict_label: str | None
    anonymised: bool


@dataclass(frozen=True)
class Case:
    """Everything needed to reopen a case as it was analysed. Model name, version and weights sha256 are in
    `study_result`; a slice's `display` is None unless the case kept copies of the slice images."""

    record: CaseRecord
    study: StudyReference
    study_result: StudyResult
    overlay_settings: OverlaySettings
    notes: str
    reports: tuple[AttachedReport, ...]


def default_data_dir() -> Path:
    """$BRAINMRI_DATA_DIR when set (tests, portable installs), else the platform's per-user data directory."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


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


def _first_free(name: str, taken: Callable[[str], bool]) -> str:
    n = 1
    while taken(_numbered(name, n)):
        n += 1
    return _numbered(name, n)


# --- Dates and search --------------------------------------------------------------------------------------------


def _iso_date(dicom_date: str) -> str:
    """"20240131" → "2024-01-31"; anything else unchanged."""
    if re.fullmatch(r"\d{8}", dicom_date):
        return f"{dicom_date[:4]}-{dicom_date[4:6]}-{dicom_date[6:]}"
    return dicom_date


def _case_matches(query: str, *fields: str | None) -> int:
    """SQL function: every whitespace-separated term of `query` occurs, case-insensitively, in one of the fields."""
    searchable = [field for field in fields if field]
    searchable += [_iso_date(field) for field in searchable]  # a DICOM study date is also found as YYYY-MM-DD
    haystack = "\n".join(searchable).casefold()
    return int(all(term in haystack for term in query.casefold().split()))


# --- PHI ---------------------------------------------------------------------------------------------------------


def _phi_strings(info: SeriesInfo | None) -> list[str]:
    """The patient's name (whole and its parts), ID and birth date, casefolded, as they could appear in free text."""
    if info is None:
        return []
    values = [getattr(info, field) for field in IDENTIFYING_FIELDS] + [_iso_date(info.patient_birth_date)]
    values += [part for part in re.split(r"[\^\s,]+", info.patient_name) if len(part) >= 3]
    return [value.strip().casefold() for value in values if value.strip()]


def _refuse_phi_in_text(info: SeriesInfo | None, **texts: str) -> None:
    phi = _phi_strings(info)
    for what, text in texts.items():
        if any(value in text.casefold() for value in phi):
            raise CaseStoreError(None, f"The case {what} mentions the patient's name, ID or birth date, "
                                       "which an anonymised case must not carry.")


def _without_phi(result: StudyResult) -> StudyResult:
    """The result with patient identity removed as core.output.anonymise defines it (reports name slices the same way);
    source paths go too, since folders are often named after the patient."""
    info = None if result.series_info is None else without_identifiers(result.series_info)
    slices = [
        dataclasses.replace(slice_result, slice_label=slice_name(slice_result, anonymise=True), source_path=None,
                            error=slice_error(slice_result, anonymise=True))  # an error can quote the file's path
        for slice_result in result.slice_results
    ]
    return dataclasses.replace(result, series_info=info, slice_results=slices)


# --- Files -------------------------------------------------------------------------------------------------------


def _write_file(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write and fsync, so that a committed row never refers to data still sitting in the OS cache. Owner-only
    permissions: cases hold patient data."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX; Windows cannot open directories and journals renames itself)."""
    if os.name == "nt":
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _move_into_place(source: Path, destination: Path) -> None:
    os.replace(source, destination)
    _fsync_dir(destination.parent)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _write_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image  # lazy: only cases that keep slice images need Pillow

    _write_file(path, lambda file: Image.fromarray(image).save(file, format="PNG"))


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image)


def _read_case_file(folder: Path) -> dict[str, Any]:
    try:
        document = json.loads((folder / CASE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CaseStoreError(folder / CASE_FILE, f"The case file cannot be read ({error}).") from error
    if document.get("format") != CASE_FORMAT or document.get("format_version", 0) > CASE_FORMAT_VERSION:
        raise CaseStoreError(folder / CASE_FILE, "The case was saved by a newer version of the application.")
    return document


def _load_case_folder(folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray], list[np.ndarray | None]]:
    """case.json, the CAMs by key, and each slice's copied image (None where none was kept)."""
    document = _read_case_file(folder)
    try:
        with np.load(folder / CAMS_FILE, allow_pickle=False) as archive:
            cams = {key: archive[key] for key in archive.files}
        displays = [None if file_name is None else _read_png(folder / file_name)
                    for file_name in document["slice_images"]]
    except (OSError, ValueError, KeyError) as error:
        raise CaseStoreError(folder, f"The case's files cannot be read ({error}).") from error
    return document, cams, displays


def _write_case_folder(
    folder: Path, document: dict[str, Any], cams: Mapping[str, np.ndarray], images: Mapping[str, np.ndarray]
) -> None:
    folder.mkdir(mode=PRIVATE_DIR_MODE)
    (folder / REPORTS_DIR_NAME).mkdir(mode=PRIVATE_DIR_MODE)
    for file_name, image in images.items():
        _write_png(folder / file_name, image)
    # a ** mapping may hold "allow_pickle" for all mypy knows (typed bool); these keys are "cams_000", ...
    _write_file(folder / CAMS_FILE, lambda file: np.savez_compressed(file, **cams))  # type: ignore[arg-type]
    _write_file(folder / CASE_FILE, lambda file: file.write(json_bytes(document)))
    _fsync_dir(folder)


def _settle_staged(directory: Path, committed: set[str]) -> None:
    """Finish or undo what a crash interrupted: a staged (or trashed) entry whose final name the database refers to,
    and which is not there, is moved into place; any other staged entry is removed."""
    for entry in directory.iterdir():
        prefix = next((p for p in (STAGED_PREFIX, TRASH_PREFIX) if entry.name.startswith(p)), None)
        if prefix is None:
            continue
        final = directory / entry.name[len(prefix):]
        if final.name in committed and not final.exists():
            _move_into_place(entry, final)
        else:
            _remove(entry)


# --- Database ----------------------------------------------------------------------------------------------------


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _primary_code(error: sqlite3.DatabaseError) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)  # absent on errors raised by the sqlite3 module itself
    return None if code is None else code & 0xFF


def _database_problem(database_path: Path, error: sqlite3.DatabaseError) -> CaseStoreError | None:
    """What to tell the user when the database file is damaged or cannot be opened; None for other errors."""
    code = _primary_code(error)
    if code in _SQLITE_DAMAGE_CODES:
        return CaseDatabaseError(database_path, f"The case database {database_path} is damaged ({error}). Move it "
                                                "aside to start a new one; the cases saved in it cannot be read.")
    if code in _SQLITE_UNUSABLE_CODES:
        return CaseDatabaseError(database_path, f"The case database {database_path} cannot be opened or written "
                                                f"({error}). Check that it is a file you may read and write.")
    return None


def _lock_problem(lock_path: Path, error: sqlite3.DatabaseError) -> CaseStoreError | None:
    """What to tell the user when the writers' lock file is damaged, cannot be opened or stays taken; None for
    other errors. The lock file holds no cases, so deleting it loses nothing: the next writer makes a new one."""
    code = _primary_code(error)
    if code in _SQLITE_DAMAGE_CODES:
        return CaseDatabaseError(lock_path, f"The case store's lock file {lock_path} is damaged ({error}). It holds "
                                            "no cases: delete it, and a new one is made.")
    if code in _SQLITE_UNUSABLE_CODES:
        return CaseDatabaseError(lock_path, f"The case store's lock file {lock_path} cannot be opened or written "
                                            f"({error}). It holds no cases: delete it, and a new one is made.")
    if code == _SQLITE_BUSY:
        return CaseStoreError(lock_path, f"The case store is busy: another window or command has been changing it "
                                         f"for over {LOCK_TIMEOUT_S:g} s. Try again when it has finished.")
    return None


@contextmanager
def _explaining(problem: Callable[[sqlite3.DatabaseError], CaseStoreError | None]) -> Iterator[None]:
    """Turn the SQLite errors `problem` explains, on opening or in any later statement, into the store error it
    returns (naming the file and what to do); other SQLite errors pass unchanged."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        explained = problem(error)
        if explained is None:
            raise
        raise explained from error


def migrate(connection: sqlite3.Connection, database_path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION, one transaction per migration so an interrupted upgrade resumes."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise CaseStoreError(database_path, "the case database was written by a newer version of the application")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with _transaction(connection):
            for statement in MIGRATIONS[target - 1]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {target}")


def _insert_case_row(connection: sqlite3.Connection, row: Mapping[str, object]) -> int:
    columns = ", ".join(row)
    placeholders = ", ".join(f":{column}" for column in row)
    return _inserted_id(connection.execute(f"INSERT INTO cases ({columns}) VALUES ({placeholders})", row))


def _insert_report_row(connection: sqlite3.Connection, case_id: int, file_name: str, attached_at: str) -> int:
    return _inserted_id(connection.execute(
        "INSERT INTO reports (case_id, file_name, attached_at) VALUES (?, ?, ?)", (case_id, file_name, attached_at)
    ))


def _inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT added (`lastrowid` is None only for a cursor that inserted nothing)."""
    if cursor.lastrowid is None:
        raise sqlite3.DatabaseError("the INSERT added no row")
    return cursor.lastrowid


# --- The store ---------------------------------------------------------------------------------------------------


def _case_document(
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


def _no_such_case(case_id: int) -> CaseNotFoundError:
    return CaseNotFoundError(None, f"There is no case {case_id}.")


def _local_now() -> datetime:
    return datetime.now().astimezone()


class CaseStore:
    """The case history in `root` (default: `default_data_dir()`). Safe to use from several threads and processes:
    every call opens its own connection, and writers serialise on an inter-process lock."""

    def __init__(self, root: Path | None = None, clock: Callable[[], datetime] = _local_now) -> None:
        self.root = Path(root) if root is not None else default_data_dir()
        self.cases_dir = self.root / CASES_DIR_NAME
        self.database_path = self.root / DATABASE_NAME
        self._clock = clock
        self.root.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        self.cases_dir.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        with self._exclusive_writer(), self._connection() as connection:
            migrate(connection, self.database_path)
            self._settle_interrupted_writes(connection)

    # -- public API

    def save(
        self,
        name: str,
        study_result: StudyResult,
        study_source: Path | str | None,
        overlay_settings: OverlaySettings,
        notes: str = "",
        copy_slice_images: bool = False,
        anonymised: bool = False,
    ) -> CaseRecord:
        """Save an analysis as a new case named `name` (the folder gets a safe version of it plus the date and time).
        `study_source` is the file or folder the study was loaded from (`Study.source`). `copy_slice_images` keeps
        PNG copies of the analysed display images, so the case reopens without the original study. `anonymised`
        drops patient name, ID, birth date, source path and file names; a name or notes naming the patient raise."""
        if not name.strip():
            raise CaseStoreError(None, "A case needs a name.")
        if anonymised:
            _refuse_phi_in_text(study_result.series_info, name=name, notes=notes)
            study_result, study_source = _without_phi(study_result), None
        created_at = self._clock()
        info = study_result.series_info or SeriesInfo()
        document, cams = _case_document(name, created_at, study_result, study_source, overlay_settings,
                                             copy_slice_images, anonymised)
        images = {
            file_name: slice_result.display
            for file_name, slice_result in zip(document["slice_images"], study_result.slice_results)
            if file_name is not None and slice_result.display is not None  # a name is given only to a decoded slice
        }
        row = {
            "name": name,
            "created_at": document["created_at"],
            "patient_id": info.patient_id,
            "study_date": info.study_date,
            "verdict_label": study_result.verdict_label,
            "notes": notes,
            "anonymised": int(anonymised),
        }
        with self._exclusive_writer():
            folder = self._free_folder_name(created_at, name)
            staged = self.cases_dir / f"{STAGED_PREFIX}{folder}"
            try:
                _write_case_folder(staged, document, cams, images)
            except BaseException:
                _remove(staged)
                raise
            case_id = self._commit_then_move(
                staged,
                self.cases_dir / folder,
                record=lambda connection: _insert_case_row(connection, {**row, "folder": folder}),
                unrecord=lambda connection, row_id: connection.execute("DELETE FROM cases WHERE id = ?", (row_id,)),
            )
        return self.record(case_id)

    def list(self, query: str = "") -> list[CaseRecord]:
        """Cases, newest first; with a query, those where every word of it occurs (case-insensitively) in the name,
        patient ID, saved date/time, study date (YYYYMMDD or YYYY-MM-DD) or result label."""
        with self._connection() as connection:
            connection.create_function("case_matches", -1, _case_matches, deterministic=True)
            rows = connection.execute(
                f"SELECT {_RECORD_COLUMNS} FROM cases "
                "WHERE case_matches(?, name, patient_id, created_at, study_date, verdict_label) ORDER BY id DESC",
                (query,),
            ).fetchall()
        return [self._record_from_row(row) for row in rows]

    def record(self, case_id: int) -> CaseRecord:
        with self._connection() as connection:
            row = connection.execute(f"SELECT {_RECORD_COLUMNS} FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise _no_such_case(case_id)
        return self._record_from_row(row)

    def get(self, case_id: int) -> Case:
        """The case exactly as it was analysed: results, CAMs, overlay settings, (copied) images, notes, reports."""
        record = self.record(case_id)
        document, cams, displays = _load_case_folder(record.folder)
        return Case(
            record=record,
            study=StudyReference(**document["study"]),
            study_result=decode_study_result(document["study_result"], cams, displays),
            overlay_settings=OverlaySettings(**document["overlay_settings"]),
            notes=self.notes(case_id),
            reports=tuple(self.reports(case_id)),
        )

    def notes(self, case_id: int) -> str:
        with self._connection() as connection:
            row = connection.execute("SELECT notes FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise _no_such_case(case_id)
        return row[0]

    def reports(self, case_id: int) -> builtins.list[AttachedReport]:  # `list` here is the method above
        folder = self.record(case_id).folder / REPORTS_DIR_NAME
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT file_name, attached_at FROM reports WHERE case_id = ? ORDER BY id", (case_id,)
            ).fetchall()
        return [AttachedReport(file_name, folder / file_name, attached_at) for file_name, attached_at in rows]

    def update_notes(self, case_id: int, notes: str) -> None:
        with self._connection() as connection, _transaction(connection):
            changed = connection.execute("UPDATE cases SET notes = ? WHERE id = ?", (notes, case_id)).rowcount
        if not changed:
            raise _no_such_case(case_id)

    def attach_report(self, case_id: int, file: Path) -> AttachedReport:
        """Copy an exported report into the case's folder (under a safe, unique name) and list it with the case."""
        source = Path(file)
        if not source.is_file():
            raise CaseStoreError(source, "The report file does not exist.")
        with self._exclusive_writer():
            reports_dir = self.record(case_id).folder / REPORTS_DIR_NAME
            reports_dir.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
            listed = {report.file_name for report in self.reports(case_id)}
            file_name = _first_free(safe_file_name(source.name),
                                    lambda candidate: candidate in listed or (reports_dir / candidate).exists())
            staged = reports_dir / f"{STAGED_PREFIX}{file_name}"
            attached_at = self._clock().isoformat(timespec="seconds")
            try:
                with source.open("rb") as original:
                    _write_file(staged, lambda destination: shutil.copyfileobj(original, destination))
            except BaseException:
                _remove(staged)
                raise
            self._commit_then_move(
                staged,
                reports_dir / file_name,
                record=lambda connection: _insert_report_row(connection, case_id, file_name, attached_at),
                unrecord=lambda connection, row_id: connection.execute("DELETE FROM reports WHERE id = ?", (row_id,)),
            )
        return AttachedReport(file_name, reports_dir / file_name, attached_at)

    def delete(self, case_id: int) -> None:
        """Remove the case's row and folder (asking the user first is the caller's business)."""
        with self._exclusive_writer():
            folder = self.record(case_id).folder
            trash = folder.with_name(f"{TRASH_PREFIX}{folder.name}")
            if folder.exists():
                _move_into_place(folder, trash)
            try:
                with self._connection() as connection, _transaction(connection):
                    connection.execute("DELETE FROM reports WHERE case_id = ?", (case_id,))
                    connection.execute("DELETE FROM cases WHERE id = ?", (case_id,))
            except BaseException:
                if trash.exists():
                    _move_into_place(trash, folder)
                raise
            _remove(trash)

    def export(self, case_id: int, destination_dir: Path) -> Path:
        """Copy the case folder into `destination_dir` (never overwriting), its case.json completed with the notes and
        the list of reports; returns the new folder."""
        with self._exclusive_writer():
            record = self.record(case_id)
            destination = Path(destination_dir) / record.folder.name
            if destination.exists():
                raise CaseStoreError(destination, "The export destination already exists.")
            staged = destination.with_name(f"{STAGED_PREFIX}{destination.name}")
            try:
                shutil.copytree(record.folder, staged)
                document = {**_read_case_file(record.folder), "notes": self.notes(case_id),
                            "reports": [f"{REPORTS_DIR_NAME}/{report.file_name}" for report in self.reports(case_id)]}
                _write_file(staged / CASE_FILE, lambda file: file.write(json_bytes(document)))
                _move_into_place(staged, destination)
            except OSError as error:
                _remove(staged)
                raise CaseStoreError(destination, f"The case could not be exported ({error}).") from error
            except BaseException:
                _remove(staged)
                raise
        return destination

    # -- internals

    def _commit_then_move(
        self,
        staged: Path,
        final: Path,
        record: Callable[[sqlite3.Connection], int],
        unrecord: Callable[[sqlite3.Connection, int], object],
    ) -> int:
        """Commit the row, then rename the staged files into place. The commit is the point of no return for a crash
        (start-up rolls the rename forward); if the rename itself fails, the row is withdrawn and the error raised."""
        try:
            with self._connection() as connection, _transaction(connection):
                row_id = record(connection)
        except BaseException:
            _remove(staged)
            raise
        try:
            _move_into_place(staged, final)
        except BaseException:
            with self._connection() as connection, _transaction(connection):
                unrecord(connection, row_id)
            _remove(staged)
            raise
        return row_id

    def _free_folder_name(self, created_at: datetime, name: str) -> str:
        with self._connection() as connection:
            used = {folder for (folder,) in connection.execute("SELECT folder FROM cases")}
        return _first_free(
            f"{created_at:%Y%m%d-%H%M%S}_{safe_name(name)}",
            lambda candidate: candidate in used or any(
                (self.cases_dir / f"{prefix}{candidate}").exists() for prefix in ("", STAGED_PREFIX, TRASH_PREFIX)
            ),
        )

    def _settle_interrupted_writes(self, connection: sqlite3.Connection) -> None:
        folders = {folder for (folder,) in connection.execute("SELECT folder FROM cases")}
        reports: dict[str, set[str]] = {folder: set() for folder in folders}
        for folder, file_name in connection.execute(
            "SELECT cases.folder, reports.file_name FROM reports JOIN cases ON cases.id = reports.case_id"
        ):
            reports[folder].add(file_name)
        _settle_staged(self.cases_dir, folders)
        for folder, file_names in reports.items():
            reports_dir = self.cases_dir / folder / REPORTS_DIR_NAME
            if reports_dir.is_dir():
                _settle_staged(reports_dir, file_names)

    def _record_from_row(self, row: tuple) -> CaseRecord:
        case_id, name, folder, created_at, patient_id, study_date, verdict_label, anonymised = row
        return CaseRecord(case_id, name, self.cases_dir / folder, created_at, patient_id, study_date, verdict_label,
                          bool(anonymised))

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own; a damaged or unusable database file raises `CaseDatabaseError` wherever it is
        noticed."""
        with _explaining(functools.partial(_database_problem, self.database_path)):
            connection = sqlite3.connect(self.database_path, timeout=LOCK_TIMEOUT_S, isolation_level=None)
            try:
                connection.execute("PRAGMA foreign_keys = ON")
                yield connection
            finally:
                connection.close()

    @contextmanager
    def _exclusive_writer(self) -> Iterator[None]:
        """Serialise writers across processes, so one store's start-up never settles another's in-flight save. The
        lock is an exclusive transaction on a separate empty SQLite file: portable, and released if the process
        dies."""
        lock_path = self.root / LOCK_NAME
        # Only taking the lock is explained as the lock's problem: errors of the work done under it are the database's.
        with _explaining(functools.partial(_lock_problem, lock_path)):
            lock = sqlite3.connect(lock_path, timeout=LOCK_TIMEOUT_S, isolation_level=None)
            try:
                lock.execute("BEGIN EXCLUSIVE")
            except BaseException:
                lock.close()
                raise
        try:
            yield
        finally:
            lock.close()
